"""Other harnesses' output files: where a row keeps its completion, gold, id and question.

`mwpbench grade FILE` and the replay backend read JSON lines written by other tools. A
`Fields` names, as dotted paths, where each value sits in a row:

- `a.b.0` walks mappings by key and lists by index;
- a path that ends on a list takes its first element; `a.*` (a `*` segment) takes every
  element instead (one sample each);
- `x|y` tries `x`, then `y` (tasks of one harness name their question field differently).

Named presets read the files of two harnesses as their own code writes them:
`lm-eval` (lm-evaluation-harness `--log_samples`: `samples_<task>_<date>.jsonl`, one row per
document: `doc`, `target`, `resps` = one list of completions per request) and `qwen25-math`
(Qwen2.5-Math `evaluation/math_eval.py --save_outputs`: `idx`, `question`, `gt`, `code` = the
completions). Neither keys rows by our problem ids, so replay matches them by question text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from mwpbench.errors import ConfigError, UnknownNameError


@dataclass(frozen=True, slots=True)
class Fields:
    """Where the values of one row are (dotted paths; see the module docs)."""

    completion: str = "completion"
    gold: str = "gold"
    id: str = "id"
    question: str = "question"
    key: str = "auto"  # how replay matches rows to problems: auto (id when present), id, question
    # a GSM8K-style worked answer ("... #### 18") as gold: keep what follows the marker
    gold_marker: str | None = None


PRESETS: dict[str, Fields] = {
    "mwpbench": Fields(),
    "lm-eval": Fields(
        completion="resps.0.*",
        gold="target",
        id="doc_id",
        question="doc.question|doc.problem|doc.Question|doc.query",
        key="question",
        gold_marker="####",
    ),
    "qwen25-math": Fields(
        completion="code.*", gold="gt", id="idx", question="question", key="question"
    ),
}
"""Named field layouts; `mwpbench` is ours ({"id", "completion", "gold"})."""

_MISSING = object()


def fields(
    preset: str | None = None,
    *,
    completion: str | None = None,
    gold: str | None = None,
    id: str | None = None,  # noqa: A002 - the field's own name
    question: str | None = None,
    key: str | None = None,
) -> Fields:
    """A preset (default `mwpbench`) with the given paths replacing its own."""
    if preset is not None and preset not in PRESETS:
        raise UnknownNameError("preset", preset, sorted(PRESETS))
    base = PRESETS[preset or "mwpbench"]
    given = {"completion": completion, "gold": gold, "id": id, "question": question, "key": key}
    for name, path in given.items():
        if path is not None and (not isinstance(path, str) or not path.strip()):
            raise ConfigError(f"--{name}-key must be a dotted path such as 'resps.0', got {path!r}")
    if key is not None and key not in ("auto", "id", "question"):
        raise ConfigError(f"key must be auto, id or question, got {key!r}")
    return replace(base, **{k: v for k, v in given.items() if v is not None})


def _walk(value: Any, parts: list[str]) -> list[Any]:
    if not parts:
        return [value]
    head, rest = parts[0], parts[1:]
    if head == "*":
        if not isinstance(value, list):
            return []
        return [v for item in value for v in _walk(item, rest)]
    if isinstance(value, Mapping):
        nxt = value.get(head, _MISSING)
    elif isinstance(value, list) and head.lstrip("-").isdigit():
        index = int(head)
        nxt = value[index] if -len(value) <= index < len(value) else _MISSING
    else:
        nxt = _MISSING
    if nxt is _MISSING:
        return []
    return _walk(nxt, rest)


def values(row: Mapping[str, Any], path: str) -> list[Any]:
    """Every value at `path` in `row` (see the module docs); [] when there is none."""
    for alternative in path.split("|"):
        parts = [p for p in alternative.strip().split(".") if p]
        found = _walk(row, parts)
        if found and "*" not in parts and isinstance(found[0], list):
            found = found[0][:1]  # a list field: its first element
        if found:
            return found
    return []


def text(value: Any) -> str | None:
    """A value as answer text: strings as they are, numbers written out, else None."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def gold_text(spec: Fields, row: Mapping[str, Any]) -> str | None:
    """The row's gold answer as text (the part after `gold_marker` when it has one)."""
    found = values(row, spec.gold)
    gold = text(found[0]) if found else None
    if gold is not None and spec.gold_marker and spec.gold_marker in gold:
        gold = gold.rsplit(spec.gold_marker, 1)[1].strip()
    return gold


def guess_preset(row: Mapping[str, Any]) -> str | None:
    """Which preset a row looks like it was written for, if any."""
    if "resps" in row and ("doc" in row or "doc_id" in row):
        return "lm-eval"
    if "code" in row and "gt" in row:
        return "qwen25-math"
    if "completion" in row:
        return "mwpbench"
    return None


def describe(row: Mapping[str, Any], limit: int = 8) -> str:
    """The top-level fields of a row, for messages."""
    names = list(row)
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (f", ... ({len(names)} fields)" if len(names) > limit else "")


__all__ = ["PRESETS", "Fields", "describe", "fields", "gold_text", "guess_preset", "text", "values"]
