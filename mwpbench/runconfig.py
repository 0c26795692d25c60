"""The options of one run, said once (`EvalConfig`, with its `SamplingParams`), and their
checks: everything `evaluate()` and `mwpbench eval` can refuse before anything is loaded."""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mwpbench import results
from mwpbench.errors import ConfigError, UnknownNameError
from mwpbench.types import SamplingParams


@dataclass(frozen=True)
class EvalConfig:
    """Every option of one run, said once: `evaluate(model, **options)` and `mwpbench eval`
    take these names (and the fields of SamplingParams one by one: n, temperature, top_p,
    max_tokens, seed, stop)."""

    model: str  # HF model id or local folder (a name for replay/mock)
    backend: str | None = None  # vllm (default where it runs), hf (else), openai, replay, mock
    backend_options: Mapping[str, Any] = field(default_factory=dict)  # the backend's keywords
    tasks: str | Sequence[str] | None = None  # a suite ("mwpbench"), "a,b" or a list of tasks
    source: str = "mwpbench"  # "mwpbench" (the release file) or "native" (the originals)
    data_files: Any = None  # one path or list (every task), or {task: path}
    data_dir: str | os.PathLike[str] | None = None  # a local mirror: ROOT/<dataset>/<files>
    prompt: str | None = None  # template name or .jinja path [default: the tasks' YAML prompt]
    limit: int | None = None  # N problems per task (for testing: not comparable with full runs)
    limit_mode: str = "first"  # which N: first (file order), stratified (by subset), random
    limit_seed: int = 0  # the seed of stratified and random limits
    # paper mode: alpaca, greedy, 2048 tokens, the first 2000 items per data_topic, the
    # official grader as the headline (strict kept beside it)
    official: bool = False
    sampling: SamplingParams = SamplingParams(seed=0)  # greedy, 2048 tokens, base seed 0
    num_shards: int = 1  # run one deterministic slice of the requests (merge later)
    shard_index: int = 0
    output: str | os.PathLike[str] = "results"  # the folder that receives the run directory
    run_id: str | None = None  # [default: date-time-model-hash]
    resume: bool = False  # continue the run with this configuration: nothing stored is redone
    jobs: int | None = None  # grading worker processes [default: all cores]
    timeout: float = 5.0  # grading limit per item, in seconds
    progress: bool = True  # progress bars

    @classmethod
    def from_options(
        cls, model: str, *, sampling: SamplingParams | None = None, **options: Any
    ) -> EvalConfig:
        """An EvalConfig from keyword options; SamplingParams' fields may come one by one
        (None means the default) instead of `sampling`. Unknown names are a ConfigError."""
        loose = {k: options.pop(k) for k in list(options) if k in _SAMPLING_FIELDS}
        if sampling is None:
            given = {k: v for k, v in loose.items() if v is not None}
            if "stop" in given:
                given["stop"] = tuple(given["stop"])
            sampling = SamplingParams(**{"seed": 0, **given})
        elif any(v is not None for v in loose.values()):
            raise ConfigError(
                f"give sampling=SamplingParams(...) or its fields ({', '.join(sorted(loose))}) "
                "as keywords, not both"
            )
        unknown = sorted(set(options) - _CONFIG_FIELDS)
        if unknown:
            raise UnknownNameError("evaluate() option", unknown[0],
                                   sorted(_CONFIG_FIELDS | _SAMPLING_FIELDS))  # fmt: skip
        return cls(model=model, sampling=sampling, **options)


_SAMPLING_FIELDS = frozenset(f.name for f in dataclasses.fields(SamplingParams))
_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(EvalConfig)) - {"model", "sampling"}


# --- sampling ------------------------------------------------------------------------------

PAPER_PROMPT = "alpaca"
"""Paper mode's prompt (the MWPBench driver's), whatever the tasks' YAMLs name."""
PAPER_SAMPLING = SamplingParams(temperature=0.0, top_p=1.0, n=1, max_tokens=2048)
"""What paper mode fixes (the MWPBench driver's settings)."""


def check_sampling(cfg: EvalConfig) -> SamplingParams:
    """The run's sampling parameters, checked: paper mode fixes temperature, top_p, n and
    max_tokens; several samples need a temperature."""
    sp = cfg.sampling
    _number("temperature", sp.temperature, low=0.0)
    _number("top_p", sp.top_p, low=0.0, high=1.0, low_open=True)
    for name in ("max_tokens", "n"):
        value = getattr(sp, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be a whole number >= 1, got "
                              f"{value!r}")  # fmt: skip
    if cfg.official:
        for name in ("temperature", "top_p", "n", "max_tokens"):
            given, paper = getattr(sp, name), getattr(PAPER_SAMPLING, name)
            if given != paper:
                raise ConfigError(
                    f"--official fixes {name} to {paper} (the paper's settings); drop "
                    f"--{name.replace('_', '-')} or run without --official"
                )
    if sp.n > 1 and sp.temperature == 0.0:
        raise ConfigError(
            f"n={sp.n} samples need a sampling temperature (greedy would repeat one answer): "
            "pass --temperature, e.g. 0.7"
        )
    return dataclasses.replace(sp, temperature=float(sp.temperature), top_p=float(sp.top_p),
                               max_tokens=int(sp.max_tokens), n=int(sp.n),
                               stop=tuple(sp.stop))  # fmt: skip


MAX_TIMEOUT = 3600.0
"""The largest grading limit per item, in seconds (an hour per answer is a mistake)."""


def _number(
    name: str,
    value: Any,
    *,
    low: float,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """`value` as a float if it is a finite number in range, else ConfigError. NaN and inf
    are refused: NaN compares false with every bound, inf would mean no limit at all."""
    flag = f"--{name.replace('_', '-')}"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{flag} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{flag} must be a finite number, got {value!r}")
    below = value <= low if low_open else value < low
    if below or (high is not None and value > high):
        bounds = f"{'>' if low_open else '>='} {low:g}" + (
            f" and <= {high:g}" if high is not None else "")  # fmt: skip
        raise ConfigError(f"{flag} must be {bounds}, got {value!r}")
    return float(value)


def check_options(cfg: EvalConfig) -> None:
    """The run options that are not sampling, checked before anything is loaded."""
    if cfg.official and cfg.prompt not in (None, PAPER_PROMPT):
        raise ConfigError(
            f"--official uses the {PAPER_PROMPT} prompt; drop --prompt or --official"
        )
    if cfg.limit is not None and (isinstance(cfg.limit, bool) or not isinstance(cfg.limit, int)
                                  or cfg.limit < 1):  # fmt: skip
        raise ConfigError(f"--limit must be at least 1, got {cfg.limit}")
    timeout = _number("timeout", cfg.timeout, low=0.0, low_open=True)
    if timeout > MAX_TIMEOUT:
        raise ConfigError(f"--timeout is the grading limit per item: at most {MAX_TIMEOUT:g} "
                          f"seconds, got {cfg.timeout!r}")  # fmt: skip
    if cfg.jobs is not None and (isinstance(cfg.jobs, bool) or not isinstance(cfg.jobs, int)
                                 or cfg.jobs < 1):  # fmt: skip
        raise ConfigError(f"--jobs must be a whole number >= 1, got {cfg.jobs!r}")
    if cfg.run_id is not None:
        results.check_run_id(cfg.run_id)
