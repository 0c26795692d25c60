"""The vocabulary shared by every stage: frozen dataclasses, no logic.

Problem (datasets) -> GenerationRequest (prompts) -> Generation (backends) -> Verdict
(grading) -> SampleRecord / RunRecord (results). No other module defines a type that crosses
stages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

Status = Literal["correct", "incorrect", "no_answer", "parse_error", "timeout", "error"]
"""Grading outcome. `error` is a generation that failed for good, or an internal grading
failure such as a worker that could not start (never the model's answer being wrong)."""

FinishReason = Literal["stop", "length", "error"]

GRADERS: tuple[str, ...] = ("strict", "official")
"""The two graders, closed: every run stores both verdicts of every sample. `strict` is
value equivalence (the default headline); `official` reproduces MWPBench's fuzzy matcher."""


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
class LoadedTask:
    """One task as a run loaded it: its problems and the files they came from."""

    name: str
    version: str
    source: str  # "mwpbench" (release file) or "native"
    language: str  # of the text the model sees ("en" for the release file)
    release: str | None  # "arxiv-v1" | "icml" for a pinned release download, else None
    problems: tuple[Problem, ...]
    files: tuple[tuple[str, str], ...]  # (path, sha256) of every file read
    dropped: Mapping[str, int] = field(default_factory=dict)  # reason -> records dropped


# --- the run record (docs/run-format.md) ------------------------------------------------
# JSON-shaped typed dicts: one samples.jsonl line, one run.json. Only mwpbench.results
# builds, writes, reads and migrates them; everyone else reads them through it.


class _SampleFields(TypedDict):
    key: str  # task/problem id/sample index/prompt hash 12/sampling hash 12
    id: str  # the problem id
    task: str
    subset: str
    level: str | None  # the problem's level ("Level 3" in MATH; else its task's school level)
    sample_index: int
    prompt: str  # the prompt text; chat messages as <|role|> lines + content
    completion: str
    finish_reason: FinishReason
    gold: str
    # strict verdict (None on a line generated but not graded yet)
    extracted: str | None
    correct: bool | None
    status: Status | None
    rule: str | None
    method: str | None
    detail: str | None
    # official verdict
    official_correct: bool | None
    official_extracted: str | None
    official_status: Status | None
    official_rule: str | None
    official_detail: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    error: str | None  # why the generation failed (status "error"), else None


class SampleRecord(_SampleFields, total=False):
    """One line of samples.jsonl: a completion and both verdicts."""

    choices: dict[str, str]  # only for problems with options (native multiple choice)


class ModelInfo(TypedDict):
    name: str
    backend: str
    backend_args: dict[str, Any]  # secrets (key, token, ...) never recorded


class DataFileInfo(TypedDict):
    name: str
    sha256: str


class TaskEntry(TypedDict):
    """One task of a run: what was loaded, from where, how many items."""

    name: str
    version: str
    source: str  # "mwpbench" (release file) or "native"
    n: int
    data_sha256: str  # of the one file, else sha256 over the files' digests
    data_files: list[DataFileInfo]
    language: str
    release: str | None  # "arxiv-v1" | "icml" for a pinned release download
    dropped: dict[str, int]  # reason -> records dropped on purpose


class PromptInfo(TypedDict):
    name: str
    hash: str
    kind: str  # "text" | "chat"
    stop: list[str]
    path: str | None


class SamplingInfo(TypedDict):
    temperature: float
    top_p: float
    max_tokens: int
    n: int
    seed: int | None
    stop: list[str]
    hash: str


class GradersInfo(TypedDict):
    headline: str
    stored: list[str]
    timeout: float


class ShardInfo(TypedDict):
    num_shards: int
    shard_index: int


class Counts(TypedDict, total=False):
    samples: int
    generation_errors: int
    timeouts: int
    ungraded: int
    reused: int  # stored before a --resume
    generated: int
    official_gold_fallbacks: int  # golds the official strip() cannot read


class MergedShard(TypedDict):
    run_id: str
    shard: ShardInfo | None
    status: str
    timings: dict[str, float] | None


class _RunFields(TypedDict):
    schema_version: int
    run_id: str
    status: str  # "complete" | "incomplete"
    created_at: str
    finished_at: str | None
    model: ModelInfo
    source: str
    suite: str | None
    tasks: list[TaskEntry]
    prompt: PromptInfo
    sampling: SamplingInfo
    graders: GradersInfo
    official_mode: bool
    limit: int | None  # --limit, or the paper cap
    limit_per_task: int | None
    cap_per_data_topic: int | None
    shard: ShardInfo | None
    packages: dict[str, str | None]
    git_commit: str | None
    timings: dict[str, float]
    counts: Counts
    metrics: dict[str, Any] | None  # see docs/run-format.md; None until graded


class RunRecord(_RunFields, total=False):
    """run.json: what was run, how, by whom, and the metrics."""

    config_hash: str  # what --resume matches (absent in merged runs)
    regraded_at: str
    merged_from: list[MergedShard]
