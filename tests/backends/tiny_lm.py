"""The tiny random Llama of the tests: the demo's builder (mwpbench.demo), no downloads."""

from __future__ import annotations

from pathlib import Path

from mwpbench.demo import build_tiny_model


def build_tiny_lm(out: Path, *, hidden: int = 64, heads: int = 2, layers: int = 2) -> Path:
    """Save a random Llama and its tokenizer to `out` (head dim 32: vLLM's CPU kernels
    need 32 or more)."""
    return build_tiny_model(out, hidden=hidden, heads=heads, layers=layers)
