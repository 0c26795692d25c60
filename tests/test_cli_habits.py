"""Ecosystem habits (issue 12.5): `python -m mwpbench`, pointers for lm-eval's flags,
`--debug` anywhere, log lines printed once, a bad model id that fails fast, `export`, and
`is_equivalent` by keyword."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _runs import write_release

import mwpbench
from mwpbench.cli import main


def python_m(*args: str, env: dict[str, str] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run([sys.executable, "-m", "mwpbench", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})  # fmt: skip


def test_python_dash_m_is_the_command() -> None:
    done = python_m("--version")
    assert done.returncode == 0 and done.stdout.startswith("mwpbench, version")
    done = python_m("tasks")
    assert done.returncode == 0 and "gsm8k" in done.stdout


@pytest.mark.parametrize(
    ("flag", "pointer"),
    [
        (["--model_args", "pretrained=x"], "--backend-arg KEY=VALUE"),
        (["--batch_size", "8"], "--backend-arg batch_size=N"),
        (["--device", "cuda:0"], "CUDA_VISIBLE_DEVICES"),
        (["--num_fewshot", "4"], "--prompt fewshot_boxed"),
        (["--apply_chat_template"], "--prompt chat_boxed"),
        (["--output_path", "out"], "--output DIR"),
        (["--log_samples"], "always written to results/<run-id>/samples.jsonl"),
        (["--max_tokens", "16"], "did you mean --max-tokens?"),
        (["--limit", "0.1"], "lm-eval's fraction 0.1 has no equivalent"),
    ],
)
def test_lm_eval_flags_get_a_pointer(flag: list[str], pointer: str, capsys) -> None:
    code = main(["eval", "--model", "m", *flag])
    err = capsys.readouterr().err
    assert code == 2
    assert pointer in err, err


def test_lm_eval_model_type_as_model_gets_a_pointer(tmp_path: Path, capsys) -> None:
    release = write_release(tmp_path / "r.jsonl")
    pytest.importorskip("transformers")
    code = main(["eval", "--model", "hf", "--backend", "hf", "--data-file", str(release),
                 "--output", str(tmp_path / "o")])  # fmt: skip
    assert code == 2 and "lm-evaluation-harness's model type" in capsys.readouterr().err


def test_debug_anywhere_on_the_line() -> None:
    quiet = python_m("tasks", "show", "gsm8kk")
    assert quiet.returncode == 2 and "Traceback" not in quiet.stderr
    loud = python_m("tasks", "show", "gsm8kk", "--debug")
    assert "Traceback" in loud.stderr and "UnknownNameError" in loud.stderr


def test_third_party_log_lines_are_printed_once(tmp_path: Path) -> None:
    script = tmp_path / "noisy.py"
    script.write_text(
        "import logging, sys\n"
        "from mwpbench import cli\n"
        "@cli.cli.command('noisy')\n"
        "def noisy():\n"
        "    lib = logging.getLogger('thirdparty')\n"  # like datasets / huggingface_hub:
        "    h = logging.StreamHandler(sys.stderr)\n"  # a handler of its own, and propagate
        "    h.setFormatter(logging.Formatter('[lib] %(message)s'))\n"
        "    lib.addHandler(h)\n"
        "    logging.getLogger('thirdparty.sub').warning('said by the library')\n"
        "    logging.getLogger('mwpbench.x').warning('said by mwpbench')\n"
        "sys.exit(cli.main(['noisy']))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("said by the library") == 1
    assert done.stderr.count("said by mwpbench") == 1


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("env", "code", "message"),
    [
        ({"HF_HUB_OFFLINE": "1"}, 2, "HF_HUB_OFFLINE is set"),
        ({"HF_HUB_OFFLINE": "0", "HF_ENDPOINT": f"http://127.0.0.1:{_closed_port()}"}, 1,
         "the hub cannot be reached"),
    ],
)  # fmt: skip
def test_a_bad_model_id_fails_fast_without_network(tmp_path: Path, env, code, message) -> None:
    pytest.importorskip("transformers")
    release = write_release(tmp_path / "r.jsonl")
    start = time.monotonic()
    done = python_m("eval", "--model", "no-such-org/no-such-model", "--backend", "hf",
                    "--data-file", str(release), "--output", str(tmp_path / "out"),
                    env={**env, "HF_HOME": str(tmp_path / "hf")})  # fmt: skip
    assert done.returncode == code, done.stderr
    assert message in done.stderr and "local model folder" in done.stderr
    assert time.monotonic() - start < 30  # no retries, no data loading first
    assert not (tmp_path / "out").exists()


def test_export_then_replay_round_trip(tmp_path: Path, capsys) -> None:
    release = write_release(tmp_path / "release.jsonl")
    prompts = tmp_path / "prompts.jsonl"
    code = main(["export", "--tasks", "gsm8k,math", "--data-file", str(release), "--prompt",
                 "qwen25_math_cot", "-o", str(prompts)])  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0 and "wrote 7 prompts (qwen25_math_cot, chat" in out
    lines = [json.loads(line) for line in prompts.read_text().splitlines()]
    assert lines[0]["id"] == "gsm8k/mwpbench/gsm8k/1" and lines[0]["task"] == "gsm8k"
    assert [m["role"] for m in lines[0]["messages"]] == ["system", "user"]
    assert lines[0]["messages"][1]["content"].startswith("Sam has 2 apples")
    # "generate elsewhere": answer every prompt, then score the file
    completions = tmp_path / "completions.jsonl"
    completions.write_text("".join(json.dumps({"id": line["id"], "completion": "\\boxed{5}"})
                                   + "\n" for line in lines))  # fmt: skip
    code = main(["eval", "--model", "elsewhere", "--predictions", str(completions), "--tasks",
                 "gsm8k,math", "--data-file", str(release), "--prompt", "qwen25_math_cot",
                 "--output", str(tmp_path / "out"), "--run-id", "r", "-q", "-j", "1"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    run = json.loads((tmp_path / "out" / "r" / "run.json").read_text())
    assert run["status"] == "complete" and run["prompt"]["name"] == "qwen25_math_cot"
    assert run["metrics"]["strict"]["micro"]["correct"] == 1  # only gsm8k/1's gold is 5


def test_export_text_prompts_and_limits(tmp_path: Path, capsys) -> None:
    release = write_release(tmp_path / "release.jsonl")
    out = tmp_path / "p.jsonl"
    assert main(["export", "--tasks", "math", "--data-file", str(release), "--limit", "2",
                 "--limit-mode", "stratified", "-o", str(out)]) == 0  # fmt: skip
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert {line["id"].split("/")[3] for line in lines} == {"alg", "geo"}  # one per subject
    assert lines[0]["prompt"].startswith("Below is an instruction") and "Question:" in lines[0]["stop"]


def test_is_equivalent_takes_keywords_and_the_order_matters() -> None:
    assert mwpbench.is_equivalent(pred="1/3", gold="0.33")  # rounds to the rounded gold
    assert mwpbench.is_equivalent(gold="0.33", pred="1/3")
    assert not mwpbench.is_equivalent(pred="0.33", gold="1/3")  # an exact gold is exact
