"""Tiny module-level functions that exercise `pool.py` inside worker processes.

The pool's tests and `bench/grading_pool.py` send these to workers. They live in the
package, not under tests/, so that a forkserver or spawn worker can always import them by
name, whatever the test runner's rootdir and sys.path layout. Nothing else uses them.
"""

from __future__ import annotations

import os
import time


def echo(value: object) -> object:
    """Return the argument unchanged (a round trip)."""
    return value


def pid() -> int:
    """The worker's process id."""
    return os.getpid()


def sleep(seconds: float) -> float:
    """Sleep, then return how long."""
    time.sleep(seconds)
    return seconds


def sleep_pid(seconds: float) -> int:
    """Sleep, then return the worker's process id."""
    time.sleep(seconds)
    return os.getpid()


def burn(seconds: float) -> float:
    """Use `seconds` of CPU time (a stand-in for a SymPy comparison)."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass
    return seconds


def spin() -> None:
    """Busy-loop forever (pure Python: only a kill stops it)."""
    while True:
        pass


def fail(message: str) -> None:
    """Raise ValueError(message)."""
    raise ValueError(message)


def hard_exit(code: int) -> None:
    """Die without cleanup, as a crashing C extension would."""
    os._exit(code)


def kill_self(signum: int) -> None:
    """Die by a signal, as a segfaulting C extension would (SIGSEGV)."""
    os.kill(os.getpid(), signum)


def allocate(nbytes: int) -> int:
    """Allocate `nbytes` (MemoryError under the worker's memory cap)."""
    return len(bytearray(nbytes))


def do(name: str, *args: object) -> object:
    """Call the function of this module named `name` (mixes behaviours in one imap)."""
    return globals()[name](*args)
