"""One writer per run directory (issue 14 item 3): the lock, its stale rule, and real
processes competing for one run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _runs import release_rows, write_release

from mwpbench.cli import main
from mwpbench.errors import RunError
from mwpbench.runlock import LOCK_NAME, RunLock, RunLocked

sys.path.insert(0, str(Path(__file__).parent / "backends"))
from fake_openai_server import FakeOpenAIServer  # noqa: E402

_HOLD = """
import sys, time
from mwpbench.runlock import RunLock
RunLock(sys.argv[1], purpose="test holder").acquire()
print("held", flush=True)
time.sleep(120)
"""


def _holder(run_dir: Path) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, str(run_dir)], stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_lock_names_the_owner_and_a_dead_owner_blocks_nobody(tmp_path):
    proc = _holder(tmp_path)
    try:
        with pytest.raises(RunLocked, match=rf"pid {proc.pid} on .*test holder"):
            RunLock(tmp_path).acquire()
        info = json.loads((tmp_path / LOCK_NAME).read_text())
        assert info["pid"] == proc.pid and "api_key" not in json.dumps(info)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=10)
    assert (tmp_path / LOCK_NAME).exists()  # a killed owner leaves its file...
    with RunLock(tmp_path) as lock:  # ...which blocks nobody: the OS released its lock
        assert lock.held
        assert json.loads((tmp_path / LOCK_NAME).read_text())["pid"] == os.getpid()
    assert not (tmp_path / LOCK_NAME).exists()  # released: removed


def test_one_lock_per_directory_within_a_process_too(tmp_path):
    with RunLock(tmp_path):
        with pytest.raises(RunLocked, match="already being written by this process"):
            RunLock(tmp_path).acquire()
    RunLock(tmp_path).acquire().release()  # free again
    with pytest.raises(RunError, match="cannot lock"):
        RunLock(tmp_path / "missing").acquire()


def test_a_forked_child_does_not_hold_the_lock(tmp_path):
    """Record locks are not inherited: a worker forked by the owner that outlives it (a
    vLLM worker, say) does not keep the run locked."""
    lock = RunLock(tmp_path).acquire()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        time.sleep(30)
        os._exit(0)
    try:
        probe = subprocess.run([sys.executable, "-c", _HOLD.replace("time.sleep(120)", ""),
                                str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert probe.returncode == 1 and "RunLocked" in probe.stderr  # the owner still holds it
        lock.release()
        probe = subprocess.run([sys.executable, "-c", _HOLD.replace("time.sleep(120)", ""),
                                str(tmp_path)], capture_output=True, text=True, timeout=60)  # fmt: skip
        assert probe.returncode == 0, probe.stderr  # the child alone does not
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)


@pytest.mark.slow
def test_two_writers_on_one_run(tmp_path, capsys):
    """A slow `eval` holds the run: a second `eval --resume` and a `regrade` stop with its
    PID; once it is killed (-9), `--resume` takes over and ends as an uninterrupted run."""
    release = write_release(tmp_path / "release.jsonl", release_rows(30, gold="2"))
    out = tmp_path / "out"
    with FakeOpenAIServer(latency=0.3) as server:
        argv = ["eval", "--model", "m", "--base-url", server.url, "--backend-arg",
                "concurrency=1", "--data-file", str(release), "--output", str(out),
                "--run-id", "r", "-q", "-j", "1"]  # fmt: skip
        first = subprocess.Popen([sys.executable, "-m", "mwpbench.cli", *argv],
                                 stdout=subprocess.DEVNULL)  # fmt: skip
        samples = out / "r" / "samples.jsonl"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and first.poll() is None:
            if samples.exists() and samples.read_text().count("\n") >= 2:
                break
            time.sleep(0.05)
        try:
            for second in ([*argv, "--resume"], ["regrade", str(out / "r"), "-q"]):
                capsys.readouterr()
                assert main(second) == 1
                err = capsys.readouterr().err
                assert f"pid {first.pid}" in err and "Wait for it to finish" in err, err
                assert err.count("\n") == 1
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
        stored = samples.read_text().count("\n")
        assert 2 <= stored < 30
        server.latency = 0.0
        assert main([*argv, "--resume"]) == 0
        run_json = json.loads((out / "r" / "run.json").read_text())
        assert run_json["status"] == "complete" and run_json["counts"]["reused"] >= stored - 1
        assert main([*argv[:-7], "--output", str(tmp_path / "ref"), "--run-id", "r", "-q",
                     "-j", "1"]) == 0  # fmt: skip
    assert samples.read_bytes() == (tmp_path / "ref" / "r" / "samples.jsonl").read_bytes()
    assert not (out / "r" / LOCK_NAME).exists()
