"""Fresh-GaokaoMath-2023 (MathScale): 30 English questions, MWPBench release format only.

Both sources read `data/fresh_gaokao_math_2023.json` of the MathScale repository
(`data_topic` FreshGaokaoMath2023). Answers use `\\( ... \\)` delimiters.
"""

from __future__ import annotations

from mwpbench.datasets import release
from mwpbench.datasets.base import Adapter

VERSION = "1"

ADAPTER = Adapter(
    name="fresh_gaokao_math_2023", version=VERSION, read=release.read, to_problem=release.to_problem
)
