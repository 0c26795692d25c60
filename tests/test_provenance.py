"""What run.json may record about a backend: no secrets at any depth, URLs without keys."""

from __future__ import annotations

import json

import pytest

from mwpbench.provenance import config_hash, recordable, redact_text, redact_url


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("http://localhost:8000/v1", "http://localhost:8000/v1"),
        ("https://alice:hunter2@host.example/v1", "https://***@host.example/v1"),
        ("https://host/openai?api-key=sk-abc&api-version=2024", "https://host/openai?api-key=***&api-version=***"),
        ("https://host/v1?sig=0xdeadbeef#frag", "https://host/v1?sig=***#frag"),
        ("https://host/v1?flag", "https://host/v1?flag"),
        ("not a url at all", "not a url at all"),
    ],
)  # fmt: skip
def test_redact_url(url, shown):
    assert redact_url(url) == shown


def test_redact_text_finds_urls_in_messages():
    text = "HTTP 500 from https://u:pw@h/v1/completions?key=SECRET: boom (see http://x/y)."
    assert redact_text(text) == (
        "HTTP 500 from https://***@h/v1/completions?key=***: boom (see http://x/y).")  # fmt: skip


def test_recordable_drops_secrets_at_any_depth_and_keeps_the_rest():
    options = {
        "base_url": ["https://bob:pw@h1/v1?api-key=sk-1", "http://h2:8000/v1"],
        "api_key": "sk-top", "hf_token": "hf_x", "api_key_env": "MY_KEY",
        "extra_body": {"headers": {"Authorization": "Bearer sk-2", "X-Api-Key": "sk-3",
                                   "X-Trace": "t"},
                       "chat_template_kwargs": {"enable_thinking": False},
                       "client_secret": "sk-4"},
        "tokenizer": "org/tok", "max_tokens": 5, "batch_size": 2,
    }  # fmt: skip
    out = recordable(options)
    text = json.dumps(out)
    for secret in ("sk-1", "sk-2", "sk-3", "sk-4", "sk-top", "hf_x", "pw", "bob"):
        assert secret not in text, secret
    assert out["base_url"] == ["https://***@h1/v1?api-key=***", "http://h2:8000/v1"]
    assert out["extra_body"] == {"headers": {"X-Trace": "t"},
                                 "chat_template_kwargs": {"enable_thinking": False}}  # fmt: skip
    assert (out["tokenizer"], out["max_tokens"], out["batch_size"]) == ("org/tok", 5, 2)


def test_a_key_in_the_url_does_not_change_the_configuration():
    a = config_hash({"backend_args": recordable({"base_url": ["https://h/v1?key=one"]})})
    b = config_hash({"backend_args": recordable({"base_url": ["https://h/v1?key=two"]})})
    assert a == b  # --resume works after a key rotation
