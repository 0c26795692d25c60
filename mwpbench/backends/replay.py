"""Score completions produced elsewhere: replay them from files instead of generating.

Two formats, detected per file:
- mwpbench JSONL, keyed by problem id: `{"id": ..., "completion": ...}` per line, with
  optional `sample_index` (default: order of appearance per id) and `finish_reason`.
- the MWPBench driver's `<task>.prediction.json` (JSON lines with `question` and
  `completion`), keyed by question text (whitespace-trimmed); identical questions take
  their completions in file order.
A request whose completion is not in the files becomes a Generation with an error
("missing from replay file ..."); `missing` lists them and a warning gives the count.
Nothing is invented. A malformed line raises DataError naming the file and line.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

from mwpbench.backends.base import BackendBase, OnResult, error_generation, validate_requests
from mwpbench.errors import ConfigError, DataError
from mwpbench.types import Completion, FinishReason, Generation, GenerationRequest

logger = logging.getLogger(__name__)

_FINISH = ("stop", "length")


class ReplayBackend(BackendBase):
    """Completions looked up by problem id (mwpbench JSONL) or question (driver files)."""

    name = "replay"

    def __init__(
        self,
        path: str | Path | Sequence[str | Path] | None = None,
        *,
        paths: Sequence[str | Path] | None = None,
        key: str = "auto",
        model: str | None = None,
    ) -> None:
        files = [path] if isinstance(path, (str, Path)) else list(path or [])
        files += list(paths or [])
        if not files:
            raise ConfigError("replay backend: give path= (one or more JSONL files)")
        if key not in ("auto", "id", "question"):
            raise ConfigError(f"replay backend: key must be auto, id or question, got {key!r}")
        super().__init__(paths=[str(p) for p in files], key=key, model=model)
        self.by_id: dict[str, dict[int, Completion]] = defaultdict(dict)
        self.by_question: dict[str, list[Completion]] = defaultdict(list)
        self.missing: list[str] = []
        for f in files:
            self._load(Path(f), key)

    def _load(self, path: Path, key: str) -> None:
        try:
            handle = path.open(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"replay file {path} cannot be opened: {exc}") from exc
        next_index: dict[str, int] = defaultdict(int)
        with handle:
            for lineno, line in enumerate(handle, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise DataError(
                        f"not valid JSON ({exc.msg}); expected one object per line",
                        path=str(path),
                        line=lineno,
                    ) from exc
                if not isinstance(row, dict):
                    raise DataError("expected a JSON object", path=str(path), line=lineno)
                row_key = key if key != "auto" else ("id" if "id" in row else "question")
                completion = _completion(row, path, lineno)
                if row_key == "id":
                    pid = _field(row, "id", path, lineno)
                    index = row.get("sample_index")
                    if index is None:
                        index = next_index[pid]
                    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
                        raise DataError(
                            "sample_index must be a non-negative integer",
                            path=str(path),
                            line=lineno,
                            field="sample_index",
                        )
                    if index in self.by_id[pid]:
                        raise DataError(
                            f"duplicate completion for id {pid!r} sample_index {index}",
                            path=str(path),
                            line=lineno,
                        )
                    self.by_id[pid][index] = completion
                    next_index[pid] = max(next_index[pid], index + 1)
                else:
                    question = _field(row, "question", path, lineno).strip()
                    self.by_question[question].append(completion)

    def _lookup(
        self, request: GenerationRequest, cursor: dict[str, int]
    ) -> tuple[Completion, ...] | None:
        n = request.sampling.n
        pid = request.meta.get("problem_id", request.id)
        if pid in self.by_id:
            samples = self.by_id[pid]
            if all(i in samples for i in range(n)):
                return tuple(samples[i] for i in range(n))
            return None
        question = request.meta.get("question")
        if question is not None:
            question = question.strip()
            queue = self.by_question.get(question, [])
            start = cursor.get(question, 0)
            if len(queue) - start >= n:
                cursor[question] = start + n
                return tuple(queue[start : start + n])
        return None

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        validate_requests(requests)
        out: list[Generation] = []
        missing: list[str] = []
        where = ", ".join(self.options["paths"])
        cursor: dict[str, int] = {}  # question -> entries taken in this call
        for request in requests:
            completions = self._lookup(request, cursor)
            if completions is None:
                missing.append(request.id)
                label = request.meta.get("problem_id", request.id)
                gen = error_generation(
                    request,
                    f"missing from replay file {where}: no completion for problem {label!r}"
                    + (f" (need {request.sampling.n} samples)" if request.sampling.n > 1 else ""),
                )
            else:
                gen = Generation(request_id=request.id, completions=completions)
            if on_result is not None:
                on_result(gen)
            out.append(gen)
        if missing:
            logger.warning(
                "replay: %d of %d requests missing from %s", len(missing), len(requests), where
            )
        self.missing.extend(missing)
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "missing": len(self.missing)}


def _field(row: dict[str, Any], name: str, path: Path, lineno: int) -> str:
    value = row.get(name)
    if not isinstance(value, str):
        raise DataError(
            f"field {name!r} is missing or not a string", path=str(path), line=lineno, field=name
        )
    return value


def _completion(row: dict[str, Any], path: Path, lineno: int) -> Completion:
    text = _field(row, "completion", path, lineno)
    reason = row.get("finish_reason") or "stop"
    if reason not in _FINISH:
        raise DataError(
            f"finish_reason must be one of {_FINISH}, got {reason!r}",
            path=str(path),
            line=lineno,
            field="finish_reason",
        )
    return Completion(text=text, finish_reason=cast(FinishReason, reason))
