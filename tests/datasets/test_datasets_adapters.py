"""What each adapter does to its native format (made-up records in tests/fixtures)."""

from __future__ import annotations

from dataset_fixtures import RELEASE_FIXTURE, native_fixture

from mwpbench.datasets import load_task
from mwpbench.datasets.choices import choice_keyword, letters, parse_paren_options
from mwpbench.datasets.gaokaobench_math import split_options
from mwpbench.datasets.gsm8k import final_answer
from mwpbench.datasets.loader import load
from mwpbench.datasets.math import last_boxed


def by_id(task: str, source: str = "native") -> dict:
    data = native_fixture(task) if source == "native" else RELEASE_FIXTURE
    return {p.meta["original_id"]: p for p in load_task(task, source=source, data_files=data)}


def test_gsm8k_final_answer_commas_and_annotations() -> None:
    assert final_answer("a\n#### 1,450,000") == "1450000"
    assert final_answer("no answer line") is None
    problems = by_id("gsm8k")
    assert [problems[k].answer for k in ("0", "1", "2")] == ["19", "3600", "-5"]
    assert "<<" not in problems["0"].solution and problems["0"].solution.endswith("#### 19")


def test_math_last_boxed_subject_and_level() -> None:
    assert last_boxed(r"$\boxed{1}$ then $\boxed{\frac{a}{b}}$") == r"\frac{a}{b}"
    assert last_boxed(r"\boxed{\{0,\{1\}\}}") == r"\{0,\{1\}\}"
    assert last_boxed(r"so \boxed 5$.") == "5"
    assert last_boxed(r"\fbox{7}") == "7"
    assert last_boxed("nothing") is None
    problems = by_id("math")
    assert problems["1"].answer == "3"  # the last of two boxes
    assert problems["2"].subset == "MATH.Counting_&_Probability"
    assert problems["2"].level == "Level 3"
    assert problems["0"].solution


def test_tal_scq_option_text_filter_and_none_of_the_above() -> None:
    result = load("tal_scq", source="native", data_files=native_fixture("tal_scq"))
    problems = {p.meta["original_id"]: p for p in result.problems}
    assert sorted(problems) == ["1", "4"]
    assert problems["1"].answer == "$56$"  # $$56$$ display delimiters -> $56$
    assert problems["1"].meta["answer_letter"] == "B"
    assert problems["4"].solution is None  # "N/A" placeholder analysis
    assert result.dropped["answer is 'None of the above'"] == 1
    assert result.dropped["multiple-choice keyword 'which of the following'"] == 1


def test_math23k_answer_notations() -> None:
    problems = by_id("math23k")
    assert [problems[k].answer for k in ("11", "12", "13", "14")] == ["9", "2/3", "57/10", "25%"]
    assert {p.meta["equation_check"] for p in problems.values()} == {"ok"}
    assert problems["12"].language == "zh"


def test_ape210k_mixed_numbers_expressions_and_disagreements() -> None:
    problems = by_id("ape210k")
    assert problems["900001"].answer == "15/4"
    assert problems["900001"].meta["equation_check"] == "ok"  # 1(1/2)+2(1/4) = 15/4
    assert problems["900002"].answer == "24"
    assert problems["900002"].meta["ans_kind"] == "expression"
    assert problems["900003"].meta["equation_check"] == "ok"  # 80/80% = 100
    assert problems["900004"].meta["equation_check"] == "mismatch"  # reported, kept


def test_gaokaobench_options_letters_and_fill_in() -> None:
    result = load(
        "gaokaobench_math", source="native", data_files=native_fixture("gaokaobench_math")
    )
    problems = {p.meta["original_id"]: p for p in result.problems}
    mcq = problems["2010-2022_Math_I_MCQs.0"]
    assert mcq.answer == r"$\{2,3\}$"
    assert "\nA." not in mcq.question and mcq.question.endswith(r"$A \cap B=(\quad)$")
    assert problems["2010-2022_Math_II_MCQs.0"].answer == "3"
    assert problems["2010-2022_Math_I_Fill-in-the-Blank.0"].answer == "2"  # trailing \n gone
    assert problems["2010-2022_Math_I_Fill-in-the-Blank.0"].solution
    assert result.dropped == {"multiple-choice keyword '下列'": 1}


def test_split_options() -> None:
    assert split_options("Q\nA. 1\nB. 2\nC. 3\nD. 4\n") == (
        "Q",
        {"A": "1", "B": "2", "C": "3", "D": "4"},
    )
    assert split_options("no options here") is None


def test_agieval_gaokao_multi_letter_and_cloze() -> None:
    problems = by_id("agieval_gaokao_math")
    assert problems["gaokao-mathqa.0"].answer == "$4$"
    assert problems["gaokao-mathqa.1"].answer == "$2$, $-2$"  # label "A C"
    assert problems["gaokao-mathqa.1"].meta["answer_letters"] == "AC"
    assert problems["gaokao-mathcloze.1"].answer == "$2$;$4$"
    assert "gaokao-mathqa.2" not in problems  # 下列: multiple-choice filter


def test_agieval_sat_filter_looks_at_the_question_not_the_passage() -> None:
    problems = by_id("agieval_sat_math")
    assert sorted(problems) == ["sat-math.0", "sat-math.1"]
    assert problems["sat-math.0"].answer == "4"
    assert problems["sat-math.1"].question.startswith("A shop sells pens")


def test_agieval_math_level_and_solution() -> None:
    problems = by_id("agieval_math")
    assert problems["math.1"].answer == "(-1,1)"
    assert problems["math.1"].level == "Level 3"
    assert "math.2" not in problems


def test_release_subsets_and_ids() -> None:
    problems = by_id("math", source="mwpbench")
    assert {p.subset for p in problems.values()} == {"MATH.Algebra", "MATH.Counting_&_Probability"}
    p = problems["MATH/test/algebra/1.json"]
    assert p.id == "math/mwpbench/MATH/test/algebra/1.json"
    assert p.meta["data_topic"] == "MATH.Algebra" and p.meta["license"] == "MIT"


def test_college_math_duplicate_question_numbers_get_distinct_ids() -> None:
    problems = load_task("college_math", source="native", data_files=native_fixture("college_math"))
    assert len({p.id for p in problems}) == 3
    assert {p.subset for p in problems} == {"college_math.algebra", "college_math.calculus"}


def test_choice_helpers() -> None:
    assert choice_keyword("Which is larger?", "en") == "which is"
    assert choice_keyword("What is 2+2?", "en") is None
    assert choice_keyword("下列说法正确的是", "zh") == "下列"
    assert letters("A B D") == ["A", "B", "D"] and letters("AD") == ["A", "D"]
    assert parse_paren_options(["(A)$2$", "(B) 4 "]) == {"A": "$2$", "B": "4"}
