"""The `mwpbench` command: a thin click wrapper over the library.

The library raises MwpbenchError subclasses; `main` turns them into one message on stderr
and an exit code (2 usage/config, 1 runtime). Tracebacks only with `--debug`.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from mwpbench import __version__
from mwpbench.errors import MwpbenchError


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
@click.option("--grader", type=click.Choice(["strict", "official"]), default="strict",
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


_SOURCE = click.option("--source", type=click.Choice(["mwpbench", "native"]), default="mwpbench",
                       show_default=True, help="The MWPBench release file or the original datasets.")  # fmt: skip
_DATA_FILE = click.option("--data-file", "data_file", multiple=True, metavar="[TASK=]PATH",
                          help="Local file or folder instead of the pinned download (repeatable).")  # fmt: skip


@cli.group("tasks", invoke_without_command=True)
@click.pass_context
def tasks_cmd(ctx: click.Context) -> None:
    """List the tasks (task, level, language, sources, n)."""
    if ctx.invoked_subcommand is None:
        from mwpbench.datasets.tables import tasks_table

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
    from mwpbench.datasets.tables import task_details

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
    from mwpbench.datasets.check import check_data
    from mwpbench.datasets.tables import check_tables
    from mwpbench.errors import DataError

    for name in tasks:
        get_task(name)
    files = _data_files(data_file)
    if isinstance(files, dict):
        files = {task: _one(paths) for task, paths in files.items()}
        for name in files:
            get_task(name)
    else:
        files = _one(files)
    checks = check_data(tasks or None, source=source, data_files=files, jobs=jobs)
    click.echo(check_tables(checks, max_failures=max_failures))
    if any(f.check == "load" for c in checks for f in c.failures):
        raise DataError("some tasks could not be loaded (see the table above)")
    if strict and not all(c.ok for c in checks):
        raise DataError("some golds do not parse or are not equal to themselves (see above)")

# --- backend commands (mwpbench/backends) ------------------------------------------------


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
