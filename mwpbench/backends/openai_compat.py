"""OpenAI-protocol servers (vLLM `serve`, SGLang, OpenAI...): completions and chat endpoints.

Async client, called from synchronous code: `generate` runs its own event loop (in a helper
thread when the calling thread already runs one, as in Jupyter). Each base URL gets
`concurrency` workers pulling from one shared queue, so faster endpoints take more work and a
retried request may go to another endpoint. The SDK's own retries are off; ours retry
connection errors, timeouts, 408, 409, 429 (honouring Retry-After), 5xx and malformed
responses with exponential backoff and jitter, and never a 400 or other 4xx. A request that
fails for good becomes a Generation with `error` set.

Server limits are met on the client: at most `max_stop_sequences` stop strings go to the
server (4 by default, the limit of OpenAI and of vLLM's server; fewer when a server says so
in a 400) and every stop string is applied to the returned text; `max_tokens` is clamped to
the `max_model_len` a vLLM server reports on /v1/models. When every endpoint refuses
connections (no server, or it crashed) the run stops within seconds with a BackendError,
keeping every finished result, instead of retrying for minutes.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
import re
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    derive_seed,
    error_generation,
    is_greedy,
    truncate_at_stop,
    validate_requests,
    validate_sampling,
)
from mwpbench.errors import BackendError, ConfigError, MissingExtraError
from mwpbench.types import Completion, FinishReason, Generation, GenerationRequest, SamplingParams

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429})


class MalformedResponse(ValueError):
    """A 2xx response whose body is not the completion the protocol promises."""


MAX_TEMPERATURE = 2.0
"""OpenAI and vLLM's server refuse a higher temperature (HTTP 400 on every request)."""

DEFAULT_MAX_STOPS = 4
"""Stop strings sent to the server: OpenAI's limit and vLLM's (VLLM_MAX_STOP_STRINGS)."""


@dataclass
class _Failure:
    retryable: bool
    message: str
    retry_after: float | None = None
    refused: bool = False  # the connection was refused: nothing listens there
    stop_limit: int | None = None  # a 400 saying the server takes at most this many stops
    stops_sent: int = 0


@dataclass
class _Item:
    index: int
    request: GenerationRequest
    attempts: int = 0


# --- pure mapping (tested without a server) ---------------------------------------------


def server_stops(stop: Sequence[str], limit: int | None) -> list[str]:
    """The stop strings to send a server that takes at most `limit` of them.

    A stop string that starts with another one never cuts anywhere else ("Question:" after
    "Question"), so it is dropped first; then the first `limit` are sent. The returned text
    is cut at every stop string on the client anyway (parse_response), so a stop that is
    not sent only costs the tokens generated past it.
    """
    kept = [s for s in dict.fromkeys(stop) if not any(o != s and s.startswith(o) for o in stop)]
    return kept if limit is None else kept[: max(limit, 0)]


def stop_limit_from_error(message: str) -> int | None:
    """The stop-string limit a 400 states (vLLM: "List should have at most 4 items ...")."""
    if "stop" not in message:
        return None
    found = re.search(r"at most (\d+) item", message)
    return int(found.group(1)) if found else None


def request_kwargs(
    request: GenerationRequest,
    *,
    model: str,
    max_stop_sequences: int | None = None,
    max_tokens_cap: int | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `completions.create` (text) or `chat.completions.create`.

    `max_stop_sequences`: send at most this many stop strings (see server_stops; all are
    applied to the returned text). `max_tokens_cap`: the server's max_model_len; a larger
    max_tokens is refused by vLLM's server, which stops at its context length anyway.
    """
    sp = request.sampling
    greedy = is_greedy(request)
    stop = server_stops(sp.stop, max_stop_sequences)
    max_tokens = sp.max_tokens if max_tokens_cap is None else min(sp.max_tokens, max_tokens_cap)
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": 0.0 if greedy else sp.temperature,
        "top_p": 1.0 if greedy else sp.top_p,
        "n": sp.n,
    }
    if stop:
        kwargs["stop"] = stop
    seed = None if greedy else derive_seed(sp.seed, request.id, sp.n)
    if seed is not None:
        kwargs["seed"] = seed
    if extra_body:
        kwargs["extra_body"] = dict(extra_body)
    if request.messages is not None:
        kwargs["messages"] = [dict(m) for m in request.messages]
    else:
        kwargs["prompt"] = request.prompt
    return kwargs


def parse_response(request: GenerationRequest, data: Any) -> Generation:
    """A decoded JSON body -> Generation; MalformedResponse when it is not a valid answer."""
    if not isinstance(data, dict) or not isinstance(data.get("choices"), list):
        raise MalformedResponse("no 'choices' list in the response")
    choices = data["choices"]
    n = request.sampling.n
    if len(choices) != n:
        raise MalformedResponse(f"expected {n} choice(s), got {len(choices)}")
    chat = request.messages is not None
    usage: dict[str, Any] = data["usage"] if isinstance(data.get("usage"), dict) else {}
    prompt_tokens = usage.get("prompt_tokens")
    completion_tokens = usage.get("completion_tokens") if n == 1 else None
    ordered = sorted(choices, key=lambda c: c.get("index", 0) if isinstance(c, dict) else 0)
    completions = []
    for choice in ordered:
        if not isinstance(choice, dict):
            raise MalformedResponse("a choice is not an object")
        finish = choice.get("finish_reason")
        if chat:
            message = choice.get("message")
            if not isinstance(message, dict):
                raise MalformedResponse("a chat choice has no 'message'")
            text = message.get("content")
            if text is None and finish == "length":
                text = ""
        else:
            text = choice.get("text")
        if not isinstance(text, str):
            raise MalformedResponse("a choice has no text")
        text, stopped = truncate_at_stop(text, request.sampling.stop)
        reason: FinishReason = "length" if finish == "length" and not stopped else "stop"
        completions.append(
            Completion(
                text=text,
                finish_reason=reason,
                prompt_tokens=prompt_tokens if isinstance(prompt_tokens, int) else None,
                completion_tokens=(
                    completion_tokens if isinstance(completion_tokens, int) else None
                ),
            )
        )
    return Generation(request_id=request.id, completions=tuple(completions))


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds to wait from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms is not None:
        try:
            return max(0.0, float(ms) / 1000.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def backoff_delay(
    attempt: int, *, base: float, cap: float, retry_after: float | None, max_retry_after: float
) -> float:
    """Retry-After when the server sent one; else exponential backoff with jitter."""
    if retry_after is not None:
        return min(retry_after, max_retry_after)
    return min(cap, base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)  # noqa: S311


# --- the backend -------------------------------------------------------------------------


class OpenAIBackend(BackendBase):
    """Completions (`prompt`) and chat (`messages`) requests against OpenAI-protocol URLs."""

    name = "openai"

    @staticmethod
    def check_sampling(sampling: SamplingParams) -> None:
        validate_sampling(sampling, max_temperature=MAX_TEMPERATURE)

    def __init__(
        self,
        model: str,
        *,
        base_url: str | Sequence[str] | None = None,
        api_key: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        concurrency: int = 64,
        max_retries: int = 8,
        timeout: float = 600.0,
        backoff_base: float = 1.0,
        backoff_max: float = 60.0,
        max_retry_after: float = 300.0,
        max_stop_sequences: int | None = DEFAULT_MAX_STOPS,
        max_refused: int = 3,
        extra_body: Mapping[str, Any] | None = None,
    ) -> None:
        try:
            import openai
        except ImportError as exc:
            raise MissingExtraError("openai", "openai") from exc
        urls: list[str | None]
        if base_url is None:
            urls = [None]
        elif isinstance(base_url, str):
            urls = [u.strip() for u in base_url.split(",") if u.strip()]
        else:
            urls = list(base_url)
        if not urls:
            raise ConfigError("openai backend: base_url is empty")
        if int(concurrency) < 1 or int(max_retries) < 0 or int(max_refused) < 1:
            raise ConfigError(
                "openai backend: concurrency >= 1, max_retries >= 0 and max_refused >= 1, please"
            )
        if max_stop_sequences is not None and int(max_stop_sequences) < 0:
            raise ConfigError("openai backend: max_stop_sequences must be >= 0 (or None: all)")
        key = api_key or os.environ.get(api_key_env)
        if not key:
            if urls == [None]:
                raise ConfigError(
                    f"openai backend: no API key; set ${api_key_env} (or api_key_env= to "
                    "name another variable), or give base_url= for a server without keys"
                )
            key = "EMPTY"  # self-hosted servers (vllm serve) accept any key
        super().__init__(
            model=model,
            base_url=urls,
            api_key_env=api_key_env,
            concurrency=int(concurrency),
            max_retries=int(max_retries),
            timeout=float(timeout),
            max_stop_sequences=max_stop_sequences,
            max_refused=int(max_refused),
            extra_body=dict(extra_body or {}),
        )
        self._openai = openai
        self._api_key = key  # never in options: options end up in run.json
        self.model = model
        self.base_urls = urls
        self.concurrency = int(concurrency)
        self.max_retries = int(max_retries)
        self.timeout = float(timeout)
        self.backoff_base = float(backoff_base)
        self.backoff_max = float(backoff_max)
        self.max_retry_after = float(max_retry_after)
        self.max_stop_sequences = None if max_stop_sequences is None else int(max_stop_sequences)
        self.max_refused = int(max_refused)
        self.extra_body = dict(extra_body or {})
        self.server_max_model_len: int | None = None  # from /v1/models, when reported
        self.stats = {"attempts": 0, "retries": 0, "failed": 0}

    # sync entry ------------------------------------------------------------------------

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        validate_requests(requests)
        for request in requests:
            validate_sampling(
                request.sampling, max_temperature=MAX_TEMPERATURE, where=f"request {request.id!r}"
            )
        if not requests:
            return []
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(self.agenerate(requests, on_result=on_result))
        # A loop already runs in this thread (Jupyter): run ours in a helper thread.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="mwpbench-openai") as pool:
            return pool.submit(asyncio.run, self.agenerate(requests, on_result=on_result)).result()

    # async core ------------------------------------------------------------------------

    async def agenerate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        """The async form of generate (call it from your own event loop)."""
        clients = [
            self._openai.AsyncOpenAI(
                api_key=self._api_key, base_url=url, max_retries=0, timeout=self.timeout
            )
            for url in self.base_urls
        ]
        try:
            await self._probe(clients)
            return await self._run(clients, requests, on_result)
        finally:
            for client in clients:
                await client.close()

    async def _probe(self, clients: Sequence[Any]) -> None:
        """Ask every endpoint's /v1/models once: its max_model_len, and is anyone there?

        Raises BackendError when every endpoint refuses connections (after two short
        retries, for a server that is just coming up). Other answers (401, 404: servers
        without the route) are fine: the requests themselves will tell.
        """

        async def probe(client: Any) -> int | str | None:
            for delay in (0.5, 1.0):
                outcome = await self._models(client)
                if outcome != "refused":
                    return outcome
                await asyncio.sleep(delay)
            return await self._models(client)

        outcomes = await asyncio.gather(*(probe(client) for client in clients))
        lengths = [o for o in outcomes if isinstance(o, int)]
        refused = [str(c.base_url) for c, o in zip(clients, outcomes) if o == "refused"]
        if len(refused) == len(clients):
            raise BackendError(
                f"no OpenAI-compatible server answers at {', '.join(refused)} (connection "
                "refused). Start it first (e.g. python -m vllm.entrypoints.openai.api_server "
                "--model M --port 8000) and wait until it is ready, or fix base_url"
            )
        self.server_max_model_len = min(lengths) if lengths else None

    async def _models(self, client: Any) -> int | str | None:
        """max_model_len of self.model on /v1/models; "refused"; None when not reported."""
        openai = self._openai
        try:
            page = await client.models.list(timeout=min(self.timeout, 30.0))
        except openai.APIConnectionError as exc:
            return "refused" if _is_refused(exc) else None
        except openai.APIError as exc:
            logger.debug("GET /models at %s: %s", client.base_url, exc)
            return None
        models = list(getattr(page, "data", None) or [])
        mine = [m for m in models if getattr(m, "id", None) == self.model]
        if not mine and len(models) == 1:
            mine = models  # a server with one model, under another name
        found = getattr(mine[0], "max_model_len", None) if mine else None
        return int(found) if isinstance(found, int) and found > 0 else None

    async def _run(
        self,
        clients: Sequence[Any],
        requests: Sequence[GenerationRequest],
        on_result: OnResult | None,
    ) -> list[Generation]:
        """Every request through the shared queue; results streamed to `on_result`."""
        cap = self.server_max_model_len
        if cap is not None and any(r.sampling.max_tokens > cap for r in requests):
            logger.warning(
                "max_tokens is above the server's max_model_len %d: asking for %d (the "
                "server stops at its context length either way)", cap, cap
            )
        loop = asyncio.get_running_loop()
        results: list[Generation | None] = [None] * len(requests)
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        for i, request in enumerate(requests):
            queue.put_nowait(_Item(i, request))
        remaining = len(requests)
        done = asyncio.Event()
        callback_error: list[BaseException] = []
        refused = [0] * len(clients)  # consecutive refused connections per endpoint
        refused_since = [0.0] * len(clients)  # when each endpoint's streak began

        def finish(item: _Item, gen: Generation) -> None:
            nonlocal remaining
            results[item.index] = gen
            remaining -= 1
            if gen.error is not None:
                self.stats["failed"] += 1
            if on_result is not None and not callback_error:
                try:
                    on_result(gen)
                except BaseException as exc:  # re-raised below, after the workers stop
                    callback_error.append(exc)
                    done.set()
            if remaining == 0:
                done.set()

        def note_refusal(slot: int, was_refused: bool) -> None:
            if not was_refused:
                refused[slot] = 0
                return
            if refused[slot] == 0:
                refused_since[slot] = loop.time()
            refused[slot] += 1

        def all_refusing() -> bool:
            """Every endpoint refused `max_refused` times in a row, over at least a second."""
            now = loop.time()
            return all(
                count >= self.max_refused and now - since >= 1.0
                for count, since in zip(refused, refused_since)
            )

        async def worker(slot: int, client: Any) -> None:
            while True:
                item = await queue.get()
                try:
                    outcome = await self._attempt(client, item.request)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or an SDK surprise: do not retry forever
                    outcome = _Failure(False, f"unexpected {type(exc).__name__}: {exc}")
                note_refusal(slot, isinstance(outcome, _Failure) and outcome.refused)
                if isinstance(outcome, _Failure) and self._lower_stop_limit(outcome):
                    queue.put_nowait(item)  # the same request with fewer stop strings
                    continue
                item.attempts += 1
                if isinstance(outcome, Generation):
                    finish(item, outcome)
                elif outcome.refused and all_refusing():
                    queue.put_nowait(item)  # not lost: reported below as unfinished
                    done.set()
                elif not outcome.retryable or item.attempts > self.max_retries:
                    finish(
                        item,
                        error_generation(
                            item.request,
                            f"{outcome.message} (gave up after {item.attempts} attempt(s))",
                        ),
                    )
                else:
                    self.stats["retries"] += 1
                    delay = backoff_delay(
                        item.attempts,
                        base=self.backoff_base,
                        cap=self.backoff_max,
                        retry_after=outcome.retry_after,
                        max_retry_after=self.max_retry_after,
                    )
                    logger.debug("retry %s in %.2fs: %s", item.request.id, delay, outcome.message)
                    loop.call_later(delay, queue.put_nowait, item)

        workers = [
            asyncio.create_task(worker(slot, client))
            for slot, client in enumerate(clients)
            for _ in range(self.concurrency)
        ]
        try:
            await done.wait()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        if callback_error:
            raise callback_error[0]
        if remaining:
            finished = len(requests) - remaining
            raise BackendError(
                f"every endpoint refuses connections ({', '.join(str(c.base_url) for c in clients)}"
                f"): the server stopped or crashed. {finished} of {len(requests)} requests "
                "finished and are kept; restart the server, then run the same command with "
                "--resume to generate the rest"
            )
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    def _lower_stop_limit(self, failure: _Failure) -> bool:
        """A 400 said "at most N stop strings": send N from now on (True: retry at once)."""
        limit = failure.stop_limit
        if limit is None or failure.stops_sent <= limit:
            return False  # not about the count, or fewer would not help
        current = self.max_stop_sequences
        if current is None or limit < current:
            logger.warning("the server takes at most %d stop strings: sending %d, applying "
                           "the rest to the returned text", limit, limit)  # fmt: skip
            self.max_stop_sequences = limit
        return True

    async def _attempt(self, client: Any, request: GenerationRequest) -> Generation | _Failure:
        openai = self._openai
        self.stats["attempts"] += 1
        kwargs = request_kwargs(
            request,
            model=self.model,
            max_stop_sequences=self.max_stop_sequences,
            max_tokens_cap=self.server_max_model_len,
            extra_body=self.extra_body,
        )
        try:
            if request.messages is not None:
                raw = await client.chat.completions.with_raw_response.create(**kwargs)
            else:
                raw = await client.completions.with_raw_response.create(**kwargs)
            body = raw.text
        except openai.APIStatusError as exc:
            status = exc.status_code
            retryable = status in RETRY_STATUS or status >= 500
            message = f"HTTP {status} from {exc.request.url}: {str(exc.message)[:300]}"
            limit = stop_limit_from_error(str(exc.message)) if status == 400 else None
            return _Failure(
                retryable, message, retry_after_seconds(exc.response.headers),
                stop_limit=limit, stops_sent=len(kwargs.get("stop", ())),
            )  # fmt: skip
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            cause = exc.__cause__ or exc
            message = f"{type(exc).__name__}: {type(cause).__name__}: {cause}"
            return _Failure(True, message, refused=_is_refused(exc))
        try:
            return parse_response(request, json.loads(body))
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            return _Failure(True, f"malformed response: {str(exc)[:300]}")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stats": dict(self.stats)}


def _is_refused(exc: BaseException) -> bool:
    """A connection error that means nothing listens there: a ConnectError beneath it.

    Matched by name: the openai SDK sits on httpx or (3.x) on its fork httpx2.
    """
    cause = exc.__cause__
    return cause is not None and any(c.__name__ == "ConnectError" for c in type(cause).__mro__)
