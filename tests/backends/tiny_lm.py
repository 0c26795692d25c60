"""The tiny random Llama of the tests: the demo's builder (mwpbench.demo), no downloads."""

from __future__ import annotations

from pathlib import Path

from mwpbench.demo import build_tiny_model


def build_tiny_lm(out: Path, *, hidden: int = 32, heads: int = 4) -> Path:
    """Save a random 2-layer Llama and its tokenizer to `out` (vLLM needs head dim 64+)."""
    return build_tiny_model(out, hidden=hidden, heads=heads)
