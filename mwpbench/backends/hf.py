"""Hugging Face transformers causal LMs: small models, CPU or one CUDA GPU.

Left padding, batches of `batch_size` requests grouped by sampling parameters (longest
prompts first), greedy or sampled, stop strings (a completion is cut at the first stop
string: finish_reason "stop"; "length" when max_tokens ran out), chat templates applied to
token ids. Seeded sampling runs one request at a time under its own derived seed so the
result does not depend on batch composition. torch and transformers are imported only here.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    derive_seed,
    is_greedy,
    prompt_token_ids,
    truncate_at_stop,
    validate_requests,
)
from mwpbench.errors import BackendError, MissingExtraError
from mwpbench.types import (
    Completion,
    FinishReason,
    Generation,
    GenerationRequest,
    SamplingParams,
)


def _import() -> tuple[Any, Any]:
    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "hf") from exc
    try:
        import transformers
    except ImportError as exc:
        raise MissingExtraError("transformers", "hf") from exc
    return torch, transformers


class HFBackend(BackendBase):
    """transformers AutoModelForCausalLM.generate, batched with left padding."""

    name = "hf"

    def __init__(
        self,
        model: str,
        *,
        tokenizer: str | None = None,
        device: str = "auto",
        dtype: str = "auto",
        batch_size: int = 8,
        trust_remote_code: bool = False,
        model_kwargs: dict[str, Any] | None = None,
    ) -> None:
        torch, transformers = _import()
        super().__init__(
            model=model,
            tokenizer=tokenizer,
            device=device,
            dtype=dtype,
            batch_size=batch_size,
            trust_remote_code=trust_remote_code,
        )
        if device == "auto":
            device = "cuda" if torch.cuda.is_available() else "cpu"
        if dtype == "auto":
            torch_dtype = torch.bfloat16 if device.startswith("cuda") else torch.float32
        else:
            torch_dtype = getattr(torch, dtype)
        self._torch = torch
        self._transformers = transformers
        self.device = device
        self.batch_size = max(1, int(batch_size))
        tok = transformers.AutoTokenizer.from_pretrained(
            tokenizer or model, trust_remote_code=trust_remote_code
        )
        tok.padding_side = "left"
        if tok.pad_token_id is None:
            if tok.eos_token_id is None:
                raise BackendError(f"tokenizer of {model!r} has neither a pad nor an eos token")
            tok.pad_token = tok.eos_token
        self.tokenizer = tok
        self.model = transformers.AutoModelForCausalLM.from_pretrained(
            model, dtype=torch_dtype, trust_remote_code=trust_remote_code, **(model_kwargs or {})
        ).to(device)
        self.model.eval()
        eos = self.model.generation_config.eos_token_id
        if eos is None:
            eos = tok.eos_token_id
        self.eos_ids = set(eos if isinstance(eos, list) else [eos]) - {None}

    def close(self) -> None:
        if not self.closed:
            self.model = None
            if self.device.startswith("cuda"):
                self._torch.cuda.empty_cache()
        super().close()

    # ----------------------------------------------------------------------------------

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        validate_requests(requests)
        results: list[Generation | None] = [None] * len(requests)
        encoded = [prompt_token_ids(self.tokenizer, r) for r in requests]
        groups: dict[SamplingParams, list[int]] = defaultdict(list)
        for i, request in enumerate(requests):
            groups[request.sampling].append(i)
        for sampling, indices in groups.items():
            if not is_greedy(requests[indices[0]]) and sampling.seed is not None:
                batches = [[i] for i in indices]  # each under its own seed
            else:
                indices = sorted(indices, key=lambda i: -len(encoded[i]))
                batches = [
                    indices[k : k + self.batch_size]
                    for k in range(0, len(indices), self.batch_size)
                ]
            for batch in batches:
                gens = self._generate_batch(
                    [requests[i] for i in batch], [encoded[i] for i in batch]
                )
                for i, gen in zip(batch, gens, strict=True):
                    results[i] = gen
                    if on_result is not None:
                        on_result(gen)
        return results  # type: ignore[return-value]

    def _generate_batch(
        self, requests: list[GenerationRequest], ids: list[list[int]]
    ) -> list[Generation]:
        torch, transformers = self._torch, self._transformers
        sp = requests[0].sampling
        width = max(len(x) for x in ids)
        pad = self.tokenizer.pad_token_id
        input_ids = torch.tensor([[pad] * (width - len(x)) + x for x in ids], device=self.device)
        mask = torch.tensor(
            [[0] * (width - len(x)) + [1] * len(x) for x in ids], device=self.device
        )
        greedy = sp.temperature == 0.0
        config = transformers.GenerationConfig(
            max_new_tokens=sp.max_tokens,
            do_sample=not greedy,
            temperature=None if greedy else sp.temperature,
            top_p=None if greedy else sp.top_p,
            top_k=None if greedy else 0,
            num_return_sequences=sp.n,
            pad_token_id=pad,
            eos_token_id=sorted(self.eos_ids) or None,
        )
        criteria = transformers.StoppingCriteriaList()
        if sp.stop:
            criteria.append(_StopStrings(self.tokenizer, sp.stop, width))
        if not greedy and sp.seed is not None:
            torch.manual_seed(derive_seed(sp.seed, requests[0].id, sp.n))
        with torch.inference_mode():
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=mask,
                generation_config=config,
                stopping_criteria=criteria,
            )
        new = out[:, width:].tolist()
        gens = []
        for r, request in enumerate(requests):
            completions = [
                self._completion(new[r * sp.n + j], sp, len(ids[r])) for j in range(sp.n)
            ]
            gens.append(Generation(request_id=request.id, completions=tuple(completions)))
        return gens

    def _completion(self, tokens: list[int], sp: SamplingParams, n_prompt: int) -> Completion:
        hit_eos = False
        for k, t in enumerate(tokens):
            if t in self.eos_ids:
                tokens, hit_eos = tokens[:k], True
                break
        else:
            # rows that finished early (stop string) are padded to the batch's length
            pad = self.tokenizer.pad_token_id
            while tokens and tokens[-1] == pad and pad not in self.eos_ids:
                tokens = tokens[:-1]
        text = self.tokenizer.decode(tokens, skip_special_tokens=True)
        text, stopped = truncate_at_stop(text, sp.stop)
        reason: FinishReason = (
            "stop" if (stopped or hit_eos or len(tokens) < sp.max_tokens) else "length"
        )
        return Completion(
            text=text,
            finish_reason=reason,
            prompt_tokens=n_prompt,
            completion_tokens=len(tokens),
        )


class _StopStrings:
    """Per-row stopping criterion: a row is done once its new text contains a stop string."""

    def __init__(self, tokenizer: Any, stop: Sequence[str], prompt_width: int) -> None:
        self.tokenizer, self.stop, self.width = tokenizer, tuple(stop), prompt_width
        self.window = max(len(s) for s in stop) + 8  # tokens: each is at least one char

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        tail = input_ids[:, max(self.width, input_ids.shape[1] - self.window) :].tolist()
        texts = self.tokenizer.batch_decode(tail, skip_special_tokens=True)
        done = [any(s in text for s in self.stop) for text in texts]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)
