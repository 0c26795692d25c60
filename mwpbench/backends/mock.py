"""Deterministic scripted completions for tests and dry runs. No dependencies.

Modes (pick one):
- `fn=callable(request, sample_index) -> str`: any function of the request;
- `text="..."`: the same text for every request;
- default (`mode="gold"`): "The answer is \\boxed{<gold>}." from request.meta["gold"]
  (build_requests puts the problem's gold answer there); `mode="echo"` repeats the prompt.
`fail_ids` lists request ids (or problem ids) that fail for good (a Generation with an error), to test how
a runner handles incomplete runs.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import Any

from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    error_generation,
    truncate_at_stop,
    validate_requests,
)
from mwpbench.errors import ConfigError
from mwpbench.types import Completion, FinishReason, Generation, GenerationRequest

_MODES = ("gold", "echo", "text", "fn")


class MockBackend(BackendBase):
    """Scripted completions: a pure function of the request and the sample index."""

    name = "mock"

    def __init__(
        self,
        *,
        mode: str | None = None,
        text: str | None = None,
        fn: Callable[[GenerationRequest, int], str] | None = None,
        finish_reason: FinishReason = "stop",
        fail_ids: Collection[str] = (),
        apply_stop: bool = True,
        model: str | None = None,
    ) -> None:
        if mode is None:
            mode = "fn" if fn is not None else "text" if text is not None else "gold"
        if mode not in _MODES:
            raise ConfigError(f"mock backend: unknown mode {mode!r}; choose one of {_MODES}")
        if mode == "fn" and fn is None:
            raise ConfigError("mock backend: mode 'fn' needs fn=callable(request, index)")
        if mode == "text" and text is None:
            raise ConfigError("mock backend: mode 'text' needs text='...'")
        super().__init__(mode=mode, text=text, finish_reason=finish_reason, model=model)
        self.mode, self.text, self.fn = mode, text, fn
        self.finish_reason: FinishReason = finish_reason
        self.fail_ids = frozenset(fail_ids)
        self.apply_stop = apply_stop
        self.calls = 0  # number of generate() calls (tests check batching)

    def _complete(self, request: GenerationRequest, index: int) -> str:
        if self.mode == "gold":
            gold = request.meta.get("gold")
            if gold is None:
                return "I do not know."
            return f"The answer is \\boxed{{{gold}}}."
        if self.mode == "echo":
            if request.prompt is not None:
                return request.prompt
            return request.messages[-1]["content"] if request.messages else ""
        if self.mode == "text":
            assert self.text is not None
            return self.text
        assert self.fn is not None
        return self.fn(request, index)

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        validate_requests(requests)
        self.calls += 1
        out: list[Generation] = []
        for request in requests:
            if request.id in self.fail_ids or request.meta.get("problem_id") in self.fail_ids:
                gen = error_generation(request, "mock: scripted failure")
            else:
                completions = []
                for i in range(request.sampling.n):
                    text = self._complete(request, i)
                    reason = self.finish_reason
                    if self.apply_stop and request.sampling.stop:
                        text, stopped = truncate_at_stop(text, request.sampling.stop)
                        reason = "stop" if stopped else reason
                    completions.append(
                        Completion(
                            text=text,
                            finish_reason=reason,
                            prompt_tokens=None,
                            completion_tokens=len(text.split()),
                        )
                    )
                gen = Generation(request_id=request.id, completions=tuple(completions))
            if on_result is not None:
                on_result(gen)
            out.append(gen)
        return out

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "fail_ids": sorted(self.fail_ids)}
