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

import json
import logging
import os
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mwpbench import jsonio
from mwpbench.errors import DataError, UnknownNameError
from mwpbench.grading.api import DEFAULT_TIMEOUT, grade_many
from mwpbench.grading.official import grade_official
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

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    @property
    def official_accuracy(self) -> float:
        return self.official_correct / self.total if self.total else 0.0


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
        return ({"official": _official(item)} for item in items)
    return _with_strict(items, official="official" in graders, jobs=jobs, timeout=timeout)


def _official(item: Mapping[str, Any]) -> Verdict:
    return grade_official(item.get("completion") or "", item.get("gold") or "")


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
            out["official"] = _official(item)
        yield out


def read_items(path: Path, summary: BatchSummary) -> Iterator[dict[str, Any]]:
    """Records of a JSONL file; bad lines go to `summary.skipped` with the reason."""
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
            gold = record.get("gold")
            if isinstance(gold, (int, float)) and not isinstance(gold, bool):
                record["gold"] = str(gold)  # {"gold": 18}: a number is its own answer text
            missing = [k for k in ("completion", "gold") if not isinstance(record.get(k), str)]
            if missing:
                summary.skipped.append((number, f"missing or non-string field {missing[0]!r}"))
                continue
            record.setdefault("id", f"line{number}")
            yield record


def grade_file(
    path: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> BatchSummary:
    """Grade every record of `path` (strict and official), write verdicts JSONL to `output`."""
    src, dst = Path(path), Path(output)
    summary = BatchSummary()
    records: deque[dict[str, Any]] = deque()

    def items() -> Iterator[dict[str, Any]]:
        for record in read_items(src, summary):
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
    finally:
        tmp.unlink(missing_ok=True)
    if summary.skipped:
        number, reason = summary.skipped[0]
        log.warning(
            "%s: skipped %d malformed line(s), the first at line %d (%s); all are listed in "
            "BatchSummary.skipped", src, len(summary.skipped), number, reason,
        )  # fmt: skip
    return summary
