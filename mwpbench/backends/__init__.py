"""Generation backends behind one batched Protocol (see base.py).

`load_backend(name, **options)` resolves a name through `mwpbench.registry.BACKENDS`;
heavy SDKs (vllm, openai, torch/transformers) are imported only when their backend is built,
and a missing one raises MissingExtraError naming the pip extra.
"""

from __future__ import annotations

from typing import Any

from mwpbench.backends.base import Backend, BackendBase, error_generation
from mwpbench.registry import BACKENDS, resolve
from mwpbench.sharding import shard
from mwpbench.types import SamplingParams


def list_backends() -> list[str]:
    """Registered backend names."""
    return sorted(BACKENDS)


def load_backend(name: str, **options: Any) -> Backend:
    """Build the backend registered as `name` with keyword options (see README table)."""
    cls = resolve("backend", name, BACKENDS)
    return cls(**options)


def check_sampling(backend: str | Any, sampling: SamplingParams) -> None:
    """Refuse sampling that backend `backend` (a name or an instance) would refuse mid-run.

    Raises ConfigError before any model loads: vLLM, for one, refuses a temperature above 2
    only when the request reaches it. Backends without a `check_sampling` accept anything.
    """
    owner = resolve("backend", backend, BACKENDS) if isinstance(backend, str) else backend
    check = getattr(owner, "check_sampling", None)
    if callable(check):
        check(sampling)


__all__ = [
    "Backend",
    "BackendBase",
    "check_sampling",
    "error_generation",
    "list_backends",
    "load_backend",
    "shard",
]
