"""Grade many items with every grader: the one grading loop of runs, `regrade` and
`mwpbench grade FILE`.

`grade_items` takes items (`completion`, `gold`, optional `task`, `finish_reason`,
`choices`) and yields one {grader: Verdict} per item, in input order; the strict grader's
symbolic work is spread over worker processes (`grade_many`), the official one runs here.
`grade_file` grades a JSONL file: malformed lines are reported with their line number and
skipped, never silently; verdicts are written to a temporary file and renamed into place,
so an interrupted run leaves no half-written output.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mwpbench import harnesses, jsonio
from mwpbench.errors import DataError, RunError, UnknownNameError
from mwpbench.grading.api import DEFAULT_TIMEOUT, grade_many, grade_official_bounded
from mwpbench.harnesses import Fields
from mwpbench.types import GRADERS, Verdict

log = logging.getLogger(__name__)


@dataclass
class BatchSummary:
    """What `grade_file` did: counts, accuracy, skipped lines."""

    total: int = 0
    correct: int = 0
    official_correct: int = 0
    statuses: Counter[str] = field(default_factory=Counter)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    first_row: dict[str, Any] | None = field(default=None, repr=False)  # for messages

    @property
    def accuracy(self) -> float | None:
        """Strict accuracy; None when nothing was graded (0/0 is no accuracy)."""
        return self.correct / self.total if self.total else None

    @property
    def official_accuracy(self) -> float | None:
        return self.official_correct / self.total if self.total else None


def grade_items(
    items: Iterable[Mapping[str, Any]],
    *,
    graders: Sequence[str] = GRADERS,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[dict[str, Verdict]]:
    """{grader: Verdict} for each item, in input order, for each of `graders` (default:
    both). Streams: memory stays flat however many items there are."""
    for name in graders:
        if name not in GRADERS:
            raise UnknownNameError("grader", name, GRADERS)
    if "strict" not in graders:
        return ({"official": _official(item, timeout)} for item in items)
    return _with_strict(items, official="official" in graders, jobs=jobs, timeout=timeout)


def _official(item: Mapping[str, Any], timeout: float) -> Verdict:
    return grade_official_bounded(item.get("completion") or "", item.get("gold") or "",
                                  timeout=timeout)  # fmt: skip


def _with_strict(
    items: Iterable[Mapping[str, Any]], *, official: bool, jobs: int | None, timeout: float
) -> Iterator[dict[str, Verdict]]:
    pending: deque[Mapping[str, Any]] = deque()  # items handed to grade_many, not yet back

    def remember() -> Iterator[Mapping[str, Any]]:
        for item in items:
            pending.append(item)
            yield item

    for verdict in grade_many(remember(), jobs=jobs, timeout=timeout):
        item = pending.popleft()
        out = {"strict": verdict}
        if official:
            out["official"] = _official(item, timeout)
        yield out


def read_items(
    path: Path, summary: BatchSummary, spec: Fields | None = None
) -> Iterator[dict[str, Any]]:
    """Items of a JSONL file, read with `spec` (default: {completion, gold[, id]} per line;
    see mwpbench.harnesses for other harnesses' layouts). A row whose completion path holds
    several completions gives one item each (id `<id>#<k>`). Bad lines go to
    `summary.skipped` with the reason."""
    spec = spec or Fields()
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise DataError(f"cannot read: {exc.strerror}", path=str(path)) from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                summary.skipped.append((number, f"malformed JSON: {exc.msg} (column {exc.colno})"))
                continue
            if not isinstance(record, dict):
                summary.skipped.append((number, "not a JSON object"))
                continue
            if summary.first_row is None:
                summary.first_row = record
            completions = [harnesses.text(v) for v in harnesses.values(record, spec.completion)]
            gold = harnesses.gold_text(spec, record)
            if not completions or any(c is None for c in completions):
                summary.skipped.append((number, f"no string at {spec.completion!r} (completion)"))
                continue
            if gold is None:
                summary.skipped.append((number, f"no string or number at {spec.gold!r} (gold)"))
                continue
            found = harnesses.values(record, spec.id)
            ident = harnesses.text(found[0]) if found else None
            ident = ident if ident is not None else f"line{number}"
            extra = _options(record)
            for k, completion in enumerate(completions):
                yield {**extra, "completion": completion, "gold": gold,
                       "id": ident if len(completions) == 1 else f"{ident}#{k}"}  # fmt: skip


def _options(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the graders may use of a row besides completion and gold, when well formed:
    `task` (a name), `finish_reason` (stop/length), `choices` ({letter: text})."""
    out: dict[str, Any] = {}
    if isinstance(record.get("task"), str):
        out["task"] = record["task"]
    if record.get("finish_reason") in ("stop", "length"):
        out["finish_reason"] = record["finish_reason"]
    choices = record.get("choices")
    if isinstance(choices, dict) and all(
        isinstance(k, str) and isinstance(v, str) for k, v in choices.items()
    ):
        out["choices"] = choices
    return out


def grade_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    spec: Fields | None = None,
) -> BatchSummary:
    """Grade every record of `path` (strict and official), write verdicts JSONL to `output`.
    `spec` says where a row keeps its completion, gold and id (mwpbench.harnesses)."""
    src, dst = Path(path), Path(output)
    summary = BatchSummary()
    records: deque[dict[str, Any]] = deque()

    def items() -> Iterator[dict[str, Any]]:
        for record in read_items(src, summary, spec):
            records.append(record)
            yield record

    tmp = dst.with_name(dst.name + ".tmp")
    try:
        with tmp.open("w", encoding="utf-8") as out:
            for verdicts in grade_items(items(), jobs=jobs, timeout=timeout):
                record = records.popleft()
                verdict, official = verdicts["strict"], verdicts["official"]
                row = {"id": record["id"], **asdict(verdict), "official_correct": official.correct}
                out.write(jsonio.dumps(row) + "\n")
                summary.total += 1
                summary.correct += verdict.correct
                summary.official_correct += official.correct
                summary.statuses[verdict.status] += 1
        os.replace(tmp, dst)
    except OSError as exc:
        full = exc.errno in (errno.ENOSPC, errno.EDQUOT)
        what = "disk full" if full else (exc.strerror or str(exc))
        hint = "Free some space" if full else "Choose a writable place with -o/--output"
        raise RunError(f"cannot write {dst}: {what}. {hint}, then run the same command "
                       "again.") from exc  # fmt: skip
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:  # pragma: no cover - the folder went away
            pass
    if summary.skipped:
        number, reason = summary.skipped[0]
        log.warning(
            "%s: skipped %d malformed line(s), the first at line %d (%s); all are listed in "
            "BatchSummary.skipped", src, len(summary.skipped), number, reason,
        )  # fmt: skip
    return summary
