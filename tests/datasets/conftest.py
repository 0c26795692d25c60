"""pytest fixtures of the dataset tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from dataset_fixtures import SHARED


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not present (real public test files)")
    return SHARED
