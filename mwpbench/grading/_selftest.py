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


def slow_warm_up() -> None:
    """A spawner warm-up that takes 1.5 s (a pool started in the background is not ready)."""
    time.sleep(1.5)


def warmth() -> dict[str, int]:
    """What this worker has loaded before its first item: SymPy and latex2sympy2 imported
    (1/0), and the states in the ANTLR parser's prediction cache (0 when cold)."""
    import sys

    states = 0
    for name, module in list(sys.modules.items()):
        if name.startswith("latex2sympy2_extended.gen.") and name.endswith(".PSParser"):
            for dfa in getattr(getattr(module, "PSParser", None), "decisionsToDFA", ()):
                states += len(dfa._states)
    return {
        "sympy": int("sympy" in sys.modules),
        "latex2sympy2": int("latex2sympy2_extended" in sys.modules),
        "antlr_states": states,
    }


# A pair that needs a worker (SymPy), one a worker decides in milliseconds, and one that
# runs into the limit (within the size caps, costly to evaluate).
SYMBOLIC = (r"So it is $\boxed{x^2+2x+1}$.", "(x+1)^2")
TRIVIAL = (r"The answer is $0+1-1$.", "0")
ENDLESS = (r"\boxed{(4999!)^{9999}}", "13")


def grade_here(timeout: float) -> dict[str, object]:
    """Grade SYMBOLIC, TRIVIAL and ENDLESS with every entry point, in this process (a Pool
    or executor worker in the tests); report statuses, seconds, and what process this is."""
    import multiprocessing

    import mwpbench

    out: dict[str, object] = {"pid": os.getpid()}
    out["daemon"] = multiprocessing.current_process().daemon
    for name, (completion, gold) in (("symbolic", SYMBOLIC), ("trivial", TRIVIAL),
                                     ("endless", ENDLESS)):  # fmt: skip
        start = time.monotonic()
        verdict = mwpbench.grade(completion, gold, timeout=timeout)
        out[name] = (verdict.status, time.monotonic() - start)
    out["equivalent"] = mwpbench.is_equivalent("x^2+2x+1", "(x+1)^2", timeout=timeout)
    items = [{"completion": c, "gold": g} for c, g in (SYMBOLIC, TRIVIAL, ENDLESS)]
    start = time.monotonic()
    out["many"] = [v.status for v in mwpbench.grade_many(items, jobs=2, timeout=timeout)]
    out["many_seconds"] = time.monotonic() - start
    return out


def crash(*_args: object) -> None:
    """Stand in for a comparison that kills its worker (as a crashing C extension would)."""
    os._exit(3)


def out_of_memory(*_args: object) -> None:
    """Stand in for a comparison that runs into the worker's memory cap."""
    raise MemoryError
