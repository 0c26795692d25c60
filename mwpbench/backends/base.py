"""The batched backend Protocol and the small pure helpers every backend shares.

A backend answers a whole list of GenerationRequests at once and returns one Generation per
request, in the same order. A request that fails for good (after the backend's retries)
becomes a Generation with `error` set and no completions: never an invented answer.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar, runtime_checkable

from mwpbench.errors import ConfigError
from mwpbench.types import Completion, Generation, GenerationRequest, SamplingParams

OnResult = Callable[[Generation], None]
"""Optional callback: called once per finished Generation (order not guaranteed)."""


@runtime_checkable
class Backend(Protocol):
    """What the runner needs from a backend."""

    name: str

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        """Answer every request; the i-th Generation answers the i-th request."""
        ...

    def close(self) -> None:
        """Release engines, clients and memory. Calling it twice is harmless."""
        ...


_Self = TypeVar("_Self", bound="BackendBase")

class BackendBase:
    """Shared plumbing: context manager, idempotent close, a description for run.json."""

    name = "base"

    def __init__(self, **options: Any) -> None:
        self.options: dict[str, Any] = dict(options)
        self.closed = False

    @staticmethod
    def check_sampling(sampling: SamplingParams) -> None:
        """Refuse, before any model loads, sampling this backend would refuse mid-run."""
        validate_sampling(sampling)

    def describe(self) -> dict[str, Any]:
        """The backend name and its options, JSON-friendly (recorded in run.json)."""
        return {"backend": self.name, **{k: _jsonable(v) for k, v in self.options.items()}}

    def close(self) -> None:
        self.closed = True

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return repr(value)


# --- request checks ----------------------------------------------------------------------


def is_greedy(request: GenerationRequest) -> bool:
    return request.sampling.temperature == 0.0


def validate_sampling(
    sp: SamplingParams, *, max_temperature: float | None = None, where: str = "sampling"
) -> None:
    """Refuse sampling parameters no backend (or not this one) can serve (ConfigError).

    `max_temperature` is the backend's ceiling (vLLM and the OpenAI API refuse more than 2);
    checking it here, before any request is sent, keeps a bad option from killing a run
    half-way.
    """
    if sp.n < 1:
        raise ConfigError(f"{where}: n must be >= 1, got {sp.n}")
    if sp.max_tokens < 1:
        raise ConfigError(f"{where}: max_tokens must be >= 1, got {sp.max_tokens}")
    if not math.isfinite(sp.temperature) or sp.temperature < 0:
        raise ConfigError(f"{where}: temperature must be >= 0, got {sp.temperature}")
    if max_temperature is not None and sp.temperature > max_temperature:
        raise ConfigError(
            f"{where}: temperature {sp.temperature} is above {max_temperature:g}, which this "
            f"backend refuses; pass a temperature between 0 and {max_temperature:g}"
        )
    if not 0 < sp.top_p <= 1:
        raise ConfigError(f"{where}: top_p must be in (0, 1], got {sp.top_p}")
    if any(not s for s in sp.stop):
        raise ConfigError(f"{where}: a stop string is empty; drop it")


def validate_request(request: GenerationRequest) -> None:
    """Reject requests no backend can serve faithfully (ConfigError names the request)."""
    sp = request.sampling
    if (request.prompt is None) == (request.messages is None):
        raise ConfigError(
            f"request {request.id!r}: give exactly one of `prompt` (text) or `messages` (chat)"
        )
    validate_sampling(sp, where=f"request {request.id!r}")
    if sp.temperature == 0.0 and sp.n > 1:
        raise ConfigError(
            f"request {request.id!r}: greedy decoding (temperature 0) with n={sp.n} would "
            "return n identical completions; set temperature > 0 to sample, or n=1"
        )


def validate_requests(requests: Sequence[GenerationRequest]) -> None:
    """validate_request on each, plus: request ids are unique within the batch."""
    seen: set[str] = set()
    for request in requests:
        if request.id in seen:
            raise ConfigError(
                f"duplicate request id {request.id!r}: ids must be unique within a run"
            )
        seen.add(request.id)
        validate_request(request)


# --- seeds -------------------------------------------------------------------------------

_SEED_SLOTS = 2**31


def derive_seed(base_seed: int | None, request_id: str, n: int) -> int | None:
    """A per-request seed from the run's base seed, stable under sharding and resume.

    Seeds are multiples of n (plus the base), so two requests never share any of the n
    consecutive seeds vLLM gives a request's n samples (seed, seed+1, ..., seed+n-1).
    """
    if base_seed is None:
        return None
    digest = hashlib.blake2b(request_id.encode("utf-8"), digest_size=8).digest()
    slot = int.from_bytes(digest, "big") % (_SEED_SLOTS // max(n, 1))
    return int(base_seed) + slot * max(n, 1)


# --- results -----------------------------------------------------------------------------


def error_generation(request: GenerationRequest | str, message: str) -> Generation:
    """The Generation for a request that failed for good: no completions, `error` set."""
    request_id = request if isinstance(request, str) else request.id
    return Generation(request_id=request_id, completions=(), error=message)


def truncate_at_stop(text: str, stop: Sequence[str]) -> tuple[str, bool]:
    """Cut `text` at the earliest occurrence of any stop string (the stop string excluded)."""
    cut = -1
    for s in stop:
        if not s:
            continue
        i = text.find(s)
        if i != -1 and (cut == -1 or i < cut):
            cut = i
    if cut == -1:
        return text, False
    return text[:cut], True


def chat_token_ids(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> list[int]:
    """Apply the tokenizer's chat template and return token ids, with no doubled BOS.

    The template text already carries the BOS token where the model wants one, so it is
    encoded with add_special_tokens=False.
    """
    text = tokenizer.apply_chat_template(
        [dict(m) for m in messages], tokenize=False, add_generation_prompt=True
    )
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def text_token_ids(tokenizer: Any, prompt: str) -> list[int]:
    """Encode a plain-text prompt the way the model expects it (BOS added once, if any)."""
    return list(tokenizer(prompt, add_special_tokens=True)["input_ids"])


def prompt_token_ids(tokenizer: Any, request: GenerationRequest) -> list[int]:
    """Token ids of a request's prompt: chat messages through the chat template, or text."""
    if request.messages is not None:
        return chat_token_ids(tokenizer, request.messages)
    assert request.prompt is not None
    return text_token_ids(tokenizer, request.prompt)


__all__ = [
    "Backend",
    "BackendBase",
    "Completion",
    "OnResult",
    "chat_token_ids",
    "derive_seed",
    "error_generation",
    "is_greedy",
    "prompt_token_ids",
    "text_token_ids",
    "truncate_at_stop",
    "validate_request",
    "validate_sampling",
    "validate_requests",
]
