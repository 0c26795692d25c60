"""OpenAI-protocol servers (vLLM `serve`, SGLang, OpenAI...): completions and chat endpoints.

Async client, called from synchronous code: `generate` runs its own event loop (in a helper
thread when the calling thread already runs one, as in Jupyter). Each base URL gets
`concurrency` workers pulling from one shared queue, so faster endpoints take more work and a
retried request may go to another endpoint. The SDK's own retries are off; ours retry
connection errors, timeouts, 408, 409, 429 (honouring Retry-After), 5xx and malformed
responses with exponential backoff and jitter, and never a 400 or other 4xx. A request that
fails for good becomes a Generation with `error` set.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import os
import random
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
)
from mwpbench.errors import ConfigError, MissingExtraError
from mwpbench.types import Completion, FinishReason, Generation, GenerationRequest

logger = logging.getLogger(__name__)

RETRY_STATUS = frozenset({408, 409, 429})


class MalformedResponse(ValueError):
    """A 2xx response whose body is not the completion the protocol promises."""


@dataclass
class _Failure:
    retryable: bool
    message: str
    retry_after: float | None = None


@dataclass
class _Item:
    index: int
    request: GenerationRequest
    attempts: int = 0


# --- pure mapping (tested without a server) ---------------------------------------------


def request_kwargs(
    request: GenerationRequest,
    *,
    model: str,
    max_stop_sequences: int | None = None,
    extra_body: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for `completions.create` (text) or `chat.completions.create`."""
    sp = request.sampling
    greedy = is_greedy(request)
    stop = list(sp.stop)
    if max_stop_sequences is not None:
        stop = stop[:max_stop_sequences]  # the rest is applied client-side
    kwargs: dict[str, Any] = {
        "model": model,
        "max_tokens": sp.max_tokens,
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
        max_stop_sequences: int | None = None,
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
        if int(concurrency) < 1 or int(max_retries) < 0:
            raise ConfigError("openai backend: concurrency >= 1 and max_retries >= 0, please")
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
        self.max_stop_sequences = max_stop_sequences
        self.extra_body = dict(extra_body or {})
        self.stats = {"attempts": 0, "retries": 0, "failed": 0}

    # sync entry ------------------------------------------------------------------------

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        validate_requests(requests)
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
        loop = asyncio.get_running_loop()
        results: list[Generation | None] = [None] * len(requests)
        queue: asyncio.Queue[_Item] = asyncio.Queue()
        for i, request in enumerate(requests):
            queue.put_nowait(_Item(i, request))
        remaining = len(requests)
        done = asyncio.Event()
        callback_error: list[BaseException] = []

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

        async def worker(client: Any) -> None:
            while True:
                item = await queue.get()
                try:
                    outcome = await self._attempt(client, item.request)
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a bug or an SDK surprise: do not retry forever
                    outcome = _Failure(False, f"unexpected {type(exc).__name__}: {exc}")
                item.attempts += 1
                if isinstance(outcome, Generation):
                    finish(item, outcome)
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
            asyncio.create_task(worker(client))
            for client in clients
            for _ in range(self.concurrency)
        ]
        try:
            await done.wait()
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for client in clients:
                await client.close()
        if callback_error:
            raise callback_error[0]
        assert all(r is not None for r in results)
        return results  # type: ignore[return-value]

    async def _attempt(self, client: Any, request: GenerationRequest) -> Generation | _Failure:
        openai = self._openai
        self.stats["attempts"] += 1
        kwargs = request_kwargs(
            request,
            model=self.model,
            max_stop_sequences=self.max_stop_sequences,
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
            return _Failure(retryable, message, retry_after_seconds(exc.response.headers))
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            cause = exc.__cause__ or exc
            return _Failure(True, f"{type(exc).__name__}: {type(cause).__name__}: {cause}")
        try:
            return parse_response(request, json.loads(body))
        except (ValueError, TypeError) as exc:  # JSONDecodeError is a ValueError
            return _Failure(True, f"malformed response: {str(exc)[:300]}")

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "stats": dict(self.stats)}
