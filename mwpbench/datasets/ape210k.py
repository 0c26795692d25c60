"""Ape210k (Chenny0808/ape210k data/test.ape.json, JSON lines despite the name), Chinese.

Same fields and answer notations as Math23k (`(3/5)`, mixed `N(a/b)`, `%`, and 27 answers
that are arithmetic expressions such as `11+13`), so it shares Math23k's record function.
"""

from __future__ import annotations

from mwpbench.datasets.base import Adapter
from mwpbench.datasets.math23k import to_problem
from mwpbench.datasets.records import read_jsonl

VERSION = "1"

ADAPTER = Adapter(name="ape210k", version=VERSION, read=read_jsonl, to_problem=to_problem)
