"""vLLM backend: request/parameter mapping against a fake `vllm` module; a GPU smoke test."""

from __future__ import annotations

import sys
import types
from types import SimpleNamespace

import pytest

from mwpbench.backends.vllm import engine_kwargs, sampling_kwargs, to_generation
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
        self.kwargs = kwargs


class FakeLLM:
    instances: list[FakeLLM] = []

    def __init__(self, **kwargs):
        self.kwargs = kwargs
        self.calls = []
        self.llm_engine = SimpleNamespace(model_config=SimpleNamespace(max_model_len=64))
        FakeLLM.instances.append(self)

    def get_tokenizer(self):
        return FakeTokenizer()

    def generate(self, *, prompts, sampling_params, use_tqdm):
        self.calls.append((prompts, sampling_params))
        outs = []
        for prompt, sp in zip(prompts, sampling_params):
            n = sp.kwargs["n"]
            outs.append(
                SimpleNamespace(
                    prompt_token_ids=prompt["prompt_token_ids"],
                    outputs=[
                        SimpleNamespace(
                            index=j,
                            text=f"out{j}",
                            token_ids=[5, 6, 7],
                            finish_reason="length" if j else "stop",
                        )
                        for j in reversed(range(n))
                    ],
                )
            )
        return outs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM = FakeLLM
    module.SamplingParams = FakeSamplingParams
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.instances.clear()
    return module


def test_engine_options_pass_through_as_keywords(fake_vllm):
    from mwpbench.backends import load_backend

    with load_backend(
        "vllm",
        model="m",
        tensor_parallel_size=2,
        max_model_len=4096,
        gpu_memory_utilization=0.8,
        enable_prefix_caching=False,
        dtype="bfloat16",
        seed=3,
        swap_space=1,
    ) as backend:
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
        assert backend.describe()["tensor_parallel_size"] == 2


def test_whole_list_in_one_call_with_token_prompts(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    sp = SamplingParams(max_tokens=100, stop=("Question:",))
    reqs = [GenerationRequest(id=f"t{i}", prompt=f"q{i}", sampling=sp) for i in range(500)]
    reqs.append(
        GenerationRequest(id="chat", messages=({"role": "user", "content": "hi"},), sampling=sp)
    )
    backend = VLLMBackend("m")
    gens = backend.generate(reqs)
    backend.close()
    [(prompts, params)] = FakeLLM.instances[0].calls  # ONE generate call
    assert len(prompts) == 501
    assert prompts[0] == {"prompt_token_ids": [BOS, ord("q"), ord("0")]}
    chat_ids = prompts[-1]["prompt_token_ids"]
    assert chat_ids[0] == BOS and chat_ids.count(BOS) == 1  # no doubled BOS
    assert params[0].kwargs["max_tokens"] == 100 and params[0].kwargs["stop"] == ["Question:"]
    assert [g.request_id for g in gens] == [r.id for r in reqs]
    assert gens[0].completions[0].text == "out0"
    assert gens[0].completions[0].prompt_tokens == 3
    assert gens[0].completions[0].completion_tokens == 3


def test_overlong_prompt_is_an_error_status_not_a_crash(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    reqs = [GenerationRequest(id="long", prompt="x" * 100), GenerationRequest(id="ok", prompt="y")]
    with VLLMBackend("m") as backend:
        gens = backend.generate(reqs)
    assert gens[0].error and "max_model_len is 64" in gens[0].error
    assert gens[1].completions[0].text == "out0"


def test_one_engine_per_process(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    first = VLLMBackend("m")
    with pytest.raises(BackendError, match="already running"):
        VLLMBackend("m")
    first.close()
    VLLMBackend("m").close()
    with pytest.raises(BackendError, match="closed"):
        first.generate([])


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


def test_greedy_with_n_gt_1_is_a_clear_error(fake_vllm):
    from mwpbench.backends.vllm import VLLMBackend

    req = GenerationRequest(id="g", prompt="p", sampling=SamplingParams(n=4))
    with pytest.raises(ConfigError, match="greedy"):
        sampling_kwargs(req)
    with VLLMBackend("m") as backend, pytest.raises(ConfigError, match="greedy"):
        backend.generate([req])
    assert FakeLLM.instances[0].calls == []


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


def test_engine_kwargs_defaults():
    kw = engine_kwargs("m")
    assert "max_model_len" not in kw and kw["seed"] == 0 and kw["enable_prefix_caching"] is True


@pytest.mark.gpu
def test_vllm_on_gpu_tiny_model(tmp_path):
    pytest.importorskip("vllm")
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from tiny_lm import build_tiny_lm

    from mwpbench.backends.vllm import VLLMBackend

    path = build_tiny_lm(tmp_path / "lm", hidden=128, heads=2)
    greedy = SamplingParams(max_tokens=16)
    sampled = SamplingParams(temperature=1.0, max_tokens=16, n=3, seed=1)
    reqs = [
        GenerationRequest(id="a", prompt="Tom has", sampling=greedy),
        GenerationRequest(id="b", messages=({"role": "user", "content": "add"},), sampling=greedy),
        GenerationRequest(id="c", prompt="Question:", sampling=sampled),
    ]
    with VLLMBackend(
        str(path),
        enforce_eager=True,
        gpu_memory_utilization=0.2,
        max_model_len=256,
        dtype="float32",
    ) as backend:
        first = backend.generate(reqs)
        again = backend.generate(reqs)
    assert first == again  # greedy and seeded sampling reproduce
    assert len(first[2].completions) == 3
    assert all(
        c.completion_tokens and c.completion_tokens <= 16 for g in first for c in g.completions
    )
