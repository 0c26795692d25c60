"""`mwpbench tasks`, `tasks show`, `check-data` through click's CliRunner."""

from __future__ import annotations

from click.testing import CliRunner
from dataset_fixtures import FIXTURES, RELEASE_FIXTURE, native_fixture

from mwpbench.cli import cli, main


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_tasks_table() -> None:
    result = run("tasks")
    assert result.exit_code == 0
    header, rule, *rows = result.output.splitlines()
    assert header.split()[:4] == ["task", "level", "language", "sources"]
    assert [r.split()[0] for r in rows][:3] == ["gsm8k", "math", "college_math"]
    assert len(rows) == 11
    assert "en (native: zh)" in result.output


def test_tasks_show_native() -> None:
    result = run("tasks", "show", "math23k", "-n", "2", "--source", "native",
                 "--data-file", str(native_fixture("math23k")))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "[math23k/native/11]" in result.output and "A: 2/3" in result.output
    assert "git blob 34decc852c6fa77c05170bf078c56fd5affdf606" in result.output


def test_tasks_show_release_definition_only() -> None:
    result = run("tasks", "show", "gsm8k", "-n", "0")
    assert result.exit_code == 0 and "full_test.json" in result.output


def test_unknown_task_exit_code(capsys) -> None:
    assert main(["tasks", "show", "gsm8kk"]) == 2
    assert "Did you mean 'gsm8k'" in capsys.readouterr().err


def test_check_data_on_fixtures() -> None:
    result = run("check-data", "gsm8k", "math", "--source", "native", "-j", "1",
                 "--data-file", f"gsm8k={native_fixture('gsm8k')}",
                 "--data-file", f"math={native_fixture('math')}")  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    gsm = next(line for line in lines if line.startswith("gsm8k "))
    assert "3/3 (100.0%)" in gsm and gsm.rstrip().endswith("ok")
    assert any("MATH.Counting_&_Probability" in line for line in lines)


def test_check_data_release_and_drops() -> None:
    result = run("check-data", "tal_scq", "--source", "native", "-j", "1",
                 "--data-file", str(native_fixture("tal_scq")))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "answer is 'None of the above'" in result.output
    result = run("check-data", "gsm8k", "math", "-j", "1", "--data-file", str(RELEASE_FIXTURE))
    assert result.exit_code == 0, result.output


def test_check_data_reports_equation_disagreements() -> None:
    result = run("check-data", "ape210k", "--source", "native", "-j", "1",
                 "--data-file", str(FIXTURES / "ape210k"))  # fmt: skip
    assert "equation" in result.output and "900004" in result.output


def test_check_data_load_failure_exits_1(capsys) -> None:
    code = main(
        [
            "check-data",
            "gsm8k",
            "--data-file",
            str(FIXTURES / "college_math" / "college-math-test.jsonl"),
        ]
    )
    captured = capsys.readouterr()
    assert code == 1
    assert "no records of task 'gsm8k'" in captured.out
