"""Run directories under damage: a deleted or broken run.json, corrupt sample lines, leftover
temp files, a full disk, kills while grading, merging and rewriting (issue 14 items 2, 7, 8).

What must stay true: no stored generation is ever thrown away, a resumed run ends
byte-identical to an uninterrupted one, and every failure is one line that says what to do.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _runs import (
    GOLDEN_COMPLETIONS,
    ScriptedBackend,
    fill,
    full_table,
    release_rows,
    tiny_disk,
    write_predictions,
    write_release,
)
from _runs import evaluate_golden as evaluate

import mwpbench
from mwpbench.cli import main
from mwpbench.errors import ConfigError, MwpbenchError, RunInterrupted
from mwpbench.runs import merge_runs


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "release.jsonl")




def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


# --- never discard stored generations (item 2) -------------------------------------------


@pytest.mark.parametrize("damage", ["deleted", "garbage", "a list", "cut short", "a folder"])
def test_resume_rebuilds_a_lost_run_json_from_the_options(release, tmp_path, damage):
    whole = evaluate(release, tmp_path / "ref", run_id="r")
    first = evaluate(release, tmp_path, run_id="r")
    run_json = first.path / "run.json"
    text = run_json.read_text()
    run_json.unlink()
    if damage == "garbage":
        run_json.write_bytes(b"\xff\xfe garbage")
    elif damage == "a list":
        run_json.write_text("[]")
    elif damage == "cut short":
        run_json.write_text(text[: len(text) // 2])
    elif damage == "a folder":
        run_json.mkdir()  # refused (not replaced): a folder is not ours to remove
    samples = (first.path / "samples.jsonl").read_bytes()
    if damage == "a folder":
        with pytest.raises(MwpbenchError):
            evaluate(release, tmp_path, ScriptedBackend({}, forbid=True), run_id="r", resume=True)
        assert (first.path / "samples.jsonl").read_bytes() == samples  # untouched
        return
    again = evaluate(release, tmp_path, ScriptedBackend({}, forbid=True), run_id="r", resume=True)
    assert again.status == "complete"
    assert again.run["counts"]["reused"] == 7 and again.run["counts"]["generated"] == 0
    assert (first.path / "samples.jsonl").read_bytes() == samples == (
        whole.path / "samples.jsonl").read_bytes()  # fmt: skip
    assert again.metrics == whole.metrics


def test_resume_of_a_half_run_without_run_json_generates_only_the_rest(release, tmp_path):
    table = full_table()
    with pytest.raises(RunInterrupted):
        evaluate(release, tmp_path, ScriptedBackend(table, interrupt_after=4), run_id="r")
    (tmp_path / "r" / "run.json").unlink()
    backend = ScriptedBackend(table)
    again = evaluate(release, tmp_path, backend, run_id="r", resume=True)
    assert len(backend.calls) == 3 and again.run["counts"]["reused"] == 4
    whole = evaluate(release, tmp_path / "ref", run_id="r")
    assert (tmp_path / "r" / "samples.jsonl").read_bytes() == (
        whole.path / "samples.jsonl").read_bytes()  # fmt: skip


def test_resume_never_drops_samples_of_other_options(release, tmp_path):
    first = evaluate(release, tmp_path, run_id="r")
    (first.path / "run.json").unlink()
    before = (first.path / "samples.jsonl").read_bytes()
    with pytest.raises(ConfigError, match="holds 7 sample.*other options"):
        evaluate(release, tmp_path, ScriptedBackend({}, forbid=True), run_id="r", resume=True,
                 max_tokens=99)  # fmt: skip
    assert (first.path / "samples.jsonl").read_bytes() == before
    assert not (first.path / "run.json").exists()


def test_resume_without_run_id_names_a_run_whose_run_json_is_gone(release, tmp_path, capsys):
    argv = ["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
            "--output", str(tmp_path / "out"), "-q", "-j", "1"]  # fmt: skip
    assert main(argv) == 0
    [run_dir] = list((tmp_path / "out").iterdir())
    (run_dir / "run.json").unlink()
    capsys.readouterr()
    assert main([*argv, "--resume"]) == 2
    err = capsys.readouterr().err
    assert run_dir.name in err and "--resume --run-id" in err and "no earlier run" not in err
    assert list((tmp_path / "out").iterdir()) == [run_dir]  # no new run started
    assert main([*argv, "--resume", "--run-id", run_dir.name]) == 0
    assert json.loads((run_dir / "run.json").read_text())["counts"]["generated"] == 0


# --- crash-safe edges (item 7) -----------------------------------------------------------


def test_leftover_temp_files_of_a_killed_rewrite_are_removed_on_resume(release, tmp_path):
    first = evaluate(release, tmp_path, ScriptedBackend(GOLDEN_COMPLETIONS), run_id="r")
    stale = [first.path / ".samples.jsonl.99999.tmp", first.path / ".run.json.12345.tmp",
             first.path / ".write-test-4242"]  # fmt: skip
    for path in stale:
        path.write_text("half")
    keep = first.path / "notes.tmp"  # not ours: left alone
    keep.write_text("mine")
    evaluate(release, tmp_path, run_id="r", resume=True)
    assert not any(p.exists() for p in stale) and keep.read_text() == "mine"


def test_resume_of_a_complete_run_leaves_it_as_it_is(release, tmp_path):
    first = evaluate(release, tmp_path, run_id="r")
    before = snapshot(first.path)
    again = evaluate(release, tmp_path, ScriptedBackend({}, forbid=True), run_id="r", resume=True)
    assert again.status == "complete" and snapshot(first.path) == before
    assert again.samples == first.samples and again.metrics == first.metrics


def test_regrade_keeps_how_the_samples_came_to_be(release, tmp_path):
    evaluate(release, tmp_path, ScriptedBackend(GOLDEN_COMPLETIONS), run_id="r")
    resumed = evaluate(release, tmp_path, run_id="r", resume=True)
    assert (resumed.run["counts"]["reused"], resumed.run["counts"]["generated"]) == (6, 1)
    regraded = mwpbench.regrade(resumed.path)
    assert (regraded.run["counts"]["reused"], regraded.run["counts"]["generated"]) == (6, 1)
    on_disk = json.loads((resumed.path / "run.json").read_text())["counts"]
    assert (on_disk["reused"], on_disk["generated"]) == (6, 1)


def test_merge_sums_how_the_shards_came_to_be(release, tmp_path):
    shards = [evaluate(release, tmp_path / "s", num_shards=2, shard_index=i) for i in (0, 1)]
    merged = merge_runs([s.path for s in shards], tmp_path / "m", run_id="all")
    assert merged.run["counts"]["generated"] == 7 and merged.run["counts"]["reused"] == 0


def test_merge_refuses_ids_that_leave_the_output_and_says_no_resume(release, tmp_path):
    shard = evaluate(release, tmp_path / "s", num_shards=2, shard_index=0)
    for bad in ("../x", "/abs", "..", ".hidden"):
        with pytest.raises(ConfigError, match="is refused"):
            merge_runs([shard.path], tmp_path / "m", run_id=bad)
    assert not (tmp_path / "m").exists() and not (tmp_path / "x").exists()
    merge_runs([shard.path], tmp_path / "m", run_id="one")
    with pytest.raises(ConfigError, match="already exists") as info:
        merge_runs([shard.path], tmp_path / "m", run_id="one")
    assert "--resume" not in str(info.value)


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


_SLOW_RENAME = """
import os, sys, time
real = os.rename
def slow(a, b):
    open(os.environ["MWPBENCH_TEST_READY"], "w").close()
    time.sleep(60)
    real(a, b)
os.rename = slow
from mwpbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_killed_merge_leaves_nothing_in_the_way(release, tmp_path):
    shards = [evaluate(release, tmp_path / "s", num_shards=2, shard_index=i) for i in (0, 1)]
    out = tmp_path / "merged"
    ready = tmp_path / "ready"
    argv = ["merge", str(shards[0].path), str(shards[1].path), "--output", str(out),
            "--run-id", "all"]  # fmt: skip
    proc = subprocess.Popen(_python(_SLOW_RENAME, *argv), env={**os.environ,
                            "MWPBENCH_TEST_READY": str(ready)})  # fmt: skip
    deadline = time.monotonic() + 60
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert ready.exists(), "the merge never got to its rename"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert not (out / "all").exists()  # nothing half-made where the run goes
    done = subprocess.run([sys.executable, "-m", "mwpbench.cli", *argv], capture_output=True,
                          text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "--resume" not in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["all"]  # the killed one's scratch is gone
    whole = evaluate(release, tmp_path / "whole")
    assert (out / "all" / "samples.jsonl").read_bytes() == (whole.path / "samples.jsonl").read_bytes()


_SLOW_REPLACE = """
import os, sys, time
real = os.replace
def slow(a, b):
    if str(b).endswith("samples.jsonl"):
        open(os.environ["MWPBENCH_TEST_READY"], "w").close()
        time.sleep(60)
    real(a, b)
os.replace = slow
from mwpbench.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_kill_during_the_final_rewrite_then_resume(tmp_path):
    release = write_release(tmp_path / "release.jsonl", release_rows(40))
    argv = ["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
            "--output", str(tmp_path / "out"), "--run-id", "r", "-q", "-j", "1"]  # fmt: skip
    ready = tmp_path / "ready"
    proc = subprocess.Popen(_python(_SLOW_REPLACE, *argv),
                            env={**os.environ, "MWPBENCH_TEST_READY": str(ready)})  # fmt: skip
    deadline = time.monotonic() + 120
    while not ready.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert ready.exists()
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    run_dir = tmp_path / "out" / "r"
    assert [p.name for p in run_dir.glob(".samples.jsonl.*.tmp")]  # what a kill leaves
    assert main([*argv, "--resume"]) == 0
    assert not list(run_dir.glob(".*.tmp")) and not (run_dir / ".lock").exists()
    assert main(["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                 "--output", str(tmp_path / "ref"), "--run-id", "r", "-q", "-j", "1"]) == 0
    assert (run_dir / "samples.jsonl").read_bytes() == (
        tmp_path / "ref" / "r" / "samples.jsonl").read_bytes()  # fmt: skip


@pytest.mark.slow
def test_a_kill_while_grading_keeps_the_verdicts_given(tmp_path):
    """Symbolic identities ((\\sin^2 x+\\cos^2 x)^k / 2 against \\frac12, checked at sample
    points: milliseconds each) keep one grading worker busy for seconds; the run is killed
    as soon as the first verdicts are stored."""
    rows = release_rows(600)
    release = write_release(tmp_path / "release.jsonl", rows)
    preds = write_predictions(tmp_path / "preds.jsonl", {
        f"gsm8k/mwpbench/gsm8k/{i}": (
            f"So it is \\boxed{{\\frac{{(\\sin^{{2}} x+\\cos^{{2}} x)^{{{1 + i % 5}}}}}{{2}}}}", "stop")
        for i in range(1, len(rows) + 1)})  # fmt: skip
    common = ["eval", "--model", "m", "--predictions", str(preds), "--data-file", str(release),
              "--run-id", "r", "-q", "-j", "1"]  # fmt: skip
    argv = [*common, "--output", str(tmp_path / "out")]
    samples = tmp_path / "out" / "r" / "samples.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "mwpbench.cli", *argv])
    deadline = time.monotonic() + 240
    graded = 0
    while time.monotonic() < deadline and proc.poll() is None and not graded:
        if samples.exists():
            graded = sum(1 for line in samples.read_text().splitlines()
                         if line.endswith("}") and '"status":null' not in line)  # fmt: skip
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL, "the run finished before it could be killed"
    lines = [json.loads(x) for x in samples.read_text().splitlines() if x.endswith("}")]
    stored = {x["key"]: x for x in lines}
    assert len(stored) == 600  # every generation kept
    done_before = sum(1 for x in stored.values() if x["status"] is not None)
    assert 0 < done_before < 600  # killed in the middle of grading, with verdicts stored
    assert main([*argv, "--resume"]) == 0
    run_json = json.loads((tmp_path / "out" / "r" / "run.json").read_text())
    assert run_json["status"] == "complete" and run_json["counts"]["generated"] == 0
    assert main([*common, "--output", str(tmp_path / "ref")]) == 0
    assert samples.read_bytes() == (tmp_path / "ref" / "r" / "samples.jsonl").read_bytes()


# --- corrupt input is a message (item 8) --------------------------------------------------


def _break_samples(run_dir: Path, how: str) -> int:
    """Damage samples.jsonl; returns the line number at fault (0: the file)."""
    path = run_dir / "samples.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    record = json.loads(lines[2])
    if how == "folder":
        path.unlink()
        path.mkdir()
        return 0
    if how == "non-utf8":
        lines[2] = lines[2].replace(b'"gsm8k"', b'"gsm\xff8k"', 1)
    elif how == "no task":
        del record["task"]
        lines[2] = (json.dumps(record) + "\n").encode()
    elif how == "list key":
        record["key"] = [record["key"]]
        lines[2] = (json.dumps(record) + "\n").encode()
    elif how == "integer id":
        record["id"] = 12
        lines[2] = (json.dumps(record) + "\n").encode()
    elif how == "string verdict":
        record["correct"] = "yes"
        lines[2] = (json.dumps(record) + "\n").encode()
    path.write_bytes(b"".join(lines))
    return 3


def _break_run_json(run_dir: Path, how: str) -> None:
    path = run_dir / "run.json"
    data = json.loads(path.read_text())
    if how == "a list":
        path.write_text("[]")
    elif how == "string metrics":
        data["metrics"] = "0.5"
        path.write_text(json.dumps(data))
    elif how == "string accuracy":
        data["metrics"]["strict"]["micro"]["accuracy"] = "50%"
        path.write_text(json.dumps(data))
    elif how == "tasks as a dict":
        data["tasks"] = {"gsm8k": 3}
        path.write_text(json.dumps(data))
    elif how == "a missing dataset":
        del data["metrics"]["official"]["datasets"]["math"]
        path.write_text(json.dumps(data))
    elif how == "non-utf8":
        path.write_bytes(path.read_bytes().replace(b'"status"', b'"st\xe9tus"', 1))
    elif how == "a folder":
        path.unlink()
        path.mkdir()


SAMPLE_DAMAGE = ["folder", "non-utf8", "no task", "list key", "integer id", "string verdict"]
RUN_DAMAGE = ["a list", "string metrics", "string accuracy", "tasks as a dict",
              "a missing dataset", "non-utf8", "a folder"]  # fmt: skip


def _commands(release: Path, run_dir: Path) -> dict[str, list[str]]:
    return {
        "show": ["show", str(run_dir), "--subsets"],
        "regrade": ["regrade", str(run_dir), "-q", "-j", "1"],
        "resume": ["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                   "--tasks", "gsm8k,math", "--output", str(run_dir.parent), "--run-id",
                   run_dir.name, "--resume", "-q", "-j", "1"],
    }  # fmt: skip


@pytest.mark.parametrize("how", SAMPLE_DAMAGE)
def test_a_damaged_samples_file_is_one_line_naming_file_and_line(release, tmp_path, capsys,
                                                                 how):  # fmt: skip
    first = evaluate(release, tmp_path, backend="mock", run_id="r")
    line = _break_samples(first.path, how)
    for name, argv in _commands(release, first.path).items():
        capsys.readouterr()
        code = main(argv)
        err = capsys.readouterr().err
        assert "Traceback" not in err, (name, err)
        assert code == 1 and err.count("\n") == 1, (name, err)  # show counts stored samples too
        where = "samples.jsonl" + (f":{line}:" if line else " is a folder")
        assert where in err, (name, err)


@pytest.mark.parametrize("how", RUN_DAMAGE)
def test_a_damaged_run_json_is_one_line_naming_the_file(release, tmp_path, capsys, how):
    first = evaluate(release, tmp_path, backend="mock", run_id="r")
    samples = (first.path / "samples.jsonl").read_bytes()
    _break_run_json(first.path, how)
    hint = "is a folder, not a file; move it away" if how == "a folder" else "--resume --run-id r"
    for name in ("show", "regrade"):
        capsys.readouterr()
        code = main(_commands(release, first.path)[name])
        err = capsys.readouterr().err
        assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, (name, err)
        assert "run.json" in err and hint in err, (name, err)
    capsys.readouterr()
    code = main(_commands(release, first.path)["resume"])  # rebuilt from the options
    if how == "a folder":  # not ours to remove
        assert code == 1 and "run.json is a folder" in capsys.readouterr().err
        return
    assert code == 0
    assert (first.path / "samples.jsonl").read_bytes() == samples
    assert json.loads((first.path / "run.json").read_text())["counts"]["generated"] == 0


# --- a full disk is one line with the right hint (item 8) ---------------------------------


@pytest.mark.slow
def test_a_full_disk_in_every_command(tmp_path, capsys):
    release = write_release(tmp_path / "release.jsonl", release_rows(60, gold="7"))
    with tiny_disk(tmp_path / "disk", 512) as disk:
        argv = ["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                "--output", str(disk / "out"), "--run-id", "r", "-q", "-j", "1"]  # fmt: skip
        ballast = disk / "ballast"  # leaves room for about half the sample lines
        ballast.write_bytes(b"\0" * 480 * 1024)
        capsys.readouterr()
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "disk full" in err and "--resume" in err, err
        ballast.unlink()
        assert main([*argv, "--resume"]) == 0  # nothing lost: it carries on
        assert main(["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                     "--output", str(tmp_path / "ref"), "--run-id", "r", "-q", "-j", "1"]) == 0
        run_dir = disk / "out" / "r"
        assert (run_dir / "samples.jsonl").read_bytes() == (
            tmp_path / "ref" / "r" / "samples.jsonl").read_bytes()  # fmt: skip
        before = snapshot(run_dir)
        fill(disk)
        for argv2, hint in (
            (["regrade", str(run_dir), "-q", "-j", "1"], "run the same command again"),
            (["merge", str(run_dir), "--output", str(disk / "m"), "--run-id", "m"],
             "run the same command again"),
            (["grade", str(tmp_path / "items.jsonl"), "-o", str(disk / "v.jsonl"), "-j", "1"],
             "run the same command again"),
        ):  # fmt: skip
            (tmp_path / "items.jsonl").write_text('{"completion": "7", "gold": "7"}\n' * 200)
            capsys.readouterr()
            code = main(argv2)
            err = capsys.readouterr().err
            assert code == 1 and err.count("\n") == 1, (argv2[0], err)
            assert "disk full" in err and hint in err and "--resume" not in err, (argv2[0], err)
        assert snapshot(run_dir) == before  # the failed rewrite left the run as it was
        assert not (disk / "m").exists() and not (disk / "v.jsonl").exists()
