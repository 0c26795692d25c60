"""Grading works, with its hard per-item limit, from every kind of process users grade in.

`grade()`, `is_equivalent()` and `grade_many()` from the main process, threads, asyncio, a
real Jupyter kernel, daemonic `multiprocessing.Pool` workers (fork, spawn, forkserver) and
`ProcessPoolExecutor` workers; the grading processes die with their parent however it
ends (SIGKILL included), and nothing depends on machine load for an item that takes
milliseconds. The work done in each process is `_selftest.grade_here` (a package module,
so that spawn and forkserver children can import it).
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

from mwpbench.grading import _selftest as st

TIMEOUT = 2.0
# The contract is limit + 1 s; the rest is slack for two shared, busy cores.
LIMIT = TIMEOUT + 1.0 + 2.5
NOT_CORRECT = {"incorrect", "parse_error", "timeout"}
REPO = Path(__file__).resolve().parents[2]
LINUX = sys.platform.startswith("linux")

pytestmark = pytest.mark.slow


def check(report: dict) -> None:
    """Every entry point answered right, and the endless item came back within the limit."""
    assert report["symbolic"][0] == "correct", report
    assert report["trivial"][0] == "correct", report
    status, seconds = report["endless"]
    assert status in NOT_CORRECT, report
    assert seconds < LIMIT, report
    assert report["equivalent"] is True, report
    assert report["many"][:2] == ["correct", "correct"], report
    assert report["many"][2] in NOT_CORRECT, report
    assert report["many_seconds"] < LIMIT, report


def descendants(pid: int) -> set[int]:
    """Every live process below `pid` (Linux /proc)."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            for child in map(int, children):
                if child not in found:
                    found.add(child)
                    todo.append(child)
    return found


def grading_processes(pid: int) -> set[int]:
    """The spawners and workers below `pid` (not, say, multiprocessing's own helpers)."""
    found = set()
    for child in descendants(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"mwpbench.grading.worker" in cmdline:
            found.add(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def all_gone(pids: set[int], within: float = 10.0) -> set[int]:
    """The processes of `pids` still alive after waiting up to `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        left = {pid for pid in pids if alive(pid)}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def test_main_process() -> None:
    check(st.grade_here(TIMEOUT))


def test_threads() -> None:
    with ThreadPoolExecutor(3) as ex:
        reports = list(ex.map(st.grade_here, [TIMEOUT] * 3))
    for report in reports:
        check(report)


def test_asyncio() -> None:
    async def main() -> list[dict]:
        direct = st.grade_here(TIMEOUT)  # blocking, inside the running loop
        loop = asyncio.get_running_loop()
        offloaded = await asyncio.gather(
            *(loop.run_in_executor(None, st.grade_here, TIMEOUT) for _ in range(2))
        )
        return [direct, *offloaded]

    for report in asyncio.run(main()):
        check(report)


@pytest.mark.skipif(not LINUX, reason="counts processes through /proc")
@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_daemonic_multiprocessing_pool_workers(method: str) -> None:
    before = grading_processes(os.getpid())
    with multiprocessing.get_context(method).Pool(2) as pool:
        reports = pool.map(st.grade_here, [TIMEOUT] * 2, chunksize=1)
    for report in reports:
        assert report["daemon"] is True  # where multiprocessing itself may start no child
        check(report)
    # terminate() killed the Pool workers: their spawners and workers follow them
    assert all_gone(grading_processes(os.getpid()) - before) == set()


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_process_pool_executor_workers(method: str) -> None:
    ctx = multiprocessing.get_context(method)
    with ProcessPoolExecutor(2, mp_context=ctx) as ex:
        reports = list(ex.map(st.grade_here, [TIMEOUT] * 2))
    for report in reports:
        check(report)


KERNEL_CODE = """
import json, os, time
import mwpbench
from mwpbench.grading import _selftest as st

def local_helper(x):  # defined in the notebook's __main__, as users do
    return x

report = st.grade_here({timeout})
report["kernel_pid"] = os.getpid()
print("REPORT" + json.dumps(report))
"""


@pytest.mark.skipif(not LINUX, reason="counts processes through /proc")
def test_jupyter_kernel() -> None:
    """A real IPython kernel (what a notebook runs): grading works with its limit, and the
    grading processes go away with the kernel."""
    manager_module = pytest.importorskip("jupyter_client.manager")
    pytest.importorskip("ipykernel")
    km, kc = manager_module.start_new_kernel(kernel_name="python3", startup_timeout=120)
    outputs: list[str] = []

    def keep(msg: dict) -> None:
        if msg["header"]["msg_type"] == "stream":
            outputs.append(msg["content"]["text"])
        elif msg["header"]["msg_type"] == "error":
            outputs.append("\n".join(msg["content"]["traceback"]))

    try:
        reply = kc.execute_interactive(
            KERNEL_CODE.format(timeout=TIMEOUT), timeout=120, output_hook=keep
        )
        assert reply["content"]["status"] == "ok", outputs
        text = "".join(outputs)
        line = next(x for x in text.splitlines() if x.startswith("REPORT"))
        import json

        report = json.loads(line[len("REPORT") :])
        check(report)
        grading = grading_processes(report["kernel_pid"])
        assert grading  # the spawner and its workers run under the kernel
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert all_gone(grading) == set()


ORPHAN_SCRIPT = """
import os, sys, threading, time
from mwpbench.grading import _selftest as st
from mwpbench.grading.pool import WorkerPool

pool = WorkerPool(2, preload=("mwpbench.grading._selftest",))

def first_use():
    assert pool.call(st.echo, (1,), 60).status == "ok"

if sys.argv[1] == "main-thread":
    first_use()
else:  # the spawner is started by a thread that ends right away
    t = threading.Thread(target=first_use)
    t.start()
    t.join()
    time.sleep(0.5)
    assert pool.call(st.echo, (2,), 60).status == "ok"  # it outlived that thread
busy = threading.Thread(target=pool.call, args=(st.spin, (), 600), daemon=True)
busy.start()
while not any(w.queue for w in list(pool._workers)):
    time.sleep(0.05)
assert pool.call(st.echo, (3,), 60).status == "ok"  # a second worker, idle now
print("READY", flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not LINUX, reason="counts processes through /proc")
@pytest.mark.parametrize("started_from", ["main-thread", "other-thread"])
def test_a_sigkilled_parent_leaves_no_orphans(tmp_path: Path, started_from: str) -> None:
    script = tmp_path / "victim.py"
    script.write_text(textwrap.dedent(ORPHAN_SCRIPT))
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(
        [sys.executable, str(script), started_from], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "READY"
        grading = grading_processes(proc.pid)
        assert len(grading) == 3  # a spawner, an idle worker, a busy worker
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        assert all_gone(grading) == set()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


LOAD_SCRIPT = """
import sys, threading
from concurrent.futures import ThreadPoolExecutor
import mwpbench
from mwpbench.grading import _selftest as st

trivial = [("$0+1-1$", "0"), ("$x+1-1$", "x"), ("$2x-x$", "x"), (r"$\\frac{2}{4}+0$", "0.5")]
items = []
for i in range(400):
    completion, gold = trivial[i % 4]
    items.append({"completion": "The answer is " + completion, "gold": gold})
    if i % 100 == 50:  # a worker killed at its limit: its replacement starts under load
        items.append({"completion": st.ENDLESS[0], "gold": st.ENDLESS[1]})
verdicts = list(mwpbench.grade_many(items, jobs=2, timeout=1.0))
endless = [v.status for it, v in zip(items, verdicts) if it["completion"] == st.ENDLESS[0]]
rest = [v.status for it, v in zip(items, verdicts) if it["completion"] != st.ENDLESS[0]]

def one(i):  # single grade() calls from many threads: temporary workers, under load
    completion, gold = trivial[i % 4]
    return mwpbench.grade("The answer is " + completion, gold, timeout=1.0).status

with ThreadPoolExecutor(8) as ex:
    rest += list(ex.map(one, range(80)))
print("ENDLESS", " ".join(endless))
print("TRIVIAL", " ".join(sorted(set(rest))), rest.count("correct"), len(rest))
"""


@pytest.mark.skipif(not LINUX, reason="counts processes through /proc")
def test_trivial_items_never_time_out_under_cpu_load(tmp_path: Path) -> None:
    """Four busy processes on top of the (shared) cores, a fresh process that grades with
    a 1 s limit: every item that takes milliseconds alone is correct, none times out,
    including on workers that replace ones killed at their limit, and on the first items
    (the spawner's imports and warm-up are never on an item's clock)."""
    script = tmp_path / "load.py"
    script.write_text(LOAD_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(4)
    ]
    try:
        proc = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=600
        )
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert proc.returncode == 0, proc.stderr
    lines = dict(line.split(" ", 1) for line in proc.stdout.splitlines())
    assert set(lines["ENDLESS"].split()) <= NOT_CORRECT
    statuses, correct, total = lines["TRIVIAL"].split()
    assert statuses == "correct" and correct == total == "480", proc.stdout
