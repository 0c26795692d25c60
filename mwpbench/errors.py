"""The exception tree. Every message says what went wrong, where, and what to do next.

The library raises these; the CLI turns them into a message on stderr and an exit code
(2 for usage/config errors, 1 for runtime errors, 3 for a result that is not whole, 130 for
an interrupted run). Model output never raises: it becomes a Verdict status instead.
"""

from __future__ import annotations


class MwpbenchError(Exception):
    """Base class of every error mwpbench raises on purpose."""

    exit_code = 1


class ConfigError(MwpbenchError):
    """A bad option, task YAML, prompt or argument: the user's input must change."""

    exit_code = 2


class UnknownNameError(ConfigError):
    """A task, backend, prompt or grader name that is not registered."""

    def __init__(self, kind: str, name: str, known: list[str] | tuple[str, ...]) -> None:
        import difflib

        self.kind, self.name, self.known = kind, name, list(known)
        close = difflib.get_close_matches(name, self.known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        listing = ", ".join(self.known[:30])
        super().__init__(f"unknown {kind} {name!r}.{hint} Known {kind}s: {listing}")


class DataError(MwpbenchError):
    """Malformed or missing benchmark data: a file, line or field is at fault."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        field: str | None = None,
    ) -> None:
        self.path, self.line, self.field = path, line, field
        where = ""
        if path is not None:
            where = str(path) + (f":{line}" if line is not None else "")
            where += f" (field {field!r})" if field is not None else ""
            where += ": "
        elif field is not None:
            where = f"field {field!r}: "
        super().__init__(where + message)


class ChecksumError(DataError):
    """A downloaded or local file does not have the pinned checksum."""


class BackendError(MwpbenchError):
    """A generation backend could not start or failed for good."""


class MissingExtraError(BackendError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        self.package, self.extra = package, extra
        super().__init__(
            f"{package} is not installed. Install it with: pip install 'mwpbench[{extra}]'"
        )


class GradingError(MwpbenchError):
    """A gold answer that cannot be graded (a dataset bug), or a grader misconfiguration."""


class RunError(MwpbenchError):
    """A run directory that cannot be written, read or resumed."""


class RunInterrupted(RunError):
    """Ctrl-C or SIGTERM during a run: partial work is kept, `--resume` continues it."""

    exit_code = 130


class IncompleteResult(MwpbenchError):
    """A command that ran to its end but whose result is not whole: a run with missing or
    failed generations, a file in which nothing could be graded, two runs with nothing to
    pair. The message says what is missing and what to do; the CLI exits with 3."""

    exit_code = 3
