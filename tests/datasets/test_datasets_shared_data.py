"""The real public test files in ../shared/data (skipped when absent): published counts."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from mwpbench import config
from mwpbench.datasets.files import verify
from mwpbench.datasets.loader import load

NATIVE_COUNTS = {
    "gsm8k": 1319, "math": 5000, "college_math": 2818, "math23k": 1000, "ape210k": 5000,
    "agieval_sat_math": 102, "agieval_math": 938, "fresh_gaokao_math_2023": 30,
    # not the paper's numbers (see README): the paper filtered English translations
    "tal_scq": 1466, "gaokaobench_math": 571, "agieval_gaokao_math": 454,
}  # fmt: skip
RELEASE_COUNTS = {"college_math": 2818, "gaokaobench_math": 508, "fresh_gaokao_math_2023": 30}


def native(shared: Path, task: str) -> Path:
    mirror = config.get_task(task).mirror
    assert mirror is not None
    return shared / mirror.folder / mirror.native


@pytest.mark.parametrize("task", sorted(NATIVE_COUNTS))
def test_native_counts(shared_data: Path, task: str) -> None:
    result = load(task, source="native", data_files=native(shared_data, task))
    assert len(result.problems) == NATIVE_COUNTS[task]
    assert len({p.id for p in result.problems}) == len(result.problems)


@pytest.mark.parametrize("task", sorted(RELEASE_COUNTS))
def test_release_form_counts(shared_data: Path, task: str) -> None:
    mirror = config.get_task(task).mirror
    assert mirror is not None and mirror.release is not None
    problems = load(task, source="mwpbench",
                    data_files=shared_data / mirror.folder / mirror.release).problems
    assert len(problems) == RELEASE_COUNTS[task]


def test_subsets(shared_data: Path) -> None:
    math = Counter(
        p.subset for p in load("math", source="native", data_files=shared_data / "math").problems
    )
    assert math == {
        "MATH.Algebra": 1187, "MATH.Intermediate_Algebra": 903, "MATH.Prealgebra": 871,
        "MATH.Precalculus": 546, "MATH.Number_Theory": 540, "MATH.Geometry": 479,
        "MATH.Counting_&_Probability": 474,
    }  # fmt: skip
    levels = Counter(
        p.level for p in load("math", source="native", data_files=shared_data / "math").problems
    )
    assert [levels[f"Level {i}"] for i in range(1, 6)] == [437, 894, 1131, 1214, 1324]
    college = Counter(
        p.subset
        for p in load(
            "college_math", data_files=shared_data / "college_math" / "college_math_test.jsonl"
        ).problems
    )
    assert college == {
        "college_math.algebra": 1000, "college_math.precalculus": 500, "college_math.calculus": 500,
        "college_math.differential_equation": 309, "college_math.linear_algebra": 260,
        "college_math.probability": 139, "college_math.vector_calculus": 110,
    }  # fmt: skip


def test_tal_and_gaokao_drops(shared_data: Path) -> None:
    tal = load("tal_scq", source="native", data_files=shared_data / "tal_scq")
    assert sum(n for r, n in tal.dropped.items() if "keyword" in r) == 2000 - 1472
    assert tal.dropped["answer is 'None of the above'"] == 6  # 9 in the file, 3 already filtered


def test_gaokaobench_native_ids_match_the_release_question_numbers(shared_data: Path) -> None:
    folder = shared_data / "gaokaobench_math"
    native_ids = {
        p.meta["original_id"]
        for p in load("gaokaobench_math", source="native", data_files=folder).problems
    }
    release = load(
        "gaokaobench_math", data_files=folder / "mwpbench_gaokao_bench_math_en.jsonl"
    ).problems
    numbers = {p.meta["question_number"] for p in release}
    assert len(numbers & native_ids) > 400  # the same items are named the same way


def test_local_files_match_the_pins(shared_data: Path) -> None:
    checked = 0
    for spec in config.load_tasks().values():
        assert spec.mirror is not None, spec.name
        folder, files = spec.mirror.folder, spec.mirror.native
        for f in spec.sources["native"].files.values():
            local = shared_data / folder / (f.basename if files == "." else files)
            verify(local, f)
            checked += 1
    assert checked == 15


def test_equation_cross_check(shared_data: Path) -> None:
    for task, folder, mismatches in (("math23k", "math23k", 0), ("ape210k", "ape210k", 2)):
        problems = load(task, source="native", data_files=shared_data / folder).problems
        checks = Counter(p.meta["equation_check"] for p in problems)
        assert checks["mismatch"] + checks["unparsed"] == mismatches, checks
