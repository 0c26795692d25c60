"""Name -> "module:attr" tables, resolved lazily; a typo gets "did you mean".

Adding a dataset or backend touches one line here. No import-time decorators, no directory
scanning: the tables below are the whole truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from importlib import import_module
from typing import Any

from mwpbench.errors import UnknownNameError

# dataset adapter name -> "module:attr" (filled in by mwpbench/datasets)
ADAPTERS: dict[str, str] = {}

# backend name -> "module:Class" (filled in by mwpbench/backends)
BACKENDS: dict[str, str] = {}

# grader name -> "module:function(completion, gold, **options) -> Verdict"
GRADERS: dict[str, str] = {
    "strict": "mwpbench.grading.api:grade_strict",
    "official": "mwpbench.grading.official:grade_official",
}


def resolve(kind: str, name: str, table: Mapping[str, str]) -> Any:
    """Import and return the object registered under `name`, or raise UnknownNameError."""
    target = table.get(name)
    if target is None:
        raise UnknownNameError(kind, name, sorted(table))
    module, _, attr = target.partition(":")
    return getattr(import_module(module), attr)
