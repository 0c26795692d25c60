"""What the grading worker processes cost: IPC, latency, start-up, warmth, throughput, memory.

    python bench/grading_pool.py [--sections ipc,call,start,warm,many,flat] [--flat-items N]

Sections (each prints a table; ratios are against a peer measured in the same run):
- ipc:   items/s of `WorkerPool.imap` with jobs=1 and jobs=2 against an in-process loop over
         the same items, for trivial items (pure IPC overhead) and for items that burn
         --work-ms of CPU each (a stand-in for a SymPy comparison). Best of --repeat runs.
- call:  latency of `call()` on a ready worker.
- start: a spawner's cold start (fresh interpreter: imports and warm-up, paid once per
         process) against a warm worker's start (a fork of the spawner, until it is ready).
- warm:  --latex-pairs LaTeX pairs (generated, none in the warm-up set) through one fresh
         worker forked from a spawner without warm-up (what every worker paid before: the
         imports land on the first item) and from a warm one.
- many:  `grade_many` items/s with jobs=1 and jobs=2 on --many-items completions (symbolic
         pairs that need a worker, and fast-path ones), against grading them in-process.
- flat:  --flat-items completions through one `grade_many` call (10% need a worker, each
         a distinct pair; 1% are LaTeX pairs for ANTLR): memory of this process and of the grading processes (PSS)
         every tenth of the way. Flat means the last row is no bigger than the first.
A shared, busy machine makes single runs noisy: the load average is printed first.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from mwpbench.grading import _selftest as st
from mwpbench.grading.pool import WorkerPool

PRELOAD = ("mwpbench.grading._selftest",)


# ---------------------------------------------------------------- ipc and call


def best_rate(run: Callable[[], None], n: int, repeat: int) -> float:
    """Items per second of the fastest of `repeat` runs of `run()` over n items."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def in_process(fn: Callable[..., Any], argses: list[tuple[Any, ...]]) -> None:
    for args in argses:
        fn(*args)


def pooled(pool: WorkerPool, fn: Callable[..., Any], argses: list[tuple[Any, ...]]) -> None:
    for outcome in pool.imap(fn, iter(argses), 10.0):
        assert outcome.status == "ok", outcome


def ipc_section(args: argparse.Namespace) -> None:
    print(f"{'workload':<26} {'mode':<16} {'items/s':>10} {'x in-process':>13} {'us/item':>9}")
    workloads = [
        (f"{args.items} x echo", st.echo, [(i,) for i in range(args.items)]),
        (
            f"{args.work_items} x {args.work_ms:g} ms CPU",
            st.burn,
            [(args.work_ms / 1000,)] * args.work_items,
        ),
    ]
    for name, fn, argses in workloads:
        n = len(argses)
        base = best_rate(lambda fn=fn, argses=argses: in_process(fn, argses), n, args.repeat)
        rows = [("in-process loop", base)]
        for jobs in (1, 2):
            with WorkerPool(jobs, preload=PRELOAD, warmup=None) as pool:
                pooled(pool, fn, argses[: 50 * jobs])  # start the workers: not measured
                rate = best_rate(
                    lambda pool=pool, fn=fn, argses=argses: pooled(pool, fn, argses), n, args.repeat
                )
            rows.append((f"imap jobs={jobs}", rate))
        for mode, rate in rows:
            print(f"{name:<26} {mode:<16} {rate:>10,.0f} {rate / base:>13.4f} {1e6 / rate:>9.1f}")


def call_section(args: argparse.Namespace) -> None:
    with WorkerPool(1, preload=PRELOAD, warmup=None) as pool:
        pool.call(st.echo, (0,), 10.0)  # start the worker: not measured
        times = []
        for i in range(args.calls):
            start = time.perf_counter()
            outcome = pool.call(st.echo, (i,), 10.0)
            times.append(time.perf_counter() - start)
            assert outcome.status == "ok"
    print(f"call() latency over {len(times)} calls (us): {summary(times, 1e6)}")


def summary(times: list[float], scale: float) -> str:
    times = sorted(times)

    def q(p: float) -> float:
        return times[min(len(times) - 1, int(p * len(times)))] * scale

    return (
        f"mean {statistics.mean(times) * scale:,.1f}  median {q(0.5):,.1f}  "
        f"p90 {q(0.9):,.1f}  p99 {q(0.99):,.1f}  max {times[-1] * scale:,.1f}"
    )


# ---------------------------------------------------------------- start-up and warmth


def start_section(args: argparse.Namespace) -> None:
    from mwpbench.grading.pool import GRADING_PRELOAD, GRADING_WARMUP
    from mwpbench.grading.spawner import Spawner
    from mwpbench.grading.worker import READY

    colds = []
    for _ in range(args.cold_starts):
        spawner = Spawner(GRADING_PRELOAD, GRADING_WARMUP)
        start = time.perf_counter()
        spawner.start()
        colds.append(time.perf_counter() - start)
        spawner.close()
    spawner = Spawner(GRADING_PRELOAD, GRADING_WARMUP)
    spawner.start()
    warms = []
    try:
        for _ in range(args.starts):
            start = time.perf_counter()
            proc, conn = spawner.spawn(None)
            assert conn.recv()[0] == READY
            warms.append(time.perf_counter() - start)
            conn.send(None)
            proc.join(5)
            conn.close()
            proc.close()
    finally:
        spawner.close()
    print(f"spawner cold start, {len(colds)} runs (ms): {summary(colds, 1e3)}")
    print(f"warm worker start (fork to ready), {len(warms)} runs (ms): {summary(warms, 1e3)}")
    print(f"  ratio of medians: a warm worker starts {median(colds) / median(warms):,.0f}x faster")


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def latex_pairs(n: int, seed: int = 7) -> list[tuple[str, str]]:
    """Distinct LaTeX answer pairs (mostly unequal), none of them in the warm-up set."""
    rng = random.Random(seed)
    shapes = [
        lambda a, b, c: (rf"\frac{{{a}}}{{{b}}}+\sqrt{{{c}}}", rf"\frac{{{b}}}{{{a}}}"),
        lambda a, b, c: (rf"\frac{{{a}x^{{2}}+{b}}}{{{c}}}", rf"{a}x+\frac{{{b}}}{{{c}}}"),
        lambda a, b, c: (rf"\sin\left(\frac{{\pi}}{{{a}}}\right)+{b}", rf"\cos {c}"),
        lambda a, b, c: (rf"\log_{{{a}}}{{{b}}}", rf"\frac{{\ln {b}}}{{\ln {c}}}"),
        lambda a, b, c: (rf"\binom{{{a + 3}}}{{{b % 3 + 1}}}", rf"{c}"),
        lambda a, b, c: (rf"\left\lfloor \frac{{{a}}}{{{b}}} \right\rfloor", rf"{c}"),
        lambda a, b, c: (rf"({a}, \frac{{{b}}}{{{c}}})", rf"\left({a},{b}\right)"),
        lambda a, b, c: (rf"{a}\sqrt{{{b}}}-\sqrt{{{c}}}", rf"\sqrt{{{a * a * b}}}"),
        lambda a, b, c: (rf"\frac{{{a}\pi}}{{{b}}}", rf"{c}^{{\circ}}"),
        lambda a, b, c: (rf"y={a}x^{{2}}-{b}x+{c}", rf"y={a}(x-{b})^{{2}}"),
        lambda a, b, c: (rf"\left[{a}, {b}\right)", rf"({a},{c}]"),
        lambda a, b, c: (rf"e^{{{a}x}}\cdot{b}", rf"{c}e^{{x}}"),
    ]
    pairs = []
    for i in range(n):
        a, b, c = rng.randint(2, 97), rng.randint(2, 97), rng.randint(2, 97)
        pairs.append(shapes[i % len(shapes)](a, b, c))
    return pairs


def warm_section(args: argparse.Namespace) -> None:
    from mwpbench.grading.compare import compare_answers
    from mwpbench.grading.pool import GRADING_PRELOAD, GRADING_WARMUP

    pairs = latex_pairs(args.latex_pairs)
    print(f"{len(pairs)} LaTeX pairs through one fresh worker")
    print(f"{'worker':<34} {'first item s':>13} {'the rest s':>11} {'total s':>9} {'x warm':>7}")
    rows = []
    for name, warmup in (
        ("forked cold (no warm-up)", None),
        ("forked warm (warm-up)", GRADING_WARMUP),
    ):
        with WorkerPool(1, preload=GRADING_PRELOAD, warmup=warmup) as pool:
            pool.start()  # the spawner's own start is not measured
            pool.call(st.echo, (0,), 60)  # nor the worker's start
            start = time.perf_counter()
            first = pool.call(compare_answers, pairs[0], 60)
            t_first = time.perf_counter() - start
            outs = list(pool.imap(compare_answers, pairs[1:], 60))
            total = time.perf_counter() - start
        assert first.status == "ok" and all(o.status == "ok" for o in outs)
        rows.append((name, t_first, total - t_first, total))
    warm_total = rows[-1][3]
    for name, t_first, rest, total in rows:
        print(f"{name:<34} {t_first:>13.3f} {rest:>11.3f} {total:>9.3f} {total / warm_total:>7.2f}")


# ---------------------------------------------------------------- grade_many


def completions(n: int, symbolic_every: int, latex_every: int) -> Iterator[dict[str, str]]:
    """Completions: every `symbolic_every`-th needs a worker (a distinct symbolic pair; every
    `latex_every`-th of those a LaTeX pair for ANTLR), the others take the in-process fast
    path."""
    pairs = latex_pairs(997)
    for i in range(n):
        if i % symbolic_every == 0:
            pred, gold = f"x+{i}-{i}", "x"  # distinct every time, equal, cheap
            if (i // symbolic_every) % latex_every == 0:
                pred, gold = pairs[i % len(pairs)]
            yield {"completion": f"So the answer is $\\boxed{{{pred}}}$.", "gold": gold}
        else:
            yield {"completion": f"... which gives #### {i % 1000}", "gold": str(i % 1000)}


def many_section(args: argparse.Namespace) -> None:
    import mwpbench
    from mwpbench.grading.pool import shared_pool

    items = list(completions(args.many_items, 2, 2))
    shared_pool().call(st.echo, (0,), 60)  # start the spawner: not measured
    print(f"grade_many over {len(items)} completions (half need a worker)")
    print(f"{'mode':<22} {'items/s':>10} {'x jobs=1':>9}")
    rates = {}
    for jobs in (1, 2):
        list(mwpbench.grade_many(items[:20], jobs=jobs))  # not measured
        start = time.perf_counter()
        verdicts = list(mwpbench.grade_many(items, jobs=jobs))
        rates[jobs] = len(items) / (time.perf_counter() - start)
        assert not [v for v in verdicts if v.status in ("timeout", "error")]
    for jobs, rate in rates.items():
        print(f"{f'grade_many jobs={jobs}':<22} {rate:>10,.0f} {rate / rates[1]:>9.2f}")


# ---------------------------------------------------------------- flat memory


def pss_kib(pid: int) -> int:
    """Proportional set size of `pid` (KiB): shared pages split among their users."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def grading_pids(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            for child in children:
                todo.append(child)
                found.append(child)
    return found


def flat_section(args: argparse.Namespace) -> None:
    import mwpbench

    if not Path("/proc/self/smaps_rollup").exists():
        print("flat: needs Linux /proc; skipped")
        return
    n = args.flat_items
    step = max(1, n // 10)
    print(f"grade_many over {n:,} completions, jobs=2 (10% need a worker, 1% ANTLR)")
    print(f"{'items':>10} {'parent MiB':>11} {'grading MiB':>12} {'processes':>10} {'items/s':>9}")
    start = time.perf_counter()
    bad = 0
    for i, verdict in enumerate(mwpbench.grade_many(completions(n, 10, 10), jobs=2, timeout=5.0), 1):
        bad += verdict.status in ("timeout", "error")
        if i % step == 0 or i == 1000:
            pids = grading_pids(os.getpid())
            grading = sum(pss_kib(p) for p in pids) / 1024
            rate = i / (time.perf_counter() - start)
            print(
                f"{i:>10,} {pss_kib(os.getpid()) / 1024:>11.1f} {grading:>12.1f} "
                f"{len(pids):>10} {rate:>9,.0f}",
                flush=True,
            )
    print(f"timeouts and errors: {bad}")


# ---------------------------------------------------------------- main

SECTIONS = {
    "ipc": ipc_section,
    "call": call_section,
    "start": start_section,
    "warm": warm_section,
    "many": many_section,
    "flat": flat_section,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated")
    parser.add_argument("--items", type=int, default=20000, help="ipc: trivial items per run")
    parser.add_argument("--work-items", type=int, default=1000, help="ipc: CPU-bound items")
    parser.add_argument("--work-ms", type=float, default=1.0, help="ipc: CPU per item")
    parser.add_argument("--repeat", type=int, default=3, help="ipc: runs per row (best counts)")
    parser.add_argument("--calls", type=int, default=2000, help="call: round trips")
    parser.add_argument("--cold-starts", type=int, default=3, help="start: spawner starts")
    parser.add_argument("--starts", type=int, default=100, help="start: warm worker starts")
    parser.add_argument("--latex-pairs", type=int, default=300, help="warm: pairs")
    parser.add_argument("--many-items", type=int, default=4000, help="many: completions")
    parser.add_argument("--flat-items", type=int, default=1_000_000, help="flat: completions")
    args = parser.parse_args()
    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}, "
          f"python {sys.version.split()[0]}")  # fmt: skip
    for name in args.sections.split(","):
        print(f"\n== {name}")
        SECTIONS[name](args)


if __name__ == "__main__":
    main()
