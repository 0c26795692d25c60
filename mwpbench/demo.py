"""`mwpbench demo`: the whole pipeline offline, on CPU, in well under a minute.

It builds a tiny *random* language model locally (a 2-layer Llama with a byte-level BPE
tokenizer trained on a few sentences; no download), evaluates it with the HF backend on the
sample problems shipped in `mwpbench/_samples/demo.jsonl` (made-up problems in the MWPBench
release format, a few per dataset), writes the run directory, and builds the leaderboard
page when `mwpbench.leaderboard` is available. It is a SMOKE MODEL: its answers are noise
and its accuracy is about zero. It shows that everything works, not how good anything is.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from mwpbench.errors import MissingExtraError

log = logging.getLogger(__name__)

DEMO_MODEL_VERSION = "2"

_CORPUS = [
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.",
    "Tom has 4 apples and buys 7 more, so he has 4 + 7 = 11 apples. The answer is 11.",
    "We solve 2x + 3 = 11, so 2x = 8 and x = 4. The answer is $\\boxed{4}$.",
    "The sum of the roots is 9, and the product is 14. The final answer is 9.",
    "Half of 24 is 12; 3/4 of 48 is 36; 25% of 40 is 10.",
] * 20
_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>"
    "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}"
)


def sample_file() -> Path:
    """The demo problems (release format, made up for mwpbench)."""
    return Path(str(resources.files("mwpbench") / "_samples" / "demo.jsonl"))


def cache_dir() -> Path:
    root = os.environ.get("MWPBENCH_CACHE_DIR") or Path.home() / ".cache" / "mwpbench"
    return Path(root)


def build_tiny_model(
    out: Path, *, hidden: int = 64, heads: int = 2, layers: int = 2, seed: int = 0
) -> Path:
    """Save a random Llama and a locally trained tokenizer to `out` (no network).

    The default shape (hidden 64, 2 heads: head dim 32) is one that vLLM's CPU attention
    kernels accept (head dim 32, 64, 80, ...); a head dim of 8 crashes them.
    """
    if hidden % heads or hidden // heads < 32:
        raise ValueError(f"hidden={hidden}, heads={heads}: head dim must be >= 32 (vLLM CPU)")
    try:
        import torch
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        from tokenizers.processors import TemplateProcessing
        from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
    except ImportError as exc:
        raise MissingExtraError(exc.name or "torch/transformers", "hf") from exc

    specials = ["<s>", "</s>", "<pad>", "<|user|>", "<|assistant|>", "<|system|>", "<|end|>"]
    tk = Tokenizer(models.BPE())
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tk.train_from_iterator(_CORPUS, trainer=trainer)
    tk.post_processor = TemplateProcessing(
        single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", tk.token_to_id("<s>"))]
    )
    tok = PreTrainedTokenizerFast(
        tokenizer_object=tk, bos_token="<s>", eos_token="</s>", pad_token="<pad>"
    )
    tok.chat_template = _CHAT_TEMPLATE
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=max(heads // 2, 1),
        max_position_embeddings=1024,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    model = LlamaForCausalLM(config)
    with torch.no_grad():  # a sharper random init, so greedy outputs vary
        for p in model.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 0.5)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def demo_model(root: Path | None = None) -> Path:
    """The cached tiny model (built on first use; built in a temp folder, then renamed)."""
    target = (root or cache_dir()) / f"demo-tiny-llama-v{DEMO_MODEL_VERSION}"
    if (target / "config.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".demo-model-", dir=target.parent))
    try:
        build_tiny_model(tmp)
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race
            if not (target / "config.json").exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def build_site(results_dir: Path, out_dir: Path | None) -> Path | None:
    """Build the leaderboard if this mwpbench has one; None (and a log line) otherwise."""
    try:
        from mwpbench.leaderboard import build_leaderboard
    except ImportError:
        log.warning("mwpbench.leaderboard is not available: skipping the leaderboard page")
        return None
    return Path(build_leaderboard(results_dir, out_dir))


def run_demo(
    *,
    output: str | os.PathLike[str] = "results",
    max_tokens: int = 48,
    progress: bool = True,
    model_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = 1,
) -> Any:
    """Build (or reuse) the tiny model and evaluate it on the demo problems; a RunResult."""
    from mwpbench.runner import evaluate

    try:
        import torch
    except ImportError as exc:
        raise MissingExtraError("torch", "hf") from exc
    torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
    model = Path(model_dir) if model_dir else demo_model()
    return evaluate(
        str(model),
        backend="hf",
        backend_options={"device": "cpu", "batch_size": 8},
        tasks="mwpbench",
        data_files=str(sample_file()),
        max_tokens=max_tokens,
        output=output,
        jobs=jobs,
        progress=progress,
    )


__all__ = ["build_site", "build_tiny_model", "demo_model", "run_demo", "sample_file"]
