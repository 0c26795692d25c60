"""Progress bars (tqdm) for the long steps of a run: one at a time, switchable off."""

from __future__ import annotations

from typing import Any


def progress_bar(total: int, desc: str, enabled: bool) -> Any:
    """A tqdm bar counting samples; disabled when `enabled` is false or there is nothing to do."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", disable=not enabled or total == 0,
                dynamic_ncols=True, leave=False)  # fmt: skip


__all__ = ["progress_bar"]
