"""Other harnesses' outputs (issue 12.5): field paths, the lm-eval and Qwen2.5-Math presets,
through `mwpbench grade FILE` and the replay backend. The fixtures are our own files in the
formats those harnesses write (tests/fixtures/harnesses)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _runs import write_release

from mwpbench import harnesses
from mwpbench.backends import load_backend
from mwpbench.cli import main
from mwpbench.errors import ConfigError, DataError, UnknownNameError
from mwpbench.prompts import build_requests
from mwpbench.types import Problem, SamplingParams

HERE = Path(__file__).parent / "fixtures" / "harnesses"
LM_EVAL = HERE / "samples_gsm8k_2026-01-01T00-00-00.000000.jsonl"
LM_EVAL_REPEATS = HERE / "samples_math_repeats_2026-01-01T00-00-00.000000.jsonl"
QWEN = HERE / "test_qwen25-math-cot_-1_seed0_t0.0_s0_e-1.jsonl"

ROW = {"a": {"b": [{"c": "first"}, {"c": "second"}]}, "resps": [["x", "y"]], "n": 7,
       "gt": 18, "empty": []}  # fmt: skip


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("a.b.0.c", ["first"]),
        ("a.b.-1.c", ["second"]),
        ("a.b.*.c", ["first", "second"]),
        ("resps.0", ["x"]),  # a list field: its first element
        ("resps.0.*", ["x", "y"]),  # ... or every element
        ("resps", [["x", "y"]]),  # the first element of the outer list is itself a list
        ("missing|a.b.1.c", ["second"]),  # alternatives
        ("a.b.9.c", []),
        ("n.x", []),
        ("empty", []),
        ("gt", [18]),
    ],
)
def test_dotted_paths(path: str, expected: list) -> None:
    assert harnesses.values(ROW, path) == expected


def test_presets_and_overrides() -> None:
    spec = harnesses.fields("lm-eval", completion="resps.0.0")
    assert spec.completion == "resps.0.0" and spec.gold == "target" and spec.key == "question"
    assert harnesses.fields().completion == "completion"
    with pytest.raises(UnknownNameError, match="did you mean|Known presets"):
        harnesses.fields("lm_eval")
    with pytest.raises(ConfigError, match="key must be"):
        harnesses.fields(key="doc")
    assert harnesses.gold_text(harnesses.fields("lm-eval"), {"target": "a\n#### 1,234"}) == "1,234"
    assert harnesses.gold_text(harnesses.fields("qwen25-math"), {"gt": 18}) == "18"


def run_grade(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["grade", *args, "-j", "1"])
    out, err = capsys.readouterr()
    return code, out, err


def test_grade_lm_eval_samples(tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "v.jsonl"
    code, out, err = run_grade(capsys, str(LM_EVAL), "--preset", "lm-eval", "-o", str(out_file))
    assert code == 0, err
    assert "graded 3 item(s)" in out and "strict accuracy:   0.6667 (2/3)" in out
    verdicts = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["0", "1", "2"]
    assert [v["correct"] for v in verdicts] == [True, False, True]


def test_grade_every_repeat_of_lm_eval_samples(tmp_path: Path, capsys) -> None:
    out_file = tmp_path / "v.jsonl"
    code, out, err = run_grade(capsys, str(LM_EVAL_REPEATS), "--preset", "lm-eval", "-o",
                               str(out_file))  # fmt: skip
    assert code == 0, err
    verdicts = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert [v["id"] for v in verdicts] == ["0#0", "0#1", "1#0", "1#1"]
    assert [v["correct"] for v in verdicts] == [True, False, True, True]
    # the first completion only
    code, out, _ = run_grade(capsys, str(LM_EVAL_REPEATS), "--preset", "lm-eval",
                             "--completion-key", "resps.0.0", "-o", str(out_file))  # fmt: skip
    assert code == 0 and "graded 2 item(s)" in out and "(2/2)" in out


def test_grade_qwen25_math_output(tmp_path: Path, capsys) -> None:
    code, out, err = run_grade(capsys, str(QWEN), "--preset", "qwen25-math", "-o",
                               str(tmp_path / "v.jsonl"))  # fmt: skip
    assert code == 0, err
    assert "strict accuracy:   0.6667 (2/3)" in out


def test_grade_any_layout_with_keys(tmp_path: Path, capsys) -> None:
    src = tmp_path / "mine.jsonl"
    rows = [{"uid": "q1", "output": {"choices": [{"text": "so 12"}]}, "label": 12},
            {"uid": "q2", "output": {"choices": [{"text": "so 5"}]}, "label": "6"}]  # fmt: skip
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    code, out, err = run_grade(capsys, str(src), "--completion-key", "output.choices.0.text",
                               "--gold-key", "label", "--id-key", "uid", "-o",
                               str(tmp_path / "v.jsonl"))  # fmt: skip
    assert code == 0, err
    assert "(1/2)" in out
    ids = [json.loads(line)["id"] for line in (tmp_path / "v.jsonl").read_text().splitlines()]
    assert ids == ["q1", "q2"]


@pytest.mark.parametrize(("preset", "path"), [("lm-eval", LM_EVAL), ("qwen25-math", QWEN)])
def test_replay_other_harnesses_through_eval(tmp_path: Path, capsys, preset, path) -> None:
    release = write_release(tmp_path / "release.jsonl")
    code = main(["eval", "--model", "elsewhere", "--predictions", str(path), "--preset", preset,
                 "--tasks", "gsm8k", "--data-file", str(release), "--output",
                 str(tmp_path / "out"), "--run-id", "r", "-q", "-j", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    run = json.loads((tmp_path / "out" / "r" / "run.json").read_text())
    assert run["status"] == "complete" and run["model"]["backend_args"]["preset"] == preset
    assert run["metrics"]["strict"]["datasets"]["gsm8k"]["correct"] == 2


def test_replay_takes_every_repeat_as_a_sample(tmp_path: Path) -> None:
    problems = [Problem(id="math/x/1", task="math", subset="math", question="Solve $x+1=3$.",
                        answer="2"),
                Problem(id="math/x/2", task="math", subset="math", question="What is half of 1?",
                        answer="\\frac{1}{2}")]  # fmt: skip
    requests = build_requests(problems, "none", SamplingParams(temperature=1.0, n=2, seed=0))
    backend = load_backend("replay", path=str(LM_EVAL_REPEATS), preset="lm-eval")
    gens = backend.generate(requests)
    assert [len(g.completions) for g in gens] == [2, 2]
    assert gens[0].completions[1].text == "Thus $x=\\boxed{3}$."


def test_replay_names_the_preset_a_line_looks_like(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="looks like lm-eval output: add --preset lm-eval"):
        load_backend("replay", path=str(LM_EVAL))
