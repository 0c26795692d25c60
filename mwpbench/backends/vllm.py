"""vLLM offline inference: one engine per process, the whole request list in one call.

The harness tokenizes every prompt itself (chat templates rendered by the model's
tokenizer, encoded without adding a second BOS) and hands vLLM token prompts, so what the
model sees does not depend on vLLM's own templating. Every SamplingParams field that
matters is set explicitly (vLLM's own max_tokens default is 16). Sampling uses n=k with a
per-request seed derived from the run seed and spaced k apart. Keyword arguments only: the
positional signatures moved between vLLM releases (tested against vLLM 0.26).

vLLM spawns worker processes: scripts that build this backend need the
`if __name__ == "__main__":` guard. `python -m mwpbench.backends.vllm --model M` is a smoke
test. vllm is imported only inside this module's functions.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import Sequence
from typing import Any

from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    derive_seed,
    error_generation,
    is_greedy,
    prompt_token_ids,
    validate_request,
    validate_requests,
)
from mwpbench.errors import BackendError, MissingExtraError
from mwpbench.types import Completion, Generation, GenerationRequest

logger = logging.getLogger(__name__)

_LIVE_ENGINE: list[VLLMBackend] = []  # at most one per process


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise MissingExtraError("vllm", "vllm") from exc
    return vllm


# --- pure mapping (tested without vllm) ------------------------------------------------


def engine_kwargs(
    model: str,
    *,
    tokenizer: str | None = None,
    tensor_parallel_size: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float = 0.9,
    enable_prefix_caching: bool = True,
    dtype: str = "auto",
    seed: int = 0,
    trust_remote_code: bool = False,
    enforce_eager: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM(...)`; `extra` passes further engine args through."""
    kwargs: dict[str, Any] = {
        "model": model,
        "tokenizer": tokenizer or model,
        "tensor_parallel_size": int(tensor_parallel_size),
        "gpu_memory_utilization": float(gpu_memory_utilization),
        "enable_prefix_caching": bool(enable_prefix_caching),
        "dtype": dtype,
        "seed": int(seed),
        "trust_remote_code": bool(trust_remote_code),
        "enforce_eager": bool(enforce_eager),
    }
    if max_model_len is not None:
        kwargs["max_model_len"] = int(max_model_len)
    kwargs.update(extra)
    return kwargs


def sampling_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """Keyword arguments for `vllm.SamplingParams(...)`, every relevant field explicit.

    Greedy with n > 1 is rejected (ConfigError) by validate_request.
    """
    validate_request(request)
    sp = request.sampling
    greedy = is_greedy(request)
    return {
        "n": sp.n,
        "temperature": 0.0 if greedy else float(sp.temperature),
        "top_p": 1.0 if greedy else float(sp.top_p),
        "top_k": -1,
        "min_p": 0.0,
        "max_tokens": int(sp.max_tokens),
        "min_tokens": 0,
        "stop": list(sp.stop),
        "include_stop_str_in_output": False,
        "ignore_eos": False,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "repetition_penalty": 1.0,
        "seed": None if greedy else derive_seed(sp.seed, request.id, sp.n),
        "skip_special_tokens": True,
        "logprobs": None,
    }


def token_prompt(request: GenerationRequest, tokenizer: Any) -> dict[str, list[int]]:
    """A vLLM TokensPrompt dict: the harness's own token ids for this request."""
    return {"prompt_token_ids": prompt_token_ids(tokenizer, request)}


def to_generation(request: GenerationRequest, output: Any) -> Generation:
    """A vLLM RequestOutput -> Generation (n completions, in sample order)."""
    outs = sorted(output.outputs, key=lambda o: o.index)
    if len(outs) != request.sampling.n:
        return error_generation(
            request, f"vLLM returned {len(outs)} completions, expected {request.sampling.n}"
        )
    prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids else None
    completions = []
    for o in outs:
        if o.finish_reason not in ("stop", "length"):
            return error_generation(request, f"vLLM finished with {o.finish_reason!r}")
        completions.append(
            Completion(
                text=o.text,
                finish_reason=o.finish_reason,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(o.token_ids),
            )
        )
    return Generation(request_id=request.id, completions=tuple(completions))


# --- the backend -------------------------------------------------------------------------


class VLLMBackend(BackendBase):
    """vllm.LLM behind the batched Protocol."""

    name = "vllm"

    def __init__(self, model: str, *, use_tqdm: bool = False, **options: Any) -> None:
        vllm = _import_vllm()
        if _LIVE_ENGINE:
            raise BackendError(
                "a vLLM engine is already running in this process; close() it first "
                "(one LLM per process: shard across processes for more GPUs)"
            )
        kwargs = engine_kwargs(model, **options)
        super().__init__(**kwargs)
        self._vllm = vllm
        self._llm = vllm.LLM(**kwargs)
        _LIVE_ENGINE.append(self)
        self.tokenizer = self._llm.get_tokenizer()
        self.use_tqdm = use_tqdm
        self.max_model_len = _max_model_len(self._llm)

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        if self.closed:
            raise BackendError("this vLLM backend is closed; build a new one")
        validate_requests(requests)
        results: list[Generation | None] = [None] * len(requests)
        prompts, params, slots = [], [], []
        for i, request in enumerate(requests):
            prompt = token_prompt(request, self.tokenizer)
            n_prompt = len(prompt["prompt_token_ids"])
            if self.max_model_len is not None and n_prompt >= self.max_model_len:
                results[i] = error_generation(
                    request,
                    f"prompt has {n_prompt} tokens, max_model_len is {self.max_model_len}",
                )
                continue
            prompts.append(prompt)
            params.append(self._vllm.SamplingParams(**sampling_kwargs(request)))
            slots.append(i)
        if prompts:  # ONE call: vLLM schedules the whole list itself
            outputs = self._llm.generate(
                prompts=prompts, sampling_params=params, use_tqdm=self.use_tqdm
            )
            if len(outputs) != len(prompts):
                raise BackendError(f"vLLM returned {len(outputs)} outputs for {len(prompts)}")
            for i, output in zip(slots, outputs, strict=True):
                results[i] = to_generation(requests[i], output)
        if on_result is not None:
            for gen in results:
                on_result(gen)  # type: ignore[arg-type]
        return results  # type: ignore[return-value]

    def close(self) -> None:
        if self.closed:
            return
        llm, self._llm = self._llm, None
        try:
            engine = getattr(llm, "llm_engine", None)
            shutdown = getattr(getattr(engine, "engine_core", None), "shutdown", None)
            if callable(shutdown):
                shutdown()
        except Exception as exc:  # best effort: the process may be exiting anyway
            logger.debug("vLLM shutdown: %s", exc)
        del llm
        gc.collect()
        if self in _LIVE_ENGINE:
            _LIVE_ENGINE.remove(self)
        super().close()


def _max_model_len(llm: Any) -> int | None:
    try:
        return int(llm.llm_engine.model_config.max_model_len)
    except (AttributeError, TypeError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Smoke test: python -m mwpbench.backends.vllm --model PATH [--prompt TEXT]."""
    import argparse

    from mwpbench.types import SamplingParams

    parser = argparse.ArgumentParser(prog="python -m mwpbench.backends.vllm")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", default="What is 12 * 7? Answer:")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--eager", action="store_true")
    args = parser.parse_args(argv)
    sp = SamplingParams(max_tokens=args.max_tokens)
    requests = [
        GenerationRequest(id="text", prompt=args.prompt, sampling=sp),
        GenerationRequest(
            id="chat", messages=({"role": "user", "content": args.prompt},), sampling=sp
        ),
    ]
    with VLLMBackend(args.model, enforce_eager=args.eager, max_model_len=2048) as backend:
        for gen in backend.generate(requests):
            print(gen)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
