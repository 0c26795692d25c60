"""The `mwpbench` command: a thin click wrapper over the library.

The library raises MwpbenchError subclasses; `main` turns them into one message on stderr
and an exit code (2 usage/config, 1 runtime). Tracebacks only with `--debug`.
"""

from __future__ import annotations

import logging
import sys

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
# --- dataset commands (mwpbench/datasets) ------------------------------------------------
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
