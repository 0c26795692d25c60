"""Score completions produced elsewhere: replay them from files instead of generating.

Formats, detected per line:
- mwpbench JSONL, keyed by problem id: `{"id": ..., "completion": ...}` per line, with
  optional `sample_index` (default: order of appearance per id) and `finish_reason`.
- the MWPBench driver's `<task>.prediction.json` (JSON lines with `question` and
  `completion`), keyed by question text (whitespace-trimmed); identical questions take
  their completions in file order.
- other harnesses' outputs through `preset=` (`lm-eval`, `qwen25-math`) or field paths
  (`completion_key=`, `id_key=`, `question_key=`; see mwpbench.harnesses): a row with
  several completions (a path ending in `*`) gives sample indices 0, 1, ...
A request whose completion is not in the files becomes a Generation with an error
("missing from replay file ..."); `missing` lists them and a warning gives the count.
Nothing is invented. A malformed line raises DataError naming the file and line.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from mwpbench import harnesses
from mwpbench.backends.base import BackendBase, OnResult, error_generation, validate_requests
from mwpbench.errors import ConfigError, DataError, MwpbenchError
from mwpbench.types import Completion, FinishReason, Generation, GenerationRequest

logger = logging.getLogger(__name__)

_FINISH = ("stop", "length")


class ReplayBackend(BackendBase):
    """Completions looked up by problem id (mwpbench JSONL) or question (driver files and
    other harnesses' outputs, read through `preset` / `*_key` paths: mwpbench.harnesses)."""

    name = "replay"

    def __init__(
        self,
        path: str | Path | Sequence[str | Path] | None = None,
        *,
        paths: Sequence[str | Path] | None = None,
        key: str | None = None,
        model: str | None = None,
        preset: str | None = None,
        completion_key: str | None = None,
        id_key: str | None = None,
        question_key: str | None = None,
    ) -> None:
        files = [path] if isinstance(path, (str, Path)) else list(path or [])
        files += list(paths or [])
        if not files:
            raise ConfigError("replay backend: give path= (one or more JSONL files)")
        spec = harnesses.fields(preset, completion=completion_key, id=id_key,
                                question=question_key, key=key)  # fmt: skip
        super().__init__(paths=[str(p) for p in files], key=spec.key, model=model,
                         **{k: v for k, v in (("preset", preset),
                                              ("completion_key", completion_key),
                                              ("id_key", id_key),
                                              ("question_key", question_key)) if v})  # fmt: skip
        self.spec = spec
        self.by_id: dict[str, dict[int, Completion]] = defaultdict(dict)
        self.by_question: dict[str, list[tuple[Completion, ...]]] = defaultdict(list)
        self.missing: list[str] = []
        for f in files:
            self._load(Path(f))

    def _load(self, path: Path) -> None:
        spec = self.spec
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
                by_id = spec.key == "id" or (spec.key == "auto" and bool(
                    harnesses.values(row, spec.id)))  # fmt: skip
                completions = _completions(row, spec, path, lineno)
                if by_id:
                    pid = _field(row, spec.id, path, lineno)
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
                    for offset, completion in enumerate(completions):
                        if index + offset in self.by_id[pid]:
                            raise DataError(
                                f"duplicate completion for id {pid!r} sample_index "
                                f"{index + offset}",
                                path=str(path),
                                line=lineno,
                            )
                        self.by_id[pid][index + offset] = completion
                    next_index[pid] = max(next_index[pid], index + len(completions))
                else:
                    question = _field(row, spec.question, path, lineno).strip()
                    self.by_question[question].append(completions)

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
            rows = self.by_question.get(question, [])
            start = cursor.get(question, 0)
            if start < len(rows) and len(rows[start]) >= n:  # a row holds all n samples
                cursor[question] = start + 1
                return rows[start][:n]
            taken = [c for row in rows[start : start + n] for c in row[:1]]  # a row per sample
            if len(taken) >= n:
                cursor[question] = start + n
                return tuple(taken[:n])
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
    found = harnesses.values(row, name)
    value = harnesses.text(found[0]) if found else None
    if value is None:
        guess = harnesses.guess_preset(row)
        hint = (f"; the line looks like {guess} output: add --preset {guess}"
                if guess not in (None, "mwpbench") else "")  # fmt: skip
        raise DataError(
            f"field {name!r} is missing or not a string (the line has {harnesses.describe(row)})"
            + hint,
            path=str(path), line=lineno, field=name,
        )  # fmt: skip
    return value


def _completions(
    row: dict[str, Any], spec: harnesses.Fields, path: Path, lineno: int
) -> tuple[Completion, ...]:
    """The row's completions (several when the completion path ends in `*`)."""
    found = harnesses.values(row, spec.completion)
    if len(found) <= 1:
        return (_completion(row, spec.completion, path, lineno),)
    texts = [harnesses.text(v) for v in found]
    if any(t is None for t in texts):
        raise DataError(f"{spec.completion!r} holds a value that is not text", path=str(path),
                        line=lineno, field=spec.completion)  # fmt: skip
    reason = _reason(row, path, lineno)
    return tuple(Completion(text=str(t), finish_reason=reason) for t in texts)


def _reason(row: dict[str, Any], path: Path, lineno: int) -> FinishReason:
    reason = row.get("finish_reason") or "stop"
    if reason not in _FINISH:
        raise DataError(
            f"finish_reason must be one of {_FINISH}, got {reason!r}",
            path=str(path),
            line=lineno,
            field="finish_reason",
        )
    return cast(FinishReason, reason)


def _completion(row: dict[str, Any], name: str, path: Path, lineno: int) -> Completion:
    return Completion(text=_field(row, name, path, lineno), finish_reason=_reason(row, path, lineno))


def first_keys(options: Mapping[str, Any], k: int = 3) -> tuple[str, list[str]]:
    """What the first `k` rows of the replay files are matched by ("id" or "question") and
    their values, for messages that put them next to the problem ids a run wanted. Reads
    only the first lines; never raises."""
    files = options.get("path") or options.get("paths") or []
    files = [files] if isinstance(files, (str, Path)) else list(files)
    try:
        spec = harnesses.fields(options.get("preset"), completion=options.get("completion_key"),
                                id=options.get("id_key"), question=options.get("question_key"),
                                key=options.get("key"))  # fmt: skip
    except MwpbenchError:
        return "id", []
    kind, out = "id", []
    for f in files:
        try:
            with open(f, encoding="utf-8") as handle:
                for line in handle:
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        continue
                    if not isinstance(row, dict):
                        continue
                    ids = harnesses.values(row, spec.id) if spec.key != "question" else []
                    kind, path = ("id", spec.id) if ids else ("question", spec.question)
                    found = ids or harnesses.values(row, path)
                    if found:
                        out.append(str(found[0]))
                    if len(out) >= k:
                        return kind, out
        except OSError:
            continue
    return kind, out
