"""evaluate(): a golden end-to-end run, resume, paper mode, sampling, faults."""

from __future__ import annotations

import errno
import json
import math
from pathlib import Path

import pytest
from _runs import (
    ALPACA,
    GOLDEN_COMPLETIONS,
    GOLDEN_ROWS,
    ScriptedBackend,
    read_lines,
    write_predictions,
    write_release,
)

import mwpbench
from mwpbench.backends.select import default_backend
from mwpbench.datasets.selection import paper_cap
from mwpbench.errors import ConfigError, MissingExtraError, RunError, RunInterrupted
from mwpbench.prompts import OFFICIAL_STOP, load_prompt, sampling_hash
from mwpbench.types import Problem, SamplingParams

approx = pytest.approx


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "release.jsonl")


def run(release: Path, out: Path, backend, **kw):
    """evaluate() with the test release file; `scripted-model` as the model name."""
    kw.setdefault("tasks", "gsm8k,math")
    return mwpbench.evaluate("scripted-model", backend=backend, data_files=str(release),
                             output=out, progress=False, jobs=1, **kw)  # fmt: skip


# (id, subset, completion, finish_reason, extracted, correct, status, rule, official_correct)
GOLDEN = [
    ("gsm8k/mwpbench/gsm8k/1", "gsm8k", "2 + 3 = 5. The answer is 5.", "stop", "5", True,
     "correct", "answer_is", True),
    ("gsm8k/mwpbench/gsm8k/2", "gsm8k", "10 - 4 = 7. The answer is 7.", "stop", "7", False,
     "incorrect", "answer_is", False),
    ("gsm8k/mwpbench/gsm8k/3", "gsm8k", "", "error", None, False, "error", None, False),
    ("math/mwpbench/MATH/alg/1", "MATH.Algebra", "The answer is \\boxed{2}.", "stop", "2", True,
     "correct", "boxed", True),
    # the official matcher accepts x+10 for x+1 (substring); strict does not
    ("math/mwpbench/MATH/alg/2", "MATH.Algebra", "The answer is x+10.", "stop", "x+10", False,
     "incorrect", "answer_is", True),
    # truncated before an answer: strict no_answer; official reads the last number, 3
    ("math/mwpbench/MATH/geo/1", "MATH.Geometry", "The area is 2 times 3, which", "length", None,
     False, "no_answer", "none", False),
    ("math/mwpbench/MATH/geo/2", "MATH.Geometry", "The answer is 0.5", "stop", "0.5", True,
     "correct", "answer_is", True),
]  # fmt: skip
QUESTIONS = {
    "gsm8k/mwpbench/gsm8k/1": GOLDEN_ROWS[0][3], "gsm8k/mwpbench/gsm8k/2": GOLDEN_ROWS[1][3],
    "gsm8k/mwpbench/gsm8k/3": GOLDEN_ROWS[2][3], "math/mwpbench/MATH/alg/1": GOLDEN_ROWS[3][3],
    "math/mwpbench/MATH/alg/2": GOLDEN_ROWS[4][3], "math/mwpbench/MATH/geo/1": GOLDEN_ROWS[5][3],
    "math/mwpbench/MATH/geo/2": GOLDEN_ROWS[6][3],
}  # fmt: skip
GOLD = {"gsm8k/mwpbench/gsm8k/1": "5", "gsm8k/mwpbench/gsm8k/2": "6",
        "gsm8k/mwpbench/gsm8k/3": "8", "math/mwpbench/MATH/alg/1": "2",
        "math/mwpbench/MATH/alg/2": "x+1", "math/mwpbench/MATH/geo/1": "6",
        "math/mwpbench/MATH/geo/2": "\\frac{1}{2}"}  # fmt: skip


def test_golden_replay_run(release, tmp_path):
    preds = write_predictions(tmp_path / "preds.jsonl", GOLDEN_COMPLETIONS)
    result = mwpbench.evaluate("my-model", backend="replay", backend_options={"path": str(preds)},
                               tasks="gsm8k,math", data_files=str(release), output=tmp_path / "out",
                               progress=False, jobs=1)  # fmt: skip
    assert result.status == "incomplete"  # gsm8k/3 has no completion: a generation error
    samples = read_lines(result.path / "samples.jsonl")
    p_hash = load_prompt("alpaca").hash
    s_hash = sampling_hash(SamplingParams(max_tokens=2048, stop=OFFICIAL_STOP, seed=0))
    assert len(samples) == len(GOLDEN)
    for line, (pid, subset, completion, finish, extracted, correct, status, rule, official) in zip(
        samples, GOLDEN
    ):
        task = pid.split("/")[0]
        assert line["key"] == f"{task}/{pid}/0/{p_hash[:12]}/{s_hash[:12]}"
        assert (line["id"], line["task"], line["subset"], line["sample_index"]) == (
            pid, task, subset, 0)
        assert line["prompt"] == ALPACA.format(q=QUESTIONS[pid])
        assert line["gold"] == GOLD[pid]
        assert (line["completion"], line["finish_reason"]) == (completion, finish)
        assert (line["extracted"], line["correct"], line["status"], line["rule"]) == (
            extracted, correct, status, rule), pid
        assert line["official_correct"] is official, pid
        assert (line["error"] is not None) == (status == "error")
    m = result.metrics
    se = lambda p, n: math.sqrt(p * (1 - p) / n)  # noqa: E731
    gsm, mth = m["strict"]["datasets"]["gsm8k"], m["strict"]["datasets"]["math"]
    assert (gsm["accuracy"], gsm["n"], gsm["correct"]) == (approx(1 / 3), 3, 1)
    assert gsm["stderr"] == approx(se(1 / 3, 3))
    assert (mth["accuracy"], mth["n"], mth["correct"]) == (0.5, 4, 2)
    assert mth["subsets"]["MATH.Algebra"]["accuracy"] == 0.5
    assert mth["subsets"]["MATH.Geometry"]["accuracy"] == 0.5
    off = m["official"]["datasets"]
    assert off["gsm8k"]["accuracy"] == approx(1 / 3)
    assert off["math"]["accuracy"] == 0.75 and off["math"]["stderr"] == approx(se(0.75, 4))
    assert off["math"]["subsets"]["MATH.Algebra"]["accuracy"] == 1.0
    assert m["strict"]["micro"]["accuracy"] == approx(3 / 7)
    assert m["official"]["micro"]["accuracy"] == approx(4 / 7)
    assert m["strict"]["macro"]["accuracy"] == approx(5 / 12)
    assert m["strict"]["macro"]["stderr"] == approx(math.sqrt(se(1 / 3, 3) ** 2 + 0.25**2) / 2)
    assert m["official"]["macro"]["accuracy"] == approx(13 / 24)
    assert m["disagreements"] == {"gsm8k": 0, "math": 1, "total": 1}
    assert m["truncation_rate"] == {"gsm8k": 0.0, "math": 0.25}
    assert m["status_counts"]["gsm8k"] == {"correct": 1, "incorrect": 1, "no_answer": 0,
                                           "parse_error": 0, "timeout": 0, "error": 1}  # fmt: skip
    assert m["status_counts"]["math"]["no_answer"] == 1
    run_json = json.loads((result.path / "run.json").read_text())
    assert run_json["schema_version"] == 1 and run_json["status"] == "incomplete"
    assert (run_json["model"]["name"], run_json["model"]["backend"]) == ("my-model", "replay")
    assert run_json["model"]["backend_args"]["paths"] == [str(preds)]
    assert [t["name"] for t in run_json["tasks"]] == ["gsm8k", "math"]
    assert run_json["tasks"][1]["n"] == 4 and len(run_json["tasks"][0]["data_sha256"]) == 64
    assert run_json["prompt"]["name"] == "alpaca" and run_json["prompt"]["hash"] == p_hash
    assert run_json["sampling"]["max_tokens"] == 2048 and run_json["sampling"]["temperature"] == 0
    assert run_json["sampling"]["stop"] == list(OFFICIAL_STOP)
    assert run_json["graders"]["headline"] == "strict"
    assert run_json["counts"]["samples"] == 7 and run_json["counts"]["generation_errors"] == 1
    assert set(run_json["timings"]) >= {"load_s", "prompts_s", "generate_s", "grade_s",
                                        "write_s", "total_s"}  # fmt: skip
    assert run_json["packages"]["mwpbench"] and run_json["packages"]["python"]
    assert run_json["metrics"] == m


def test_resume_retries_errors_and_regenerates_nothing_stored(release, tmp_path):
    out = tmp_path / "out"
    first = run(release, out, ScriptedBackend(GOLDEN_COMPLETIONS))
    assert first.status == "incomplete"
    table = dict(GOLDEN_COMPLETIONS)
    table["gsm8k/mwpbench/gsm8k/3"] = ("4 * 2 = 8. The answer is 8.", "stop")
    backend = ScriptedBackend(table)
    second = run(release, out, backend, resume=True)
    assert second.path == first.path
    assert backend.calls == ["gsm8k/mwpbench/gsm8k/3"]
    assert second.status == "complete"
    assert second.run["counts"]["reused"] == 6 and second.run["counts"]["generated"] == 1
    assert second.metrics["strict"]["datasets"]["gsm8k"]["accuracy"] == approx(2 / 3)
    third = run(release, out, ScriptedBackend({}, forbid=True), resume=True)
    assert third.status == "complete" and third.samples == second.samples


def _table_full():
    table = dict(GOLDEN_COMPLETIONS)
    table["gsm8k/mwpbench/gsm8k/3"] = ("The answer is 8.", "stop")
    return table


def test_interrupt_mid_generation_then_resume_equals_uninterrupted(release, tmp_path):
    whole = run(release, tmp_path / "a", ScriptedBackend(_table_full()), run_id="r")
    out = tmp_path / "b"
    with pytest.raises(RunInterrupted, match="--resume") as info:
        run(release, out, ScriptedBackend(_table_full(), interrupt_after=3), run_id="r")
    assert "3 of 7 samples are stored" in str(info.value)
    run_json = json.loads((out / "r" / "run.json").read_text())
    assert run_json["status"] == "incomplete"
    stored = read_lines(out / "r" / "samples.jsonl")
    assert len(stored) == 3 and all(line["status"] is None for line in stored)  # not graded yet
    backend = ScriptedBackend(_table_full())
    resumed = run(release, out, backend, run_id="r", resume=True)
    assert len(backend.calls) == 4 and not set(backend.calls) & {s["id"] for s in stored}
    assert resumed.status == "complete"
    assert (out / "r" / "samples.jsonl").read_text() == (whole.path / "samples.jsonl").read_text()
    assert resumed.metrics == whole.metrics


def test_interrupt_mid_grading_keeps_generations(release, tmp_path, monkeypatch):
    import mwpbench.grading.batch

    real = mwpbench.grading.batch.grade_many

    def interrupted(items, **kw):
        for i, verdict in enumerate(real(items, **kw)):
            if i == 2:
                raise KeyboardInterrupt
            yield verdict

    monkeypatch.setattr(mwpbench.grading.batch, "grade_many", interrupted)
    with pytest.raises(RunInterrupted):
        run(release, tmp_path, ScriptedBackend(_table_full()), run_id="r")
    lines = read_lines(tmp_path / "r" / "samples.jsonl")
    assert len({line["key"] for line in lines}) == 7  # every generation kept
    graded = {line["key"] for line in lines if line["status"] is not None}
    assert len(graded) == 2  # and the verdicts given before the interrupt

    seen: list[str] = []

    def counting(items, **kw):
        items = list(items)
        seen.extend(item["completion"] for item in items)
        yield from real(items, **kw)

    monkeypatch.setattr(mwpbench.grading.batch, "grade_many", counting)
    resumed = run(release, tmp_path, ScriptedBackend({}, forbid=True), run_id="r", resume=True)
    assert resumed.status == "complete" and resumed.run["counts"]["generated"] == 0
    assert len(seen) == 5  # only what was not graded yet
    assert resumed.metrics["strict"]["micro"]["correct"] == 4
    whole = run(release, tmp_path / "whole", ScriptedBackend(_table_full()), run_id="r")
    assert (tmp_path / "r" / "samples.jsonl").read_bytes() == (
        whole.path / "samples.jsonl").read_bytes()  # fmt: skip


def test_disk_full_keeps_partial_work_then_resume(release, tmp_path, monkeypatch):
    import mwpbench.results
    from mwpbench.results import SampleWriter

    class FullAfterTwo(SampleWriter):
        def __init__(self, path):
            super().__init__(path)
            real, self.count = self._fh, 0

            class Handle:
                def write(inner, text):
                    self.count += 1
                    if self.count > 2:
                        raise OSError(errno.ENOSPC, "No space left on device")
                    return real.write(text)

                def flush(inner):
                    real.flush()

                def close(inner):
                    real.close()

            self._fh = Handle()

    monkeypatch.setattr(mwpbench.results, "SampleWriter", FullAfterTwo)
    with pytest.raises(RunError, match="disk full.*--resume"):
        run(release, tmp_path, ScriptedBackend(_table_full()), run_id="r")
    assert len(read_lines(tmp_path / "r" / "samples.jsonl")) == 2
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "incomplete"
    monkeypatch.setattr(mwpbench.results, "SampleWriter", SampleWriter)
    backend = ScriptedBackend(_table_full())
    resumed = run(release, tmp_path, backend, run_id="r", resume=True)
    assert len(backend.calls) == 5 and resumed.status == "complete"


def test_resume_refuses_a_different_configuration(release, tmp_path):
    run(release, tmp_path, ScriptedBackend(_table_full()), run_id="r")
    with pytest.raises(ConfigError, match="different configuration"):
        run(release, tmp_path, ScriptedBackend(_table_full()), run_id="r", resume=True,
            max_tokens=100)  # fmt: skip
    with pytest.raises(ConfigError, match="already exists"):
        run(release, tmp_path, ScriptedBackend(_table_full()), run_id="r")


def test_resume_without_run_id_finds_the_run_by_configuration(release, tmp_path):
    first = run(release, tmp_path, ScriptedBackend(GOLDEN_COMPLETIONS))
    again = run(release, tmp_path, ScriptedBackend(_table_full()), resume=True)
    assert again.path == first.path and again.status == "complete"


def test_paper_mode(release, tmp_path):
    result = run(release, tmp_path, ScriptedBackend(_table_full()), official=True)
    r = result.run
    assert r["official_mode"] is True and r["graders"]["headline"] == "official"
    assert r["prompt"]["name"] == "alpaca" and r["limit"] == 2000
    assert r["sampling"]["temperature"] == 0 and r["sampling"]["max_tokens"] == 2048
    assert r["sampling"]["stop"] == list(OFFICIAL_STOP)
    assert result.accuracy() == approx(5 / 7)  # the official micro is the headline
    assert result.accuracy(grader="strict") == approx(4 / 7)
    for bad in ({"prompt": "none"}, {"temperature": 0.7}, {"max_tokens": 512}):
        with pytest.raises(ConfigError, match="official"):
            run(release, tmp_path, ScriptedBackend({}), official=True, **bad)


def test_paper_cap_first_items_per_data_topic():
    def p(i, topic):
        return Problem(id=f"t/{i}", task="t", subset="s", question="q", answer="1",
                       meta={"data_topic": topic} if topic else {})  # fmt: skip

    problems = [p(0, "x"), p(1, "y"), p(2, "x"), p(3, "x"), p(4, "y"), p(5, None)]
    assert [q.id for q in paper_cap(problems, cap=2)] == ["t/0", "t/1", "t/2", "t/4", "t/5"]


def test_limit_and_sampling_n(release, tmp_path):
    def texts(pid):
        return [f"The answer is {GOLD[pid]}.", "The answer is 99."]

    backend = ScriptedBackend({}, samples={pid: texts(pid) for pid in GOLD})
    result = run(release, tmp_path, backend, limit=2, n=2, temperature=0.7)
    assert [t["n"] for t in result.run["tasks"]] == [2, 2]
    assert len(result.samples) == 8 and {s["sample_index"] for s in result.samples} == {0, 1}
    m = result.metrics
    assert m["strict"]["micro"]["accuracy"] == 0.5  # every item: 1 of 2 samples right
    assert m["pass_at_k"]["2"]["micro"]["accuracy"] == 1.0
    assert m["maj_at_k"]["2"]["micro"]["accuracy"] == 1.0  # a 1-1 tie goes to the first


def test_bad_options(release, tmp_path):
    with pytest.raises(ConfigError, match="temperature"):
        run(release, tmp_path, ScriptedBackend({}), n=4)
    with pytest.raises(ConfigError, match="unknown task"):
        run(release, tmp_path, ScriptedBackend({}), tasks="gsm8kk")
    with pytest.raises(ConfigError, match="predictions"):
        run(release, tmp_path, "replay")


def test_model_path_missing_and_missing_extra(release, tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        mwpbench.evaluate("./no/such/model", backend="hf", tasks="gsm8k",
                          data_files=str(release), output=tmp_path / "o1", progress=False)
    assert not (tmp_path / "o1").exists()  # nothing written for a usage error
    import importlib.util

    if importlib.util.find_spec("vllm") is None:
        with pytest.raises(MissingExtraError, match=r"mwpbench\[vllm\]"):
            run(release, tmp_path / "o2", "vllm", tasks="gsm8k")
        assert default_backend() == "hf"


def test_unwritable_output(release, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(RunError, match="cannot write"):
        run(release, blocker / "sub", ScriptedBackend(_table_full()))


def test_mock_backend_by_name_and_data_file_mapping(release, tmp_path):
    result = mwpbench.evaluate("mock", backend="mock", data_files={"math": str(release)},
                               output=tmp_path, progress=False, jobs=1)  # fmt: skip
    assert [t["name"] for t in result.run["tasks"]] == ["math"]  # tasks from the mapping
    assert result.accuracy() == 1.0 and result.status == "complete"
    with pytest.raises(ConfigError, match="not in this run"):
        mwpbench.evaluate("mock", backend="mock", tasks="gsm8k",
                          data_files={"math": str(release)}, output=tmp_path, progress=False)


def test_secrets_in_backend_options_stay_out_of_run_json(release, tmp_path):
    result = run(release, tmp_path, ScriptedBackend(_table_full()),
                 backend_options={"api_key": "sk-do-not-store", "batch_size": 2})  # fmt: skip
    text = (result.path / "run.json").read_text()
    assert "sk-do-not-store" not in text and "api_key" not in text


def test_progress_bars_only_when_asked(release, tmp_path, capsys):
    kw = {"backend": ScriptedBackend(_table_full()), "tasks": "gsm8k,math",
          "data_files": str(release), "jobs": 1}  # fmt: skip
    mwpbench.evaluate("m", output=tmp_path / "a", progress=False, **kw)
    assert "sample/s" not in capsys.readouterr().err
    kw["backend"] = ScriptedBackend(_table_full())
    mwpbench.evaluate("m", output=tmp_path / "b", progress=True, **kw)
    err = capsys.readouterr().err
    assert "generate" in err and "grade" in err and "sample" in err


def _tasks_with_prompts(tmp_path, prompts):
    """A copy of tasks/ whose task YAMLs name other default prompts."""
    import shutil

    from mwpbench import config

    root = tmp_path / "tasks"
    shutil.copytree(config.shipped_dir("tasks"), root)
    for task, prompt in prompts.items():
        path = root / f"{task}.yaml"
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("\nprompt: alpaca", f"\nprompt: {prompt}"), encoding="utf-8")
    return root


def test_the_task_yaml_prompt_is_the_default(release, tmp_path, monkeypatch):
    from mwpbench import config

    root = _tasks_with_prompts(tmp_path, {"gsm8k": "none", "math": "none"})
    monkeypatch.setattr(config, "tasks_dir", lambda: root)
    result = run(release, tmp_path / "a", ScriptedBackend(_table_full()))
    assert result.run["prompt"]["name"] == "none"
    assert result.samples[0]["prompt"] == GOLDEN_ROWS[0][3]  # none: the bare question
    chosen = run(release, tmp_path / "b", ScriptedBackend(_table_full()), prompt="alpaca_cot")
    assert chosen.run["prompt"]["name"] == "alpaca_cot"  # --prompt wins
    paper = run(release, tmp_path / "c", ScriptedBackend(_table_full()), official=True)
    assert paper.run["prompt"]["name"] == "alpaca"  # paper mode is the paper's prompt

    root = _tasks_with_prompts(tmp_path / "mixed", {"gsm8k": "none"})
    monkeypatch.setattr(config, "tasks_dir", lambda: root)
    with pytest.raises(ConfigError, match=r"different default prompts \(alpaca: math; none: gsm8k\).*--prompt"):
        run(release, tmp_path / "d", ScriptedBackend(_table_full()))
    assert not (tmp_path / "d").exists()


def test_sampling_is_one_option_or_its_fields(release, tmp_path):
    loose = run(release, tmp_path / "a", ScriptedBackend(_table_full()), max_tokens=100)
    packed = run(release, tmp_path / "b", ScriptedBackend(_table_full()),
                 sampling=SamplingParams(max_tokens=100, seed=0))  # fmt: skip
    assert loose.run["sampling"] == packed.run["sampling"]
    assert loose.run["config_hash"] == packed.run["config_hash"]
    assert loose.run["sampling"]["max_tokens"] == 100 and loose.run["sampling"]["seed"] == 0
    with pytest.raises(ConfigError, match="not both"):
        run(release, tmp_path / "c", ScriptedBackend({}), sampling=SamplingParams(), n=2)
    with pytest.raises(ConfigError, match="Did you mean 'temperature'"):
        run(release, tmp_path / "d", ScriptedBackend({}), temprature=0.7)
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def test_the_cli_options_are_the_run_options():
    """`mwpbench eval` spells no option of its own beyond the command-line conveniences:
    every other one is a field of EvalConfig or SamplingParams, under the same name."""
    import dataclasses

    from mwpbench import config, registry
    from mwpbench.cli import eval_cmd
    from mwpbench.runner import EvalConfig

    cli_only = {"data_file", "include_path", "tp", "pp", "replicas", "ray_address", "base_url",
                "predictions", "preset", "completion_key", "backend_arg", "subsets", "quiet"}  # fmt: skip
    names = {p.name for p in eval_cmd.params} - cli_only
    fields = {f.name for f in dataclasses.fields(EvalConfig)} | {
        f.name for f in dataclasses.fields(SamplingParams)}  # fmt: skip
    assert names <= fields, names - fields
    choices = {p.name: list(p.type.choices) for p in eval_cmd.params if hasattr(p.type, "choices")}
    assert choices["backend"] == list(registry.BACKENDS)
    assert choices["source"] == list(config.SOURCES)
