"""Grading: extract -> normalize/parse -> compare, behind `grade()`.

Public: `grade`, `is_equivalent`, `grade_many`. Model output never makes these raise: it
becomes a Verdict status. Symbolic work runs in killable worker processes with a hard
wall-clock limit (see `pool.py`).
"""

from __future__ import annotations

from mwpbench.grading.api import DEFAULT_TIMEOUT, grade, grade_many, is_equivalent

__all__ = ["DEFAULT_TIMEOUT", "grade", "grade_many", "is_equivalent"]
