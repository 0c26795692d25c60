"""Pointers for command-line habits from other harnesses: an option mwpbench does not have
gets the mwpbench way to say it, not a bare "no such option".

Most come from lm-evaluation-harness (`lm_eval --model hf --model_args pretrained=X
--batch_size 8 --num_fewshot 4 --apply_chat_template --output_path out --log_samples`);
an option of ours written with underscores gets its dashed spelling.
"""

from __future__ import annotations

from collections.abc import Iterable

LM_EVAL: dict[str, str] = {
    "--model_args": "model options go one by one: --backend-arg KEY=VALUE (repeatable, e.g. "
    "--backend-arg dtype=bfloat16 --backend-arg max_model_len=4096); lm-eval's pretrained=X "
    "is --model X",
    "--batch_size": "--backend-arg batch_size=N sets the hf backend's batch; the vllm backend "
    "needs none (it schedules the whole request list at once)",
    "--max_batch_size": "--backend-arg batch_size=N (hf); vLLM schedules by itself",
    "--device": "--backend-arg device=cuda:0 (hf backend), or choose GPUs with "
    "CUDA_VISIBLE_DEVICES=0",
    "--num_fewshot": "few-shot is a prompt here: --prompt fewshot_boxed (4 exemplars) or "
    "--prompt chat_fewshot_boxed; the MwpBench paper is zero-shot (--prompt alpaca)",
    "--fewshot_as_multiturn": "--prompt chat_fewshot_boxed (exemplars as chat turns)",
    "--apply_chat_template": "--prompt chat_boxed (or qwen25_math_cot) sends chat messages "
    "through the model's chat template",
    "--system_instruction": "write a chat template with a <|system|> turn and pass it as "
    "--prompt path/to/mine.jinja (README: Prompts)",
    "--output_path": "--output DIR (each run writes DIR/<run-id>/)",
    "--log_samples": "nothing to add: every sample is always written to "
    "results/<run-id>/samples.jsonl",
    "--gen_kwargs": "sampling options are flags here: --temperature, --top-p, --max-tokens, --n",
    "--use_cache": "--resume continues a run without generating anything already stored",
    "--include_path": "--include-path DIR",
    "--write_out": "mwpbench prompts NAME --question '...' renders a prompt",
    "--verbosity": "--debug (anywhere on the line) shows debug logging and tracebacks",
    "--trust_remote_code": "--backend-arg trust_remote_code=true",
    "--predict_only": "generate elsewhere with `mwpbench export`, or grade later with "
    "`mwpbench regrade`",
}
"""lm-evaluation-harness option -> how to say it in mwpbench."""

LIMIT_FRACTION = (
    "--limit takes a number of problems per task (lm-eval's fraction {value} has no "
    "equivalent); e.g. --limit 100, with --limit-mode stratified to cover every subject"
)


def hint(option: str, known: Iterable[str]) -> str | None:
    """A pointer for an unknown `option` (as typed, e.g. `--model_args`), or None."""
    name = option.split("=", 1)[0]
    if name in LM_EVAL:
        return f"{name} is lm-evaluation-harness's option; {LM_EVAL[name]}"
    dashed = name.replace("_", "-")
    if dashed != name and dashed in set(known):
        return f"did you mean {dashed}? (options are spelled with dashes)"
    return None


__all__ = ["LIMIT_FRACTION", "LM_EVAL", "hint"]
