"""The vocabulary shared by every stage: frozen dataclasses, no logic.

Problem (datasets) -> GenerationRequest (prompts) -> Generation (backends) -> Verdict
(grading) -> SampleRecord (results). No other module defines a type that crosses stages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["correct", "incorrect", "no_answer", "parse_error", "timeout", "error"]
"""Grading outcome. `error` is a generation that failed for good, or an internal grading
failure such as a worker that could not start (never the model's answer being wrong)."""

FinishReason = Literal["stop", "length", "error"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One benchmark item, normalized by its dataset adapter."""

    id: str  # stable across machines and runs; encodes task and original record id
    task: str  # e.g. "math"
    subset: str  # e.g. "MATH.Algebra"; equals `task` for datasets without subsets
    question: str
    answer: str  # the gold answer string
    level: str | None = None
    language: str = "en"
    source: str = "mwpbench"  # "mwpbench" (release file) or "native"
    solution: str | None = None  # reference solution, where the dataset has one
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SamplingParams:
    """Every sampling parameter, explicit (vLLM's own max_tokens default is 16)."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_tokens: int = 2048
    stop: tuple[str, ...] = ()
    n: int = 1
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class GenerationRequest:
    """What a backend is asked: a prompt (text) or chat messages, and how to sample."""

    id: str  # request key: unique within a run
    prompt: str | None = None
    messages: tuple[Mapping[str, str], ...] | None = None
    sampling: SamplingParams = field(default_factory=SamplingParams)
    meta: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Completion:
    """One sampled completion."""

    text: str
    finish_reason: FinishReason = "stop"
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class Generation:
    """A backend's answer to one request: n completions, or an error that stuck."""

    request_id: str
    completions: tuple[Completion, ...] = ()
    error: str | None = None  # set when the backend failed for good (after retries)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The grade of one completion against one gold answer."""

    correct: bool
    status: Status
    extracted: str | None = None  # the answer text taken from the completion
    rule: str | None = None  # which extraction rule fired (e.g. "boxed", "answer_is")
    method: str | None = None  # how it was compared (e.g. "string", "rational", "symbolic")
    detail: str | None = None  # a short human-readable reason for non-obvious outcomes


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """One line of a run's samples.jsonl."""

    id: str
    task: str
    subset: str
    sample_index: int
    prompt: str
    completion: str
    finish_reason: str
    gold: str
    extracted: str | None
    correct: bool
    status: Status
    rule: str | None
    method: str | None
    official_correct: bool
    meta: Mapping[str, Any] = field(default_factory=dict)
