"""What every adapter shares: the raw Record, the loading Context, the Adapter and Drop types.

An adapter is a reader (file -> raw records) plus a pure `to_problem(record, ctx)` that
returns a Problem or a Drop (a record the paper's rules remove, with the reason).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwpbench.errors import DataError
from mwpbench.types import Problem


@dataclass(frozen=True, slots=True)
class Record:
    """One raw record and where it came from (for error messages and stable ids)."""

    data: Mapping[str, Any]
    path: str
    line: int | None  # 1-based line for JSON lines; None for whole-file JSON
    index: int  # 0-based position in its file (or in its "example" list)
    file: str  # logical file name from the task YAML (e.g. "test", "gaokao-mathqa")

    def error(self, message: str, field: str | None = None) -> DataError:
        where = self.line if self.line is not None else None
        suffix = "" if self.line is not None else f" (record {self.index})"
        return DataError(message + suffix, path=self.path, line=where, field=field)

    def get(self, name: str, kind: type | tuple[type, ...] = str, *, optional: bool = False) -> Any:
        """Field `name`, checked against `kind`; missing or mistyped -> DataError."""
        if name not in self.data or self.data[name] is None:
            if optional:
                return None
            raise self.error("missing field", name)
        value = self.data[name]
        if not isinstance(value, kind):
            want = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.error(f"expected {want}, got {type(value).__name__}", name)
        return value

    def text(self, name: str) -> str:
        """A string field that must not be blank."""
        value = self.get(name, str)
        if not value.strip():
            raise self.error("empty", name)
        return value


@dataclass(frozen=True, slots=True)
class Context:
    """What a pure record -> Problem function needs to know about its task."""

    task: str
    source: str  # "mwpbench" | "native"
    language: str
    level: str  # the task's school level (used when an item has no own difficulty)
    task_version: str  # `version` of tasks/<task>.yaml
    adapter_version: str  # VERSION of the adapter module
    translated: bool = False
    topics: Mapping[str, str] = field(default_factory=dict)  # release data_topic -> subset

    def problem(self, original_id: str, **kwargs: Any) -> Problem:
        """A Problem with the stable id `<task>/<source>/<original id>` and common metadata."""
        meta = {
            "original_id": original_id,
            "task_version": self.task_version,
            "adapter_version": self.adapter_version,
            **kwargs.pop("meta", {}),
        }
        kwargs.setdefault("subset", self.task)
        kwargs.setdefault("level", self.level)
        kwargs.setdefault("language", self.language)
        return Problem(
            id=f"{self.task}/{self.source}/{original_id}",
            task=self.task,
            source=self.source,
            meta=meta,
            **kwargs,
        )


@dataclass(frozen=True, slots=True)
class Drop:
    """A record removed on purpose (e.g. the multiple-choice filter), with the reason."""

    reason: str


@dataclass(frozen=True, slots=True)
class Adapter:
    """One dataset's native format: how to read its files and turn a record into a Problem."""

    name: str
    version: str
    read: Callable[[Path, str], Iterator[Record]]  # (path, logical file name) -> records
    to_problem: Callable[[Record, Context], Problem | Drop]
