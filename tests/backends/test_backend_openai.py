"""The OpenAI-protocol backend against a local fault-injecting server (127.0.0.1 only)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter

import pytest

pytest.importorskip("openai")

from fake_openai_server import FakeOpenAIServer  # noqa: E402

from mwpbench.backends import load_backend  # noqa: E402
from mwpbench.backends.openai_compat import (  # noqa: E402
    MalformedResponse,
    OpenAIBackend,
    backoff_delay,
    parse_response,
    request_kwargs,
    retry_after_seconds,
    server_stops,
    stop_limit_from_error,
)
from mwpbench.errors import BackendError, ConfigError  # noqa: E402
from mwpbench.types import GenerationRequest, SamplingParams  # noqa: E402

FAST = {"backoff_base": 0.005, "backoff_max": 0.05}


def text_requests(n: int, sp: SamplingParams | None = None) -> list[GenerationRequest]:
    sp = sp or SamplingParams(max_tokens=16)
    return [GenerationRequest(id=f"r{i}", prompt=f"p{i}", sampling=sp) for i in range(n)]


@pytest.fixture
def server():
    with FakeOpenAIServer() as srv:
        yield srv


@pytest.mark.slow
def test_fault_storm_nothing_lost_nothing_twice_400_never_retried():
    rng = random.Random(0)
    retryable = ["429", "500", "503", "408", "409", "drop", "malformed", "badshape", "timeout"]
    faults: dict[str, list[str]] = {}
    fatal, exhausted = set(), set()
    max_retries = 4
    for i in range(240):
        key, roll = f"p{i}", rng.random()
        if roll < 0.05:
            faults[key] = [rng.choice(retryable[:2]), "400"]
            fatal.add(key)
        elif roll < 0.08:
            faults[key] = ["500"] * (max_retries + 1)
            exhausted.add(key)
        elif roll < 0.6:
            faults[key] = [rng.choice(retryable) for _ in range(rng.randint(1, 3))]
    plans = {k: list(v) for k, v in faults.items()}
    reqs = text_requests(240)
    # "timeout" faults hang until the server stops; the client gives up after 1 s
    with (
        FakeOpenAIServer(faults, hang_seconds=60) as a,
        FakeOpenAIServer(faults, hang_seconds=60) as b,
    ):
        backend = OpenAIBackend(
            "tiny",
            base_url=[a.url, b.url],
            concurrency=8,
            max_retries=max_retries,
            timeout=1.0,
            **FAST,
        )
        gens = backend.generate(reqs)
        attempts = a.attempts + b.attempts
        successes = a.successes + b.successes
        assert a.successes and b.successes  # both endpoints served
    assert [g.request_id for g in gens] == [r.id for r in reqs]
    for req, gen in zip(reqs, gens):
        key = req.prompt
        if key in fatal or key in exhausted:
            assert gen.error and gen.completions == (), key
            assert successes[key] == 0
        else:
            assert gen.error is None, (key, gen.error, plans.get(key))
            assert [c.text for c in gen.completions] == [f"echo: {key}"]
            assert successes[key] == 1  # generated exactly once
            assert attempts[key] == len(plans.get(key, [])) + 1
    for key in fatal:  # the 400 is the last attempt: never retried
        assert attempts[key] == 2 and "HTTP 400" in gens[int(key[1:])].error
    for key in exhausted:
        assert attempts[key] == max_retries + 1
        assert "gave up after 5 attempt(s)" in gens[int(key[1:])].error
    assert backend.stats["failed"] == len(fatal) + len(exhausted)


def test_retry_after_is_honoured():
    with FakeOpenAIServer({"p0": ["429"]}, retry_after="0.6") as srv:
        backend = OpenAIBackend("m", base_url=srv.url, backoff_base=0.001)
        start = time.monotonic()
        [gen] = backend.generate(text_requests(1))
        elapsed = time.monotonic() - start
    assert gen.completions[0].text == "echo: p0"
    assert elapsed >= 0.6


def test_chat_sampling_body_and_n(server):
    sp = SamplingParams(temperature=0.8, top_p=0.9, max_tokens=33, n=3, seed=5, stop=("</s>",))
    req = GenerationRequest(id="c1", messages=({"role": "user", "content": "hi"},), sampling=sp)
    [gen] = OpenAIBackend("m", base_url=server.url, **FAST).generate([req])
    assert [c.text for c in gen.completions] == ["echo: hi"] * 3
    [body] = server.bodies
    assert body["messages"] == [{"role": "user", "content": "hi"}]
    assert (body["n"], body["max_tokens"], body["temperature"], body["top_p"]) == (3, 33, 0.8, 0.9)
    assert body["stop"] == ["</s>"] and body["seed"] % 3 == 5 % 3


def test_greedy_body_and_client_side_stop(server):
    sp = SamplingParams(max_tokens=8, stop=("never", "o: p"))
    backend = OpenAIBackend("m", base_url=server.url, max_stop_sequences=1, **FAST)
    [gen] = backend.generate(text_requests(1, sp))
    assert gen.completions[0].text == "ech"
    assert gen.completions[0].finish_reason == "stop"
    [body] = server.bodies
    assert body["stop"] == ["never"] and body["temperature"] == 0.0 and "seed" not in body


def test_works_inside_a_running_event_loop(server):
    backend = OpenAIBackend("m", base_url=server.url, **FAST)

    async def notebook_cell():
        return backend.generate(text_requests(5))

    gens = asyncio.run(notebook_cell())
    assert [g.completions[0].text for g in gens] == [f"echo: p{i}" for i in range(5)]


def test_api_key_sources(server, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-env")
    monkeypatch.setenv("MY_KEY", "sk-mine")
    OpenAIBackend("m", base_url=server.url, **FAST).generate(text_requests(1))
    OpenAIBackend("m", base_url=server.url, api_key_env="MY_KEY", **FAST).generate(text_requests(1))
    assert server.auth == Counter({"Bearer sk-env": 1, "Bearer sk-mine": 1})
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(ConfigError, match="OPENAI_API_KEY"):
        OpenAIBackend("m")
    backend = load_backend("openai", model="m", base_url=server.url, api_key="sk-secret")
    assert "sk-secret" not in repr(backend.describe())


def test_callback_sees_every_result_once(server):
    seen = []
    OpenAIBackend("m", base_url=server.url, **FAST).generate(
        text_requests(20), on_result=seen.append
    )
    assert sorted(g.request_id for g in seen) == sorted(f"r{i}" for i in range(20))


def test_no_server_is_a_quick_clear_error():
    backend = OpenAIBackend("m", base_url="http://127.0.0.1:9/v1", max_retries=8, **FAST)
    start = time.monotonic()
    with pytest.raises(BackendError, match="no OpenAI-compatible server answers.*Start it"):
        backend.generate(text_requests(3))
    assert time.monotonic() - start < 10
    assert backend.stats["attempts"] == 0  # nothing was sent


def test_server_crash_mid_run_gives_up_in_seconds_keeping_what_finished():
    faults = {"p12": ["crash"]}
    seen: list[str] = []
    with FakeOpenAIServer(faults, latency=0.01) as srv:
        backend = OpenAIBackend("m", base_url=srv.url, concurrency=2, max_retries=8,
                                backoff_base=0.2, backoff_max=1.0)  # fmt: skip
        start = time.monotonic()
        with pytest.raises(BackendError, match="refuses connections.*--resume") as info:
            backend.generate(text_requests(40), on_result=lambda g: seen.append(g.request_id))
        elapsed = time.monotonic() - start
        finished = set(srv.successes)
    assert elapsed < 15  # not minutes of retries
    assert 10 <= len(seen) < 40 and {f"p{r[1:]}" for r in seen} == finished
    assert f"{len(seen)} of 40 requests finished" in str(info.value)


def test_stops_over_the_server_limit_are_applied_on_the_client():
    official = ("Question:", "Question", "USER:", "USER", "ASSISTANT:", "ASSISTANT",
                "Instruction:", "Instruction", "Response:", "Response", "</s>")  # fmt: skip
    sp = SamplingParams(max_tokens=8, stop=(*official, "o: p"))
    with FakeOpenAIServer(max_stops=2) as srv:
        backend = OpenAIBackend("m", base_url=srv.url, concurrency=4, **FAST)
        gens = backend.generate(text_requests(12, sp))
        sent = [len(b["stop"]) for b in srv.bodies]
    assert [g.error for g in gens] == [None] * 12
    assert [g.completions[0].text for g in gens] == ["ech"] * 12  # cut at "o: p", client-side
    assert all(g.completions[0].finish_reason == "stop" for g in gens)
    assert max(sent) == 4 and sent.count(2) == 12  # 4 by default, then the server's 2
    assert backend.max_stop_sequences == 2


def test_server_stops_drop_redundant_prefixes_first():
    stops = ("Question:", "Question", "USER:", "USER", "</s>", "Question")
    assert server_stops(stops, None) == ["Question", "USER", "</s>"]
    assert server_stops(stops, 2) == ["Question", "USER"]
    assert stop_limit_from_error("'loc': ('body', 'stop'), 'msg': 'at most 4 items'") == 4
    assert stop_limit_from_error("max_tokens must be at most 4 items") is None


def test_max_tokens_clamped_to_the_served_max_model_len():
    with FakeOpenAIServer(max_model_len=64) as srv:
        backend = OpenAIBackend("m", base_url=srv.url, **FAST)
        gens = backend.generate(text_requests(3, SamplingParams(max_tokens=500)))
        gens += backend.generate(text_requests(1, SamplingParams(max_tokens=10)))
        assert [b["max_tokens"] for b in srv.bodies] == [64, 64, 64, 10]
    assert [g.error for g in gens] == [None] * 4 and backend.server_max_model_len == 64


def test_sampling_the_server_would_refuse_is_refused_up_front(server):
    backend = OpenAIBackend("m", base_url=server.url, **FAST)
    with pytest.raises(ConfigError, match="temperature 2.5 is above 2"):
        backend.generate(text_requests(2, SamplingParams(temperature=2.5)))
    with pytest.raises(ConfigError, match="temperature"):
        OpenAIBackend.check_sampling(SamplingParams(temperature=3.0))
    assert server.bodies == []


# --- pure pieces ---------------------------------------------------------------------------


def test_request_kwargs_text_and_chat():
    sp = SamplingParams(temperature=0.0, top_p=0.5, max_tokens=7, stop=("a", "b"), seed=3)
    [text] = text_requests(1, sp)
    kw = request_kwargs(text, model="m", extra_body={"top_k": 20})
    assert kw == {
        "model": "m",
        "max_tokens": 7,
        "temperature": 0.0,
        "top_p": 1.0,
        "n": 1,
        "stop": ["a", "b"],
        "extra_body": {"top_k": 20},
        "prompt": "p0",
    }
    chat = GenerationRequest(id="c", messages=({"role": "user", "content": "x"},), sampling=sp)
    assert request_kwargs(chat, model="m")["messages"] == [{"role": "user", "content": "x"}]


def test_parse_response_validates_shape():
    [req] = text_requests(1, SamplingParams(stop=("STOP",)))
    ok = {
        "choices": [{"index": 0, "text": "a STOP b", "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4},
    }
    [c] = parse_response(req, ok).completions
    assert (c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens) == ("a ", "stop", 3, 4)
    length = {"choices": [{"index": 0, "text": "abc", "finish_reason": "length"}]}
    assert parse_response(req, length).completions[0].finish_reason == "length"
    for bad in [
        [],
        {"choices": None},
        {"choices": []},
        {"choices": [{"text": None}]},
        {"choices": ["x"]},
    ]:
        with pytest.raises(MalformedResponse):
            parse_response(req, bad)


def test_retry_after_parsing_and_backoff():
    assert retry_after_seconds({"retry-after": "2"}) == 2.0
    assert retry_after_seconds({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert (
        retry_after_seconds({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412470) == 10
    )
    assert retry_after_seconds({"retry-after": "soon"}) is None
    assert retry_after_seconds({}) is None
    assert backoff_delay(3, base=1, cap=60, retry_after=7.0, max_retry_after=5) == 5
    delays = [
        backoff_delay(a, base=1, cap=10, retry_after=None, max_retry_after=5) for a in range(1, 8)
    ]
    assert 0.5 <= delays[0] <= 1 and 2 <= delays[2] <= 4 and all(d <= 10 for d in delays)
