"""The HF backend end to end on a tiny random Llama built locally (no downloads)."""

from __future__ import annotations

import re

import pytest

from mwpbench.backends.base import chat_token_ids
from mwpbench.types import GenerationRequest, SamplingParams

pytestmark = pytest.mark.slow

PROMPTS = [
    "Tom has",
    "Question: what is 2 + 3? Answer:",
    "add",
    "Below is an instruction that describes a task. Write a response.",
]


def reqs(sp: SamplingParams, prompts=PROMPTS, prefix="r") -> list[GenerationRequest]:
    return [
        GenerationRequest(id=f"{prefix}{i}", prompt=p, sampling=sp) for i, p in enumerate(prompts)
    ]


def texts(gen) -> list[str]:
    return [c.text for c in gen.completions]


def test_greedy_is_deterministic_and_batch_equals_single(hf_backend):
    sp = SamplingParams(max_tokens=24)
    batch = hf_backend.generate(reqs(sp))
    assert hf_backend.generate(reqs(sp)) == batch
    singles = [hf_backend.generate([r])[0] for r in reqs(sp)]
    assert singles == batch  # left padding does not change greedy output
    for gen, prompt in zip(batch, PROMPTS):
        [c] = gen.completions
        assert c.finish_reason == "length" and c.completion_tokens == 24
        assert c.prompt_tokens == len(hf_backend.tokenizer(prompt)["input_ids"])


def test_sampling_with_seed_is_reproducible_and_n_samples(hf_backend):
    sp = SamplingParams(temperature=1.0, top_p=1.0, max_tokens=16, n=3, seed=7)
    a = hf_backend.generate(reqs(sp))
    b = hf_backend.generate(list(reversed(reqs(sp))))[::-1]  # order/batching does not matter
    assert a == b
    assert all(len(g.completions) == 3 for g in a)
    assert any(len(set(texts(g))) > 1 for g in a)  # the n samples differ
    other = hf_backend.generate(reqs(SamplingParams(temperature=1.0, max_tokens=16, n=3, seed=8)))
    assert [texts(g) for g in other] != [texts(g) for g in a]
    unseeded = hf_backend.generate(reqs(SamplingParams(temperature=1.0, max_tokens=8, n=2)))
    assert all(len(g.completions) == 2 for g in unseeded)


def _ascii_pair(text: str) -> str:
    m = re.search(r"[A-Za-z0-9]{2}", text[1:])
    assert m, f"no ascii pair in {text!r}"
    return m.group(0)


def test_stop_strings_truncate_in_batches(hf_backend):
    sp = SamplingParams(max_tokens=40)
    full = hf_backend.generate(reqs(sp))
    for i, gen in enumerate(full):
        text = gen.completions[0].text
        stop = _ascii_pair(text)
        stopped_sp = SamplingParams(max_tokens=40, stop=(stop, "never-seen"))
        # the stopped request shares its batch with unstopped ones of the same sampling
        batch = [GenerationRequest(id="s", prompt=PROMPTS[i], sampling=stopped_sp)] + [
            GenerationRequest(id=f"o{j}", prompt=p, sampling=stopped_sp)
            for j, p in enumerate(PROMPTS)
            if j != i
        ]
        got = hf_backend.generate(batch)[0].completions[0]
        assert got.text == text[: text.find(stop)]
        assert stop not in got.text
        assert got.finish_reason == "stop"
        assert got.completion_tokens <= gen.completions[0].completion_tokens


def test_eos_ends_with_stop_reason(hf_backend):
    sp = SamplingParams(max_tokens=12)
    [gen] = hf_backend.generate(reqs(sp, PROMPTS[:1]))
    import torch

    prompt = hf_backend.tokenizer(PROMPTS[0], return_tensors="pt")
    with torch.inference_mode():
        out = hf_backend.model.generate(**prompt, max_new_tokens=3, do_sample=False)
    saved = hf_backend.eos_ids
    hf_backend.eos_ids = {int(out[0, -1])}  # pretend the third generated token is EOS
    try:
        [short] = hf_backend.generate(reqs(sp, PROMPTS[:1]))
    finally:
        hf_backend.eos_ids = saved
    c = short.completions[0]
    assert c.finish_reason == "stop" and c.completion_tokens < 12
    assert gen.completions[0].text.startswith(c.text)


def test_chat_template_token_ids_without_double_bos(hf_backend):
    tok = hf_backend.tokenizer
    messages = ({"role": "user", "content": "What is 2 + 3?"},)
    ids = chat_token_ids(tok, messages)
    assert ids[0] == tok.bos_token_id and ids[1] != tok.bos_token_id
    assert ids.count(tok.bos_token_id) == 1
    sp = SamplingParams(max_tokens=8)
    [gen] = hf_backend.generate([GenerationRequest(id="c", messages=messages, sampling=sp)])
    assert gen.completions[0].prompt_tokens == len(ids)
    [same] = hf_backend.generate(
        [GenerationRequest(id="t", prompt=tok.decode(ids[1:]), sampling=sp)]
    )
    assert same.completions[0].text == gen.completions[0].text


def test_mixed_sampling_groups_keep_request_order(hf_backend):
    greedy = SamplingParams(max_tokens=6)
    short = SamplingParams(max_tokens=3)
    mixed = [
        GenerationRequest(id=f"m{i}", prompt=p, sampling=greedy if i % 2 else short)
        for i, p in enumerate(PROMPTS)
    ]
    seen = []
    gens = hf_backend.generate(mixed, on_result=seen.append)
    assert [g.request_id for g in gens] == [r.id for r in mixed]
    assert [g.completions[0].completion_tokens for g in gens] == [3, 6, 3, 6]
    assert sorted(g.request_id for g in seen) == sorted(r.id for r in mixed)
