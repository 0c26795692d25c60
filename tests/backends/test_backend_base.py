from __future__ import annotations

import subprocess
import sys

import pytest

from mwpbench.backends import Backend, list_backends, load_backend, shard
from mwpbench.backends.base import derive_seed, truncate_at_stop, validate_requests
from mwpbench.errors import ConfigError, MissingExtraError, UnknownNameError
from mwpbench.registry import BACKENDS
from mwpbench.types import GenerationRequest, SamplingParams


def req(i: int | str, **sampling) -> GenerationRequest:
    return GenerationRequest(id=f"r{i}", prompt=f"p{i}", sampling=SamplingParams(**sampling))


def test_registry_lists_every_backend():
    assert list_backends() == ["hf", "mock", "openai", "ray", "replay", "vllm"]
    assert set(BACKENDS) == set(list_backends())


def test_load_backend_unknown_name_suggests():
    with pytest.raises(UnknownNameError, match="Did you mean 'vllm'"):
        load_backend("vllmm")


def test_load_backend_builds_mock_and_context_manager():
    with load_backend("mock", text="hi") as backend:
        assert isinstance(backend, Backend)
        [gen] = backend.generate([req(1)])
        assert gen.completions[0].text == "hi"
    assert backend.closed
    backend.close()  # twice is harmless


@pytest.mark.parametrize(
    ("name", "module", "extra"),
    [("openai", "openai", "openai"), ("vllm", "vllm", "vllm"), ("hf", "torch", "hf"),
     ("ray", "ray", "ray")],
)
def test_missing_sdk_names_the_extra(monkeypatch, name, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import of it raises ImportError
    with pytest.raises(MissingExtraError, match=rf"mwpbench\[{extra}\]"):
        load_backend(name, model="m")


def test_importing_backends_and_prompts_loads_no_sdk():
    code = (
        "import sys, mwpbench.backends, mwpbench.prompts, mwpbench.backends.vllm, "
        "mwpbench.backends.hf, mwpbench.backends.openai_compat, mwpbench.backends.replay, "
        "mwpbench.backends.mock, mwpbench.backends.ray, mwpbench.backends.ray_replica\n"
        "bad = [m for m in ('torch', 'transformers', 'vllm', 'openai', 'ray', 'pyarrow') "
        "if m in sys.modules]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_validate_requests_rejects_bad_input():
    with pytest.raises(ConfigError, match="greedy"):
        validate_requests([req(1, n=4)])
    with pytest.raises(ConfigError, match="duplicate request id"):
        validate_requests([req(1), req(1)])
    with pytest.raises(ConfigError, match="exactly one"):
        validate_requests([GenerationRequest(id="x")])
    with pytest.raises(ConfigError, match="top_p"):
        validate_requests([req(1, temperature=1.0, top_p=0.0)])
    validate_requests([req(1, temperature=0.7, n=4)])


def test_derive_seed_spacing_and_stability():
    n = 8
    seeds = [derive_seed(1234, f"req-{i}", n) for i in range(2000)]
    assert seeds == [derive_seed(1234, f"req-{i}", n) for i in range(2000)]
    assert all((s - 1234) % n == 0 for s in seeds)
    distinct = sorted(set(seeds))
    assert all(b - a >= n for a, b in zip(distinct, distinct[1:]))
    assert derive_seed(None, "x", 4) is None
    assert derive_seed(1, "x", 4) != derive_seed(2, "x", 4)


def test_truncate_at_stop_takes_earliest():
    assert truncate_at_stop("a Question b Response c", ("Response", "Question")) == ("a ", True)
    assert truncate_at_stop("abc", ("x", "")) == ("abc", False)


# --- sharding ------------------------------------------------------------------------------


@pytest.mark.parametrize("num_shards", [1, 2, 3, 7, 64])
def test_shards_are_disjoint_balanced_and_complete(num_shards):
    items = [req(i) for i in range(1000)]
    parts = [shard(items, num_shards, k) for k in range(num_shards)]
    ids = [r.id for p in parts for r in p]
    assert sorted(ids) == sorted(r.id for r in items)
    assert len(set(ids)) == len(ids)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1
    for p in parts:  # original order kept inside a shard
        pos = [int(r.id[1:]) for r in p]
        assert pos == sorted(pos)


def test_shard_is_independent_of_input_order():
    items = [req(i) for i in range(200)]
    a = {r.id for r in shard(items, 4, 1)}
    b = {r.id for r in shard(list(reversed(items)), 4, 1)}
    assert a == b


def test_shard_argument_errors():
    items = [req(i) for i in range(3)]
    with pytest.raises(ConfigError, match="num_shards"):
        shard(items, 0, 0)
    with pytest.raises(ConfigError, match="shard_index"):
        shard(items, 2, 2)
    with pytest.raises(ConfigError, match="shard_index"):
        shard(items, 2, -1)
    with pytest.raises(ConfigError, match="num_shards"):
        shard(items, True, 0)
    with pytest.raises(ConfigError, match="duplicate"):
        shard([req(1), req(1)], 2, 0)
    assert shard([], 3, 2) == []
    assert [x for x in shard(["a", "b", "c"], 1, 0, key=str)] == ["a", "b", "c"]
