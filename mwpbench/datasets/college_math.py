"""CollegeMath (MathScale): public only in the MWPBench release format.

The native source is the same-format file published by hkust-nlp/dart-math (blob
1f884189...); `data_topic` (`college_math.<topic>`) is the subset.
"""

from __future__ import annotations

from mwpbench.datasets import release
from mwpbench.datasets.base import Adapter

VERSION = "1"

ADAPTER = Adapter(
    name="college_math", version=VERSION, read=release.read, to_problem=release.to_problem
)
