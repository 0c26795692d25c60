"""The grading entry points around the case tables: dispatch, grade_many, FILE mode, CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import mwpbench
from mwpbench.cli import cli, main
from mwpbench.errors import ConfigError, UnknownNameError
from mwpbench.grading.batch import grade_file


def test_grader_dispatch_official_accepts_what_strict_rejects() -> None:
    completion = r"The answer is $\boxed{x+10}$."
    assert mwpbench.grade(completion, "x+1").correct is False
    official = mwpbench.grade(completion, "x+1", grader="official")
    assert official.correct is True
    assert official.method == "official"


def test_unknown_grader_names_the_close_match() -> None:
    with pytest.raises(UnknownNameError, match="strict"):
        mwpbench.grade("1", "1", grader="stirct")


@pytest.mark.parametrize("bad", [0, -1, float("nan"), "5"])
def test_bad_timeout_is_a_config_error(bad: object) -> None:
    with pytest.raises(ConfigError, match="timeout"):
        mwpbench.grade("1", "1", timeout=bad)  # type: ignore[arg-type]


def test_non_text_inputs_are_verdicts_not_exceptions() -> None:
    assert mwpbench.is_equivalent(None, "1") is False  # type: ignore[arg-type]
    assert mwpbench.grade(None, "1").status == "no_answer"  # type: ignore[arg-type]
    assert mwpbench.grade("1", "").status == "parse_error"


def test_truncated_without_commitment_is_no_answer_but_a_committed_one_counts() -> None:
    cut = "We have 12 apples and then 7 more, so"
    assert mwpbench.grade(cut, "19", finish_reason="length").status == "no_answer"
    assert mwpbench.grade(cut, "7").correct is True  # not truncated: last number
    done = r"So the answer is $\boxed{19}$. Let me double-check: 12 + 7 ="
    assert mwpbench.grade(done, "19", finish_reason="length").correct is True


def test_grade_many_keeps_input_order_across_fast_and_symbolic_items() -> None:
    items = []
    expected = []
    for i in range(60):
        if i % 3 == 0:  # fast path: same number
            items.append({"completion": f"The answer is {i}.", "gold": str(i)})
            expected.append(True)
        elif i % 3 == 1:  # needs SymPy: an expression against its expanded form
            items.append({"completion": rf"\boxed{{(x+{i})^2}}", "gold": f"x^2+{2 * i}x+{i * i}"})
            expected.append(True)
        else:  # needs SymPy, and is wrong
            items.append({"completion": rf"\boxed{{(x+{i})^2}}", "gold": f"x^2+{i}x+{i * i}"})
            expected.append(False)
    verdicts = list(mwpbench.grade_many(iter(items), jobs=2))
    assert [v.correct for v in verdicts] == expected


def test_grade_many_streams_long_runs_of_fast_items_between_symbolic_ones() -> None:
    # hundreds of fast items in a row, then symbolic ones, then fast again: verdicts come
    # out in input order, and the first ones before the input is read to its end
    fast = [{"completion": f"#### {i}", "gold": str(i if i % 7 else i + 1)} for i in range(300)]
    slow = [{"completion": rf"\boxed{{(x+{i})^2}}", "gold": f"x^2+{2 * i}x+{i * i}"} for i in range(5)]
    items = fast + slow + fast[:100] + slow[:1]
    read = 0

    def source():
        nonlocal read
        for item in items:
            read += 1
            yield item

    stream = mwpbench.grade_many(source(), jobs=2)
    first = next(stream)
    assert first.correct is False  # 0 against 1
    assert read < len(items)  # streamed, not read whole before the first verdict
    verdicts = [first, *stream]
    expected = [i % 7 != 0 for i in range(300)] + [True] * 5 + [i % 7 != 0 for i in range(100)]
    assert [v.correct for v in verdicts] == [*expected, True]
    assert [v.method for v in verdicts[300:305]] == ["symbolic"] * 5


def test_grade_many_reraises_the_callers_error_after_the_items_before_it() -> None:
    def source():
        yield {"completion": r"\boxed{(x+1)^2}", "gold": "x^2+2x+1"}
        yield {"completion": "#### 4", "gold": "4"}
        raise OSError("disk gone")

    got = []
    with pytest.raises(OSError, match="disk gone"):
        for verdict in mwpbench.grade_many(source(), jobs=2):
            got.append(verdict.correct)
    assert got == [True, True]


def test_grade_many_official_and_choices() -> None:
    items = [
        {"completion": "Choice B is correct.", "gold": "4", "choices": {"A": "2", "B": "4"}},
        {"completion": "Choice A is correct.", "gold": "4", "choices": {"A": "2", "B": "4"}},
    ]
    assert [v.correct for v in mwpbench.grade_many(items)] == [True, False]
    official = list(mwpbench.grade_many([{"completion": r"\boxed{x+10}", "gold": "x+1"}], grader="official"))
    assert official[0].correct is True


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_grade_file_reports_bad_lines_and_writes_verdicts(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "in.jsonl",
        [
            json.dumps({"id": "half", "completion": r"so $\boxed{\dfrac{1}{2}}$", "gold": "0.5"}),
            "{not json",
            json.dumps({"completion": "The answer is 18."}),
            "",
            json.dumps({"completion": "The answer is 18.", "gold": 18}),
            json.dumps([1, 2]),
            json.dumps({"id": "sub", "completion": r"\boxed{x+10}", "gold": "x+1"}),
        ],
    )
    out = tmp_path / "out.jsonl"
    summary = grade_file(src, out, jobs=1)
    assert [n for n, _ in summary.skipped] == [2, 3, 6]
    assert "malformed JSON" in summary.skipped[0][1]
    assert "'gold'" in summary.skipped[1][1]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == ["half", "line5", "sub"]
    assert [r["correct"] for r in rows] == [True, True, False]
    assert [r["official_correct"] for r in rows] == [True, True, True]
    assert (summary.total, summary.correct, summary.official_correct) == (3, 2, 3)
    assert not (tmp_path / "out.jsonl.tmp").exists()


def test_cli_grade_pair_prints_verdict_rule_and_method() -> None:
    result = CliRunner().invoke(
        cli, ["grade", "--pred", r"The answer is $x = \pm 2$.", "--gold", "2, -2"]
    )
    assert result.exit_code == 0, result.output
    assert "verdict:   correct (correct)" in result.output
    assert "rule:      answer_is" in result.output
    assert "method:    set" in result.output


def test_cli_grade_file_mode_lists_skipped_lines(tmp_path: Path) -> None:
    src = _write(
        tmp_path / "c.jsonl",
        [json.dumps({"completion": "The answer is 7.", "gold": "7"}), "oops"],
    )
    result = CliRunner().invoke(cli, ["grade", str(src)])
    assert result.exit_code == 0, result.output
    assert f"{src}:2: skipped: malformed JSON" in result.output
    assert "strict accuracy:   1.0000 (1/1)" in result.output
    assert (tmp_path / "c.verdicts.jsonl").exists()


def test_cli_usage_and_missing_file_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "--pred", "1"]) == 2
    assert main(["grade", str(tmp_path / "missing.jsonl")]) == 1
    assert "cannot read" in capsys.readouterr().err
