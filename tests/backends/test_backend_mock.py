from __future__ import annotations

import pytest

from mwpbench.backends.mock import MockBackend
from mwpbench.errors import ConfigError
from mwpbench.prompts import build_requests
from mwpbench.types import GenerationRequest, Problem, SamplingParams

PROBLEMS = [
    Problem(id=f"t/{i}", task="t", subset="t", question=f"q{i}", answer=str(i)) for i in range(5)
]


def test_gold_mode_boxes_the_gold_from_meta():
    reqs = build_requests(PROBLEMS, "none")
    gens = MockBackend().generate(reqs)
    assert [g.request_id for g in gens] == [r.id for r in reqs]
    assert [g.completions[0].text for g in gens] == [
        f"The answer is \\boxed{{{i}}}." for i in range(5)
    ]


def test_fn_mode_fixed_text_echo_and_stop():
    sp = SamplingParams(temperature=1.0, n=3, stop=("STOP",))
    r = GenerationRequest(id="a", prompt="hello", sampling=sp)
    gen = MockBackend(fn=lambda req, i: f"{req.prompt}-{i} STOP tail").generate([r])[0]
    assert [c.text for c in gen.completions] == ["hello-0 ", "hello-1 ", "hello-2 "]
    assert all(c.finish_reason == "stop" for c in gen.completions)
    assert MockBackend(mode="echo").generate([r])[0].completions[0].text == "hello"
    long = MockBackend(text="x y", finish_reason="length").generate([r])[0]
    assert long.completions[0].finish_reason == "length"


def test_scripted_failures_and_callback():
    reqs = build_requests(PROBLEMS, "none")
    seen = []
    gens = MockBackend(fail_ids={reqs[1].id}).generate(reqs, on_result=seen.append)
    assert gens[1].error and gens[1].completions == ()
    assert seen == gens


def test_bad_options():
    with pytest.raises(ConfigError):
        MockBackend(mode="fn")
    with pytest.raises(ConfigError):
        MockBackend(mode="nope")
