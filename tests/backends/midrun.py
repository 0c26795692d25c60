"""Stopping a real engine mid-run for the kill-and-resume tests, without racing it.

vLLM's engine core generates on its own once every request is queued; the run's process
writes each result as it reads it back. On a busy machine the run can read nothing for a
while and then every result at once, so "kill the run once N lines are on disk" may come too
late: everything was already written. These tests therefore freeze the engine processes
(SIGSTOP) as soon as the first lines are on disk, let the run write what the frozen engine
had already finished, and only then kill the run: some results are stored, the rest cannot
be, whatever the scheduler did.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path


def lines(path: Path) -> int:
    return path.read_text().count("\n") if path.exists() else 0


def wait_for_lines(path: Path, at_least: int, proc: subprocess.Popen, timeout: float) -> None:
    """Until `path` holds `at_least` lines; the run must still be going."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        if lines(path) >= at_least:
            return
        time.sleep(0.02)


def freeze(procs: list) -> None:
    """SIGSTOP each psutil.Process in `procs` (those already gone are skipped)."""
    _signal(procs, signal.SIGSTOP)


def thaw(procs: list) -> None:
    """SIGCONT: a stopped process leaves a pending SIGTERM undelivered until continued."""
    _signal(procs, signal.SIGCONT)


def settled(path: Path, quiet: float = 1.5, timeout: float = 60) -> int:
    """The line count of `path` once it has not changed for `quiet` seconds."""
    deadline = time.monotonic() + timeout
    count, since = lines(path), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.1)
        now = lines(path)
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet:
            break
    return count


def _signal(procs: list, sig: int) -> None:
    import psutil

    for p in procs:
        try:
            p.send_signal(sig)
        except psutil.NoSuchProcess:
            pass
