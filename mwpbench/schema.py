"""Shape checks of the run record as read from disk (docs/run-format.md).

A run.json or a samples.jsonl line is someone's file: hand-edited, cut short, written by a
newer or older mwpbench, or simply damaged. Valid JSON of the wrong shape (a list for a
key, an integer id, string metrics) must become a message naming the file, the line and
the field, never a traceback deep in a table renderer. These functions only look; the
reader (`mwpbench.results`) says where and what to do.

Fields a writer may leave out are allowed to be missing (the reader fills in their neutral
values); a field that is present must have its documented type.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, get_args

from mwpbench.types import GRADERS, FinishReason, Status

STATUSES: tuple[str, ...] = get_args(Status)
FINISH_REASONS: tuple[str, ...] = get_args(FinishReason)


class ShapeError(ValueError):
    """A field of the wrong type: `field` is its dotted path."""

    def __init__(self, field: str, expected: str, value: Any) -> None:
        self.field = field
        got = type(value).__name__ if value is not None else "null"
        super().__init__(f"field {field!r} must be {expected}, got {got}")


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _check(ok: bool, field: str, expected: str, value: Any) -> None:
    if not ok:
        raise ShapeError(field, expected, value)


def _opt(data: Mapping[str, Any], key: str, field: str, test: Any, expected: str) -> None:
    if key in data:
        _check(test(data[key]), f"{field}{key}", expected, data[key])


def _str_or_none(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _int_or_none(v: Any) -> bool:
    return v is None or _is_int(v)


def _num_or_none(v: Any) -> bool:
    return v is None or _is_num(v)


def _dict(v: Any) -> bool:
    return isinstance(v, dict)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(s, str) for s in v)


# --- samples.jsonl ---------------------------------------------------------------------------

_SAMPLE_TYPES: dict[str, tuple[Any, str]] = {
    "subset": (lambda v: isinstance(v, str), "a string"),
    "sample_index": (lambda v: _is_int(v) and v >= 0, "a non-negative integer"),
    "prompt": (lambda v: isinstance(v, str), "a string"),
    "completion": (lambda v: isinstance(v, str), "a string"),
    "finish_reason": (lambda v: v is None or v in FINISH_REASONS, " or ".join(FINISH_REASONS)),
    "gold": (lambda v: isinstance(v, str), "a string"),
    "extracted": (_str_or_none, "a string or null"),
    "correct": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "status": (lambda v: v is None or v in STATUSES, "a grading status or null"),
    "rule": (_str_or_none, "a string or null"),
    "method": (_str_or_none, "a string or null"),
    "detail": (_str_or_none, "a string or null"),
    "official_correct": (lambda v: v is None or isinstance(v, bool), "true, false or null"),
    "official_extracted": (_str_or_none, "a string or null"),
    "official_status": (lambda v: v is None or v in STATUSES, "a grading status or null"),
    "official_rule": (_str_or_none, "a string or null"),
    "official_detail": (_str_or_none, "a string or null"),
    "prompt_tokens": (_int_or_none, "an integer or null"),
    "completion_tokens": (_int_or_none, "an integer or null"),
    "error": (_str_or_none, "a string or null"),
    "choices": (lambda v: _dict(v) and all(isinstance(x, str) for x in v.values()),
                "an object of option texts"),
}  # fmt: skip


def check_sample(record: Any) -> None:
    """Raise ShapeError unless `record` is a sample line: an object with a string `key`,
    `id` and `task`, and documented types for the other fields it has."""
    if not isinstance(record, dict):
        raise ShapeError("(line)", "a JSON object", record)
    for name in ("key", "id", "task"):
        _check(isinstance(record.get(name), str), name, "a string", record.get(name))
    for name, (test, expected) in _SAMPLE_TYPES.items():
        if name in record:
            _check(test(record[name]), name, expected, record[name])


# --- run.json --------------------------------------------------------------------------------


def _accuracy_block(block: Any, field: str, *, subsets: bool) -> None:
    _check(_dict(block), field, "an object", block)
    _opt(block, "accuracy", f"{field}.", _num_or_none, "a number or null")
    _opt(block, "stderr", f"{field}.", _num_or_none, "a number or null")
    _opt(block, "correct", f"{field}.", _num_or_none, "a number")
    _check(_is_num(block.get("n")), f"{field}.n", "a number", block.get("n"))
    if subsets and "subsets" in block:
        _check(_dict(block["subsets"]), f"{field}.subsets", "an object", block["subsets"])
        for name, sub in block["subsets"].items():
            _accuracy_block(sub, f"{field}.subsets.{name}", subsets=False)


def _grader_block(block: Any, field: str) -> None:
    _check(_dict(block), field, "an object", block)
    datasets = block.get("datasets")
    _check(_dict(datasets), f"{field}.datasets", "an object", datasets)
    for name, sub in datasets.items():
        _accuracy_block(sub, f"{field}.datasets.{name}", subsets=True)
    for name in ("micro", "macro"):
        _accuracy_block(block.get(name), f"{field}.{name}", subsets=False)


def _metrics(metrics: Any) -> None:
    if metrics is None:
        return
    _check(_dict(metrics), "metrics", "an object or null", metrics)
    blocks: dict[str, Any] = {f"metrics.{g}": metrics.get(g) for g in GRADERS}
    for name in ("pass_at_k", "maj_at_k"):
        by_k = metrics.get(name)
        if by_k is not None:
            _check(_dict(by_k), f"metrics.{name}", "an object or null", by_k)
            blocks.update({f"metrics.{name}.{k}": block for k, block in by_k.items()})
    for field, block in blocks.items():
        _grader_block(block, field)
    first = blocks[f"metrics.{GRADERS[0]}"]["datasets"]
    for field, block in blocks.items():  # every block covers the same datasets and subsets
        for task, sub in first.items():
            other = block["datasets"].get(task)
            _check(other is not None, f"{field}.datasets.{task}", "present (as in "
                   f"metrics.{GRADERS[0]})", other)  # fmt: skip
            for subset in sub.get("subsets", {}) if field.count(".") == 1 else ():
                got = other.get("subsets", {}).get(subset)
                _check(got is not None, f"{field}.datasets.{task}.subsets.{subset}",
                       "present", got)  # fmt: skip
    for name, test, expected in (
        ("disagreements", _is_int, "an integer"),
        ("truncation_rate", _num_or_none, "a number"),
        ("status_counts", lambda v: _dict(v) and all(_is_int(x) for x in v.values()),
         "an object of counts"),
    ):  # fmt: skip
        values = metrics.get(name, {})
        _check(_dict(values), f"metrics.{name}", "an object", values)
        for key, value in values.items():
            _check(test(value), f"metrics.{name}.{key}", expected, value)


def _tasks(tasks: Any) -> None:
    _check(isinstance(tasks, list), "tasks", "a list", tasks)
    for i, task in enumerate(tasks):
        where = f"tasks[{i}]"
        _check(_dict(task), where, "an object", task)
        _check(isinstance(task.get("name"), str), f"{where}.name", "a string", task.get("name"))
        _opt(task, "n", f"{where}.", lambda v: _is_int(v) and v >= 0, "a non-negative integer")
        _opt(task, "version", f"{where}.", lambda v: isinstance(v, (str, int)), "a string")
        _opt(task, "data_files", f"{where}.", lambda v: isinstance(v, list), "a list")
        _opt(task, "dropped", f"{where}.", _dict, "an object")


def _finite_or_none(v: Any) -> bool:
    return v is None or (_is_num(v) and math.isfinite(v))


def check_run(data: Mapping[str, Any]) -> None:
    """Raise ShapeError unless `data` (a run.json object) has the documented types."""
    for key in ("run_id", "created_at", "config_hash", "git_commit", "source", "suite",
                "finished_at", "regraded_at"):  # fmt: skip
        _opt(data, key, "", _str_or_none, "a string")
    _opt(data, "status", "", lambda v: v in ("complete", "incomplete"),
         "'complete' or 'incomplete'")  # fmt: skip
    _opt(data, "official_mode", "", lambda v: isinstance(v, bool), "true or false")
    for key in ("limit", "limit_per_task", "cap_per_data_topic"):
        _opt(data, key, "", _int_or_none, "an integer or null")
    for key in ("model", "prompt", "sampling", "graders", "packages", "timings", "counts"):
        _opt(data, key, "", _dict, "an object")
    model = data.get("model", {})
    _opt(model, "name", "model.", lambda v: isinstance(v, str), "a string")
    _opt(model, "backend", "model.", _str_or_none, "a string")
    _opt(model, "backend_args", "model.", _dict, "an object")
    prompt = data.get("prompt", {})
    _opt(prompt, "name", "prompt.", _str_or_none, "a string")
    _opt(prompt, "stop", "prompt.", _str_list, "a list of strings")
    sampling = data.get("sampling", {})
    for key in ("temperature", "top_p"):
        _opt(sampling, key, "sampling.", _finite_or_none, "a number")
    for key in ("max_tokens", "n", "seed"):
        _opt(sampling, key, "sampling.", _int_or_none, "an integer")
    _opt(sampling, "stop", "sampling.", _str_list, "a list of strings")
    graders = data.get("graders", {})
    _opt(graders, "headline", "graders.", lambda v: v in GRADERS, " or ".join(GRADERS))
    _opt(graders, "timeout", "graders.", _finite_or_none, "a number")
    for key, value in data.get("timings", {}).items():
        _check(_num_or_none(value), f"timings.{key}", "a number", value)
    for key, value in data.get("counts", {}).items():
        _check(_is_int(value) and value >= 0, f"counts.{key}", "a non-negative integer", value)
    shard = data.get("shard")
    if shard is not None:
        _check(_dict(shard), "shard", "an object or null", shard)
        for key in ("num_shards", "shard_index"):
            _check(_is_int(shard.get(key)), f"shard.{key}", "an integer", shard.get(key))
    if "tasks" in data:
        _tasks(data["tasks"])
    _opt(data, "merged_from", "", lambda v: isinstance(v, list) and all(map(_dict, v)),
         "a list of objects")  # fmt: skip
    _metrics(data.get("metrics"))


__all__ = ["FINISH_REASONS", "STATUSES", "ShapeError", "check_run", "check_sample"]
