"""Throughput and latency of `mwpbench.grading.pool.WorkerPool`: what the IPC costs.

    python bench/grading_pool.py [--items 20000] [--calls 2000] [--repeat 3]

Prints items/s of `imap` with jobs=1 and jobs=2 against an in-process loop over the same
items (measured in the same run), for trivial items (pure IPC overhead) and for items that
burn --work-ms of CPU each (a stand-in for a SymPy comparison), then the latency of `call()`.
Best of --repeat runs; a shared, busy machine makes single runs noisy.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from mwpbench.grading import _selftest as st
from mwpbench.grading.pool import WorkerPool

PRELOAD = ("mwpbench.grading._selftest",)


def best_rate(run, n: int, repeat: int) -> float:
    """Items per second of the fastest of `repeat` runs of `run()` over n items."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return n / best


def in_process(fn, argses) -> None:
    for args in argses:
        fn(*args)


def pooled(pool: WorkerPool, fn, argses) -> None:
    for outcome in pool.imap(fn, iter(argses), 10.0):
        assert outcome.status == "ok", outcome


def throughput_rows(fn, argses, repeat: int) -> list[tuple[str, float, float]]:
    n = len(argses)
    base = best_rate(lambda: in_process(fn, argses), n, repeat)
    rows = [("in-process loop", base, 1.0)]
    for jobs in (1, 2):
        with WorkerPool(jobs, preload=PRELOAD) as pool:
            pooled(pool, fn, argses[: 50 * jobs])  # start the workers: not measured
            rate = best_rate(lambda pool=pool: pooled(pool, fn, argses), n, repeat)
        rows.append((f"imap jobs={jobs}", rate, rate / base))
    return rows


def call_latency(calls: int) -> list[float]:
    with WorkerPool(1, preload=PRELOAD) as pool:
        pool.call(st.echo, (0,), 10.0)  # start the worker: not measured
        times = []
        for i in range(calls):
            start = time.perf_counter()
            outcome = pool.call(st.echo, (i,), 10.0)
            times.append(time.perf_counter() - start)
            assert outcome.status == "ok"
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=20000, help="trivial items per run")
    parser.add_argument("--work-items", type=int, default=1000, help="CPU-bound items per run")
    parser.add_argument("--work-ms", type=float, default=1.0, help="CPU per CPU-bound item")
    parser.add_argument("--calls", type=int, default=2000, help="call() round trips")
    parser.add_argument("--repeat", type=int, default=3, help="runs per row (best counts)")
    args = parser.parse_args()

    print(f"cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
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
        for mode, rate, ratio in throughput_rows(fn, argses, args.repeat):
            print(f"{name:<26} {mode:<16} {rate:>10,.0f} {ratio:>13.4f} {1e6 / rate:>9.1f}")

    times = sorted(call_latency(args.calls))
    p = lambda q: times[min(len(times) - 1, int(q * len(times)))] * 1e6  # noqa: E731
    print(
        f"call() latency over {len(times)} calls (us): mean {statistics.mean(times) * 1e6:.0f}"
        f"  median {p(0.5):.0f}  p90 {p(0.9):.0f}  p99 {p(0.99):.0f}"
    )


if __name__ == "__main__":
    main()
