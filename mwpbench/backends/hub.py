"""Is a Hugging Face model there before anything loads? A bad model id, or a hub that
cannot be reached (offline, air-gapped, `HF_HUB_OFFLINE=1`), fails in a second with what to
do, instead of after the loader's retries and the data loading.

A local folder or a model already in the Hugging Face cache passes without any network.
Otherwise one metadata request (`huggingface_hub.model_info`, short timeout) tells a
missing or private repository from an unreachable hub; a gated model passes (the loader
asks for the token).
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from mwpbench.errors import BackendError, ConfigError

log = logging.getLogger(__name__)

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_TRUE = ("1", "true", "yes", "on")


def offline() -> bool:
    """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) is set."""
    return any(os.environ.get(k, "").strip().lower() in _TRUE
               for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"))  # fmt: skip


def cached(model: str) -> bool:
    """The model's config.json is in the Hugging Face cache."""
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - a dependency of datasets and transformers
        return False
    try:
        return isinstance(try_to_load_from_cache(model, "config.json"), str)
    except Exception:  # noqa: BLE001 - an id the cache cannot even name: not cached
        return False


def check_model(model: str, *, timeout: float = 5.0) -> None:
    """ConfigError / BackendError when `model` is neither a local folder nor cached and the
    hub does not have it (or cannot be asked); nothing when it will load."""
    if Path(model).expanduser().exists() or not _HUB_ID.match(model) or cached(model):
        return
    local = ("give a local model folder with --model, or download it where there is network "
             f"(huggingface-cli download {model}) and copy the Hugging Face cache here")  # fmt: skip
    if offline():
        raise ConfigError(
            f"model {model!r} is not a local folder and not in the Hugging Face cache, and "
            f"HF_HUB_OFFLINE is set, so it cannot be downloaded: {local}"
        )
    try:
        import huggingface_hub
        from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError
    except ImportError:  # pragma: no cover
        return
    try:
        huggingface_hub.model_info(model, timeout=timeout)
    except GatedRepoError:
        return  # exists; the loader asks for access with the token
    except RepositoryNotFoundError:
        raise ConfigError(
            f"model {model!r}: no such model on the Hugging Face hub (a typo? a private model "
            "needs HF_TOKEN), and no such local folder"
        ) from None
    except Exception as exc:  # noqa: BLE001 - DNS, refused, timeout, proxy: unreachable
        raise BackendError(
            f"model {model!r} is not a local folder and not in the Hugging Face cache, and the "
            f"hub cannot be reached ({type(exc).__name__}: {exc}): {local} (or set HF_ENDPOINT "
            "to a mirror)"
        ) from None


__all__ = ["cached", "check_model", "offline"]
