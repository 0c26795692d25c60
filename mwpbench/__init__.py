"""mwpbench: the evaluation harness for MwpBench (MathScale's ten math word-problem datasets).

Importing mwpbench has no side effects and is cheap: the public functions load their
modules on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> "module:attribute"; resolved lazily on first access
_PUBLIC = {
    "grade": "mwpbench.grading:grade",
    "grade_many": "mwpbench.grading:grade_many",
    "is_equivalent": "mwpbench.grading:is_equivalent",
    "list_tasks": "mwpbench.datasets:list_tasks",
    "load_task": "mwpbench.datasets:load_task",
    "Problem": "mwpbench.types:Problem",
    "Verdict": "mwpbench.types:Verdict",
    "GenerationRequest": "mwpbench.types:GenerationRequest",
    "Generation": "mwpbench.types:Generation",
    "Completion": "mwpbench.types:Completion",
    "SamplingParams": "mwpbench.types:SamplingParams",
    "SampleRecord": "mwpbench.types:SampleRecord",
    "MwpbenchError": "mwpbench.errors:MwpbenchError",
    "evaluate": "mwpbench.runner:evaluate",
    "load_run": "mwpbench.results:load_run",
    "regrade": "mwpbench.runs:regrade",
    "RunResult": "mwpbench.results:RunResult",
    "build_leaderboard": "mwpbench.leaderboard:build_leaderboard",
}

__all__ = sorted(_PUBLIC) + ["__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from mwpbench.datasets import list_tasks, load_task
    from mwpbench.errors import MwpbenchError
    from mwpbench.grading import grade, grade_many, is_equivalent
    from mwpbench.results import RunResult, load_run
    from mwpbench.runner import evaluate
    from mwpbench.runs import regrade
    from mwpbench.types import (
        Completion,
        Generation,
        GenerationRequest,
        Problem,
        SampleRecord,
        SamplingParams,
        Verdict,
    )


def __getattr__(name: str) -> Any:
    target = _PUBLIC.get(name)
    if target is None:
        raise AttributeError(f"module 'mwpbench' has no attribute {name!r}")
    module, _, attr = target.partition(":")
    value = getattr(import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
