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


def list_backends() -> list[str]:
    """Registered backend names."""
    return sorted(BACKENDS)


def load_backend(name: str, **options: Any) -> Backend:
    """Build the backend registered as `name` with keyword options (see README table)."""
    cls = resolve("backend", name, BACKENDS)
    return cls(**options)


__all__ = [
    "Backend",
    "BackendBase",
    "error_generation",
    "list_backends",
    "load_backend",
    "shard",
]
