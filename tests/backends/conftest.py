"""Fixtures for backend tests: a tiny random causal LM (built locally) and a fake server."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch
    from tiny_lm import build_tiny_lm

    torch.set_num_threads(1)
    return build_tiny_lm(tmp_path_factory.mktemp("tiny-lm"))


@pytest.fixture(scope="session")
def hf_backend(tiny_lm_dir: Path):
    from mwpbench.backends.hf import HFBackend

    backend = HFBackend(str(tiny_lm_dir), device="cpu", batch_size=4)
    yield backend
    backend.close()
