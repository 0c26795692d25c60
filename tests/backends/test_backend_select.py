"""Choosing and checking a backend before anything is loaded or written."""

from __future__ import annotations

import logging
import socket
import time

import pytest
from fake_openai_server import FakeOpenAIServer

from mwpbench.backends.select import (
    backend_parameters,
    check_backend,
    choose_backend,
    probe_endpoints,
)
from mwpbench.errors import BackendError, ConfigError


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_backend_follows_the_options():
    assert choose_backend(None, {"path": ["p.jsonl"]}) == "replay"
    assert choose_backend(None, {"base_url": ["http://h/v1"]}) == "openai"
    assert choose_backend("mock", {"base_url": ["http://h/v1"]}) == "mock"


def test_every_option_is_one_the_backend_takes():
    assert "batch_size" in (backend_parameters("hf") or [])
    assert backend_parameters("vllm") is None  # engine arguments pass through to vLLM
    with pytest.raises(ConfigError, match="unknown --backend-arg 'batchsize'.*'batch_size'"):
        check_backend("hf", "org/model", {"batchsize": 4})
    with pytest.raises(ConfigError, match="--tp is an option of the vllm backend"):
        check_backend("hf", "org/model", {"tensor_parallel_size": 2})
    with pytest.raises(ConfigError, match="--model, not --backend-arg"):
        check_backend("mock", "m", {"model": "other"})
    check_backend("mock", "m", {"mode": "gold"})
    check_backend("vllm", "org/model", {"max_num_seqs": 8})


def test_prediction_files_must_exist(tmp_path):
    with pytest.raises(ConfigError, match="needs --predictions"):
        check_backend("replay", "m", {})
    with pytest.raises(ConfigError, match="nope.jsonl does not exist"):
        check_backend("replay", "m", {"path": [str(tmp_path / "nope.jsonl")]})
    with pytest.raises(ConfigError, match="is a folder"):
        check_backend("replay", "m", {"paths": [str(tmp_path)]})
    (tmp_path / "p.jsonl").write_text("")
    check_backend("replay", "m", {"path": str(tmp_path / "p.jsonl")})


@pytest.mark.parametrize(
    ("url", "match"),
    [("", "empty"), ("   ", "empty"), ("localhost:8000", "http"), ("ftp://h/v1", "http"),
     ("http://", "http"), ("http://h:99999/v1", "not a valid URL"), ("http://h:0/v1", "port 0"),
     ("http://[::1/v1", "not a valid URL")],
)  # fmt: skip
def test_base_urls_are_http_urls(url, match):
    with pytest.raises(ConfigError, match=match):
        check_backend("openai", "m", {"base_url": [url]})


def test_a_secret_in_a_bad_url_is_not_repeated():
    with pytest.raises(ConfigError) as info:
        check_backend("openai", "m", {"base_url": ["htp://u:SECRET@h/v1?key=SECRET2"]})
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1, 0, "10"])
def test_openai_limits_are_positive_finite_numbers(bad):
    with pytest.raises(ConfigError, match="timeout must be a positive finite number"):
        check_backend("openai", "m", {"base_url": ["http://h/v1"], "timeout": bad})


def test_the_openai_service_needs_a_key(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("MY_KEY", raising=False)
    with pytest.raises(ConfigError, match=r"needs an API key: set \$OPENAI_API_KEY"):
        check_backend("openai", "gpt-x", {})
    with pytest.raises(ConfigError, match=r"\$MY_KEY"):
        check_backend("openai", "gpt-x", {"api_key_env": "MY_KEY"})
    monkeypatch.setenv("MY_KEY", "k")
    check_backend("openai", "gpt-x", {"api_key_env": "MY_KEY"})
    check_backend("openai", "m", {"base_url": "http://localhost:8000/v1"})  # own server


def test_endpoints_that_cannot_be_reached(caplog):
    refused = f"http://127.0.0.1:{_closed_port()}/v1"
    with pytest.raises(BackendError, match="connection refused.*nothing was written"):
        probe_endpoints([refused])
    with pytest.raises(BackendError, match="does not resolve"):
        probe_endpoints(["http://no-such-host.invalid/v1"])
    with FakeOpenAIServer() as server:
        probe_endpoints([server.url])
        with caplog.at_level(logging.WARNING):
            probe_endpoints([server.url, refused])  # one is enough to start
        assert "cannot be reached" in caplog.text and refused in caplog.text
        time.sleep(0.3)  # let the server close the probes' connections before it stops
