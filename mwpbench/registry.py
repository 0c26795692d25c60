"""Name -> "module:attr" tables, resolved lazily; a typo gets "did you mean".

Adding a dataset or backend touches one line here. No import-time decorators, no directory
scanning: the tables below are the whole truth. The graders are not a table: there are two,
closed (`mwpbench.types.GRADERS`), and every run stores both verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from mwpbench.errors import UnknownNameError

# dataset adapter name -> "module:attr" (filled in by mwpbench/datasets)
ADAPTERS: dict[str, str] = {
    "gsm8k": "mwpbench.datasets.gsm8k:ADAPTER",
    "math": "mwpbench.datasets.math:ADAPTER",
    "college_math": "mwpbench.datasets.college_math:ADAPTER",
    "tal_scq": "mwpbench.datasets.tal_scq:ADAPTER",
    "math23k": "mwpbench.datasets.math23k:ADAPTER",
    "ape210k": "mwpbench.datasets.ape210k:ADAPTER",
    "gaokaobench_math": "mwpbench.datasets.gaokaobench_math:ADAPTER",
    "agieval_gaokao_math": "mwpbench.datasets.agieval:GAOKAO_MATH",
    "agieval_sat_math": "mwpbench.datasets.agieval:SAT_MATH",
    "agieval_math": "mwpbench.datasets.agieval:MATH",
    "fresh_gaokao_math_2023": "mwpbench.datasets.fresh_gaokao_math_2023:ADAPTER",
}

# backend name -> "module:Class" (filled in by mwpbench/backends)
BACKENDS: dict[str, str] = {
    "vllm": "mwpbench.backends.vllm:VLLMBackend",
    "ray": "mwpbench.backends.ray:RayBackend",
    "openai": "mwpbench.backends.openai_compat:OpenAIBackend",
    "hf": "mwpbench.backends.hf:HFBackend",
    "replay": "mwpbench.backends.replay:ReplayBackend",
    "mock": "mwpbench.backends.mock:MockBackend",
}

def resolve(kind: str, name: str, table: Mapping[str, str]) -> Any:
    """Import and return the object registered under `name`, or raise UnknownNameError."""
    target = table.get(name)
    if target is None:
        raise UnknownNameError(kind, name, sorted(table))
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)
