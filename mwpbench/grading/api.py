"""`grade`, `is_equivalent`, `grade_many`: the grading entry points (contract; filled in below)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from mwpbench.types import Verdict

DEFAULT_TIMEOUT = 5.0


def grade(
    completion: str,
    gold: str,
    *,
    grader: str = "strict",
    task: str | None = None,
    finish_reason: str | None = None,
    choices: Mapping[str, str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade one model completion against one gold answer. Never raises on model text."""
    raise NotImplementedError


def is_equivalent(pred: str, gold: str, *, timeout: float = DEFAULT_TIMEOUT) -> bool:
    """Answer vs answer under the strict policy (no extraction)."""
    raise NotImplementedError


def grade_many(
    items: Iterable[Mapping[str, Any]],
    *,
    grader: str = "strict",
    jobs: int | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> Iterator[Verdict]:
    """Grade items (`completion`, `gold`, optional `task`, `finish_reason`, `choices`)."""
    raise NotImplementedError
