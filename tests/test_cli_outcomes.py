"""Honest outcomes (issue 12.1): a command whose result is not whole says what is missing and
exits 3; 0/0 is n/a, never 0.0. Through the console script where the exit code matters."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from _runs import write_release
from click.testing import CliRunner

from mwpbench.cli import cli, main
from mwpbench.report import metrics_table

EXIT_INCOMPLETE = 3


def mwpbench(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The installed console script (falling back to `python -m mwpbench`)."""
    exe = shutil.which("mwpbench")
    argv = [exe] if exe else [sys.executable, "-m", "mwpbench"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run([*argv, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=240)  # fmt: skip


def predictions(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


GSM8K_IDS = ["gsm8k/mwpbench/gsm8k/1", "gsm8k/mwpbench/gsm8k/2", "gsm8k/mwpbench/gsm8k/3"]


def test_replay_with_wrong_ids_exits_3_shows_na_and_the_ids_then_resumes_from_a_new_file(
    tmp_path: Path,
) -> None:
    release = write_release(tmp_path / "release.jsonl")
    # ids written as plain numbers: a common mistake (the problem ids are task/source/id)
    wrong = predictions(tmp_path / "wrong.jsonl",
                        [{"id": str(i), "completion": "The answer is 5."} for i in (1, 2, 3)])  # fmt: skip
    args = ["eval", "--model", "m", "--tasks", "gsm8k", "--data-file", str(release),
            "--output", "out", "-q", "-j", "1"]  # fmt: skip
    done = mwpbench(*args, "--predictions", str(wrong), cwd=tmp_path)
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    out, err = done.stdout, done.stderr
    gsm8k_row = next(line for line in out.splitlines() if line.startswith("gsm8k"))
    assert "n/a" in gsm8k_row and "3/3" in gsm8k_row and "0.0 ±" not in gsm8k_row
    assert "macro" in out and "0.0 ±0.0" not in out
    assert "3 of 3 samples have no completion" in err
    assert "first missing problem ids: " + ", ".join(GSM8K_IDS) in err
    assert "ids look like: '1', '2', '3'" in err
    assert "not mwpbench problem ids" in err and "--resume" in err
    [run_dir] = (tmp_path / "out").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "incomplete"

    # the user fixes the file under another name and resumes: the same run, now whole
    fixed = predictions(tmp_path / "fixed.jsonl",
                        [{"id": i, "completion": "The answer is 5."} for i in GSM8K_IDS])  # fmt: skip
    done = mwpbench(*args, "--predictions", str(fixed), "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == [run_dir.name]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["status"] == "complete"
    assert run["metrics"]["strict"]["datasets"]["gsm8k"]["accuracy"] == pytest.approx(1 / 3)
    assert run["model"]["backend_args"]["paths"] == [str(fixed)]  # what was read last


def test_replay_ids_of_the_other_source_get_that_advice(tmp_path: Path, capsys) -> None:
    release = write_release(tmp_path / "release.jsonl")
    native = predictions(tmp_path / "p.jsonl", [
        {"id": f"gsm8k/native/{i}", "completion": "5"} for i in range(3)])  # fmt: skip
    code = main(["eval", "--model", "m", "--predictions", str(native), "--tasks", "gsm8k",
                 "--data-file", str(release), "--output", str(tmp_path / "o"), "-q", "-j", "1"])  # fmt: skip
    assert code == EXIT_INCOMPLETE
    err = capsys.readouterr().err
    assert "ids are for --source native, this run reads --source mwpbench" in err


def test_a_failing_backend_gets_retry_advice_and_partial_accuracies_are_flagged(
    tmp_path: Path, capsys
) -> None:
    release = write_release(tmp_path / "release.jsonl")
    code = main([
        "eval", "--model", "m", "--backend", "mock", "--backend-arg",
        "fail_ids=[gsm8k/mwpbench/gsm8k/2]", "--tasks", "gsm8k,math", "--data-file",
        str(release), "--output", str(tmp_path / "o"), "-q", "-j", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == EXIT_INCOMPLETE, err
    gsm8k_row = next(line for line in out.splitlines() if line.startswith("gsm8k"))
    assert "66.7 ±27.2 !" in gsm8k_row and "1/3" in gsm8k_row
    assert "lower bounds" in out
    assert "incomplete: 1 of 7 samples have no completion" in err
    assert "first error:" in err and "--resume to generate them again" in err


def test_metrics_table_without_samples_reads_the_status_counts() -> None:
    """A run record alone (no samples at hand): errors per dataset from status_counts."""
    block = {"accuracy": 0.0, "n": 4, "correct": 0, "stderr": 0.0, "subsets": {}}
    grader = {"datasets": {"gsm8k": block}, "micro": block, "macro": {**block, "n": 1}}
    run = {"metrics": {"strict": grader, "official": grader,
                       "status_counts": {"gsm8k": {"error": 4}}}}  # fmt: skip
    text = metrics_table(run)
    assert "n/a" in text and "4/4" in text and "0.0 ±0.0" not in text


def test_grade_file_that_grades_nothing_exits_3_and_names_the_fields(tmp_path: Path) -> None:
    src = tmp_path / "samples_gsm8k.jsonl"
    src.write_text(json.dumps({"doc_id": 0, "doc": {"question": "1+1?"}, "target": "2",
                               "resps": [["It is 2."]], "filtered_resps": ["2"]}) + "\n")  # fmt: skip
    done = mwpbench("grade", str(src), cwd=tmp_path)
    assert done.returncode == EXIT_INCOMPLETE, done.stderr
    assert "nothing graded" in done.stderr and "'completion'" in done.stderr
    assert "looks like lm-eval output: add --preset lm-eval" in done.stderr
    assert "0.0000" not in done.stdout
    done = mwpbench("grade", str(src), "--preset", "lm-eval", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "strict accuracy:   1.0000 (1/1)" in done.stdout


def test_compare_without_paired_samples_says_so_and_exits_3(tmp_path: Path) -> None:
    release = write_release(tmp_path / "release.jsonl")
    for name, tasks in (("a", "gsm8k"), ("b", "math")):
        r = CliRunner().invoke(cli, ["eval", "--model", "m", "--backend", "mock", "--tasks", tasks,
                                     "--data-file", str(release), "--output", str(tmp_path),
                                     "--run-id", name, "-q", "-j", "1"])  # fmt: skip
        assert r.exit_code == 0, r.output
    done = mwpbench("compare", str(tmp_path / "a"), str(tmp_path / "b"), cwd=tmp_path)
    assert done.returncode == EXIT_INCOMPLETE
    assert "no paired samples" in done.stderr
    assert "gsm8k/mwpbench/gsm8k/1" in done.stderr and "math/mwpbench/MATH/alg/1" in done.stderr
    assert "p (McNemar)" not in done.stdout


def test_show_on_an_interrupted_run_says_how_much_is_stored(tmp_path: Path) -> None:
    from _runs import ScriptedBackend

    import mwpbench as mb
    from mwpbench.errors import RunInterrupted

    release = write_release(tmp_path / "release.jsonl")
    with pytest.raises(RunInterrupted):
        mb.evaluate("m", backend=ScriptedBackend({}, interrupt_after=2), data_files=str(release),
                    output=tmp_path / "o", run_id="r", progress=False, jobs=1)  # fmt: skip
    done = mwpbench("show", str(tmp_path / "o" / "r"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "stored:   2 of 7 samples" in done.stdout and "--resume" in done.stdout


def test_zero_over_zero_is_na_in_the_tables() -> None:
    from mwpbench.metrics import compare_records
    from mwpbench.report import comparison_table, share

    assert share(0, 0) == "n/a"
    cmp = compare_records([], [])
    cmp["run_a"], cmp["run_b"] = "a", "b"
    row = next(line for line in comparison_table(cmp).splitlines() if line.startswith("all"))
    assert row.split()[-6:] == ["n/a", "n/a", "n/a", "0", "0", "n/a"]


def test_compare_leaves_out_pairs_without_a_completion(tmp_path: Path, capsys) -> None:
    """A run's missing answers are not its wrong answers: such pairs are counted apart."""
    release = write_release(tmp_path / "release.jsonl")
    common = ["--tasks", "gsm8k", "--data-file", str(release), "--output", str(tmp_path), "-q",
              "-j", "1"]  # fmt: skip
    assert main(["eval", "--model", "m", "--backend", "mock", "--run-id", "a", *common]) == 0
    assert main(["eval", "--model", "m", "--backend", "mock", "--run-id", "b", "--backend-arg",
                 "fail_ids=[gsm8k/mwpbench/gsm8k/1, gsm8k/mwpbench/gsm8k/2]", *common]) == 3  # fmt: skip
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("gsm8k"))
    assert row.split()[:5] == ["gsm8k", "1", "100.0", "100.0", "+0.0"]
    assert "no completion (failed or missing generations): 0 in A, 2 in B" in out
    assert main(["eval", "--model", "m", "--backend", "mock", "--run-id", "c", "--backend-arg",
                 "fail_ids=[gsm8k/mwpbench/gsm8k/1, gsm8k/mwpbench/gsm8k/2, "
                 "gsm8k/mwpbench/gsm8k/3]", *common]) == 3  # fmt: skip
    capsys.readouterr()
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "c")]) == 3
    assert "have no completion in one of them (0 in A, 3 in B" in capsys.readouterr().err
