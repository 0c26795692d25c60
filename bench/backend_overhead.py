"""Harness overhead around generation: is the harness ever the bottleneck?

1. Prompt rendering (build_requests), the mock backend and result collection for 100k
   requests on one core (goal: >= 20,000 requests/s end to end).
2. The OpenAI backend against the local fake server (tests/backends/fake_openai_server.py)
   at concurrency 64: the server's capacity measured with a minimal raw HTTP client, then
   the throughput through OpenAIBackend; the ratio shows whether the client limits it.
   The server answers each request after latency * uniform(0.5, 1.5) seconds (an LLM
   endpoint takes seconds); latency 0 measures the client's own ceiling.

Run: python bench/backend_overhead.py [--n 100000] [--http-n 3000] [--latency 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "backends"))

from mwpbench.backends.mock import MockBackend  # noqa: E402
from mwpbench.prompts import build_requests, load_prompt  # noqa: E402
from mwpbench.types import GenerationRequest, Problem, SamplingParams  # noqa: E402


def bench_mock(n: int) -> list[tuple[str, int, float]]:
    problems = [
        Problem(
            id=f"gsm8k/{i}",
            task="gsm8k",
            subset="gsm8k",
            question=f"Natalia sold clips to {i} of her friends in April, and then she sold "
            "half as many clips in May. How many clips did Natalia sell altogether?",
            answer=str(i + i // 2),
        )
        for i in range(n)
    ]
    prompt = load_prompt("alpaca")
    sampling = SamplingParams(max_tokens=2048)
    rows = []
    t0 = time.perf_counter()
    requests = build_requests(problems, prompt, sampling)
    t1 = time.perf_counter()
    generations = MockBackend().generate(requests)
    t2 = time.perf_counter()
    by_id = {}
    reasons: Counter[str] = Counter()
    for req, gen in zip(requests, generations, strict=True):
        by_id[req.id] = (req.meta["problem_id"], gen.completions[0].text)
        reasons[gen.completions[0].finish_reason] += 1
    t3 = time.perf_counter()
    assert len(by_id) == n and reasons["stop"] == n
    rows.append(("render prompts (alpaca) + request ids", n, t1 - t0))
    rows.append(("mock backend generate", n, t2 - t1))
    rows.append(("collect results", n, t3 - t2))
    rows.append(("end to end", n, t3 - t0))
    return rows


def bench_http(n: int, latency: float, concurrency: int) -> list[tuple[str, int, float]]:
    """Server in its own process (so it does not share the client's GIL)."""
    from fake_openai_server import raw_client_throughput

    from mwpbench.backends.openai_compat import OpenAIBackend

    server_py = ROOT / "tests" / "backends" / "fake_openai_server.py"
    proc = subprocess.Popen(
        [sys.executable, str(server_py), "--latency", str(latency), "--jitter", "0.5"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        rows = []
        asyncio.run(raw_client_throughput(port, ["warm"] * 200, concurrency))
        raw = asyncio.run(raw_client_throughput(port, [f"q{i}" for i in range(n)], concurrency))
        rows.append((f"server alone (raw client, c={concurrency})", n, n / raw))
        backend = OpenAIBackend(
            "bench", base_url=f"http://127.0.0.1:{port}/v1", concurrency=concurrency
        )
        sp = SamplingParams(max_tokens=16)
        backend.generate([GenerationRequest(id=f"w{i}", prompt="warm") for i in range(200)])
        reqs = [GenerationRequest(id=f"r{i}", prompt=f"p{i}", sampling=sp) for i in range(n)]
        t0 = time.perf_counter()
        gens = backend.generate(reqs)
        dt = time.perf_counter() - t0
        assert all(g.error is None for g in gens)
        rows.append((f"through OpenAIBackend (c={concurrency})", n, dt))
    finally:
        proc.terminate()
        proc.wait(10)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--http-n", type=int, default=1280)
    parser.add_argument(
        "--latency",
        type=float,
        nargs="+",
        default=[1.0, 0.2, 0.0],
        help="server seconds per request (an LLM takes seconds; 0 measures the client)",
    )
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    print(f"{'stage':48} {'requests':>9} {'seconds':>8} {'req/s':>10}")
    for name, count, secs in bench_mock(args.n):
        print(f"{name:48} {count:9d} {secs:8.3f} {count / secs:10.0f}")
    for latency in args.latency:
        rows = bench_http(args.http_n, latency, args.concurrency)
        for name, count, secs in rows:
            label = f"{name}, latency {latency * 1000:.0f} ms"
            print(f"{label:48} {count:9d} {secs:8.3f} {count / secs:10.0f}")
        ratio = rows[0][2] / rows[1][2]
        print(f"{'  client/server throughput ratio':48} {'':9} {'':8} {ratio:10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
