"""Prompts for today's models (issue 12.6): Qwen2.5-Math's own CoT template, a warning for a
plain-text prompt sent to a chat model, and --limit modes that do not test on Algebra only."""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import pytest
from _runs import ScriptedBackend, write_release

import mwpbench
from mwpbench.datasets.selection import limit_problems
from mwpbench.errors import ConfigError
from mwpbench.prompts import load_prompt
from mwpbench.types import Problem

Q = "Ada buys 3 pens at 2 dollars each. How much does she pay?"
P = Problem(id="gsm8k/1", task="gsm8k", subset="gsm8k", question=Q, answer="6")


def test_qwen25_math_cot_puts_the_instruction_in_the_system_turn() -> None:
    prompt = load_prompt("qwen25_math_cot")
    assert prompt.is_chat and prompt.stop == ()
    assert prompt.render(P) == (
        {"role": "system",
         "content": "Please reason step by step, and put your final answer within \\boxed{}."},
        {"role": "user", "content": Q},
    )  # fmt: skip


class _Tokenizer:
    def __init__(self, chat_template: str | None) -> None:
        self.chat_template = chat_template


class ChatModelBackend(ScriptedBackend):
    """A scripted backend whose model has a tokenizer, with or without a chat template."""

    def __init__(self, chat_template: str | None) -> None:
        super().__init__({})
        self.tokenizer = _Tokenizer(chat_template)


@pytest.mark.parametrize(
    ("template", "prompt", "warned"),
    [("{{ messages }}", "alpaca", True), ("{{ messages }}", "chat_boxed", False),
     (None, "alpaca", False)],
)  # fmt: skip
def test_plain_text_prompt_to_a_chat_model_warns_once(tmp_path: Path, caplog, template, prompt,
                                                      warned) -> None:  # fmt: skip
    release = write_release(tmp_path / "release.jsonl")
    with caplog.at_level(logging.WARNING, logger="mwpbench"):
        mwpbench.evaluate("org/Some-Instruct", backend=ChatModelBackend(template),
                          data_files=str(release), prompt=prompt, output=tmp_path / "o",
                          progress=False, jobs=1)  # fmt: skip
    hits = [r for r in caplog.records if "has a chat template" in r.getMessage()]
    assert len(hits) == (1 if warned else 0)
    if warned:
        assert "--prompt chat_boxed or qwen25_math_cot" in hits[0].getMessage()


def _math(n_alg: int, n_geo: int) -> list[Problem]:
    return [Problem(id=f"math/x/{i}", task="math", subset=subset, question=f"q{i}", answer="1",
                    level=f"Level {1 + i % 2}")
            for i, subset in enumerate(["MATH.Algebra"] * n_alg + ["MATH.Geometry"] * n_geo)]  # fmt: skip


def test_limit_modes() -> None:
    problems = _math(60, 40)
    first = limit_problems(problems, 10, "first")
    assert {p.subset for p in first} == {"MATH.Algebra"}  # why "first" misleads
    strat = limit_problems(problems, 10, "stratified", seed=0)
    assert Counter(p.subset for p in strat) == {"MATH.Algebra": 6, "MATH.Geometry": 4}
    assert Counter(p.level for p in strat) == {"Level 1": 5, "Level 2": 5}
    assert strat == sorted(strat, key=problems.index)  # file order kept
    assert limit_problems(problems, 10, "stratified", seed=0) == strat  # seeded
    assert limit_problems(problems, 10, "stratified", seed=1) != strat
    rand = limit_problems(problems, 10, "random", seed=3)
    assert len(rand) == 10 and rand == limit_problems(problems, 10, "random", seed=3)
    assert limit_problems(problems, 500, "random") == problems
    with pytest.raises(ConfigError, match="first, stratified, random"):
        limit_problems(problems, 5, "best")


def test_limited_runs_warn_record_the_mode_and_resume_only_the_same_mode(tmp_path: Path,
                                                                          caplog) -> None:  # fmt: skip
    release = write_release(tmp_path / "release.jsonl")

    def run(mode: str, run_id: str) -> dict:
        mwpbench.evaluate("m", backend="mock", tasks="math", data_files=str(release), limit=2,
                          limit_mode=mode, limit_seed=7, output=tmp_path, run_id=run_id,
                          progress=False, jobs=1)  # fmt: skip
        return json.loads((tmp_path / run_id / "run.json").read_text())

    with caplog.at_level(logging.WARNING, logger="mwpbench"):
        first, strat = run("first", "a"), run("stratified", "b")
    assert "limited run is for testing" in caplog.text
    assert "limit_mode" not in first  # the default, as before
    assert strat["limit_mode"] == "stratified" and strat["limit_seed"] == 7
    assert first["config_hash"] != strat["config_hash"]
    subsets = [json.loads(line)["subset"] for line in (tmp_path / "b" / "samples.jsonl")
               .read_text().splitlines()]  # fmt: skip
    assert sorted(subsets) == ["MATH.Algebra", "MATH.Geometry"]
