"""Paths shared by the dataset tests: our own fixtures, and the real data when present.

(A uniquely named module: `conftest` is ambiguous when several test folders have one.)
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "datasets"
SHARED = (Path(__file__).parents[2] / ".." / "shared" / "data").resolve()

# task -> folder of its native fixture files (same layout as ../shared/data)
NATIVE_FIXTURES = {
    "gsm8k": "gsm8k",
    "math": "math",
    "college_math": "college_math",
    "tal_scq": "tal_scq",
    "math23k": "math23k",
    "ape210k": "ape210k",
    "gaokaobench_math": "gaokaobench_math",
    "agieval_gaokao_math": "agieval",
    "agieval_sat_math": "agieval",
    "agieval_math": "agieval",
    "fresh_gaokao_math_2023": "fresh_gaokao_math_2023",
}
RELEASE_FIXTURE = FIXTURES / "release" / "full_test.json"


def native_fixture(task: str) -> Path:
    return FIXTURES / NATIVE_FIXTURES[task]


def release_fixture(task: str) -> Path:
    return {
        "fresh_gaokao_math_2023": FIXTURES
        / "fresh_gaokao_math_2023"
        / "fresh_gaokao_math_2023.json",
    }.get(task, RELEASE_FIXTURE)
