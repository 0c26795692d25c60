"""The run commands through click's CliRunner, and a real `mwpbench eval` killed and resumed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _runs import GOLDEN_COMPLETIONS, read_lines, write_predictions, write_release
from click.testing import CliRunner

from mwpbench.cli import cli, main


@pytest.fixture
def release(tmp_path: Path) -> Path:
    return write_release(tmp_path / "release.jsonl")


def invoke(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result


def only_run(out: Path) -> Path:
    [run_dir] = [p for p in out.iterdir() if (p / "run.json").exists()]
    return run_dir


def test_eval_mock_prints_the_table(release, tmp_path):
    out = tmp_path / "out"
    r = invoke("eval", "--model", "mock", "--backend", "mock", "--tasks", "gsm8k,math",
               "--data-file", str(release), "--output", str(out), "-q", "-j", "1", "--subsets")  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "complete" in r.output and "MATH.Geometry" in r.output
    assert "micro" in r.output and "100.0" in r.output
    run_json = json.loads((only_run(out) / "run.json").read_text())
    assert run_json["status"] == "complete" and run_json["model"]["backend"] == "mock"


def test_eval_replay_with_task_data_file_and_show_regrade_compare_merge(release, tmp_path):
    preds = write_predictions(tmp_path / "p.jsonl", GOLDEN_COMPLETIONS)
    out = tmp_path / "out"
    r = invoke("eval", "--model", "m", "--predictions", str(preds), "--data-file",
               f"math={release}", "--output", str(out), "--run-id", "replayed", "-q", "-j", "1")  # fmt: skip
    assert r.exit_code == 0, r.output
    run_dir = out / "replayed"
    run_json = json.loads((run_dir / "run.json").read_text())
    assert run_json["model"]["backend"] == "replay"  # chosen by --predictions
    assert [t["name"] for t in run_json["tasks"]] == ["math"]  # chosen by math=PATH
    assert run_json["metrics"]["strict"]["datasets"]["math"]["accuracy"] == 0.5

    r = invoke("show", str(run_dir), "--markdown")
    assert r.exit_code == 0 and "| math | 4 | 50.0 ±25.0 | 75.0 ±21.7 | 1 | 25.0 | 0 | 0 |" in r.output

    r = invoke("regrade", str(run_dir), "-q", "-j", "1", "--headline", "official")
    assert r.exit_code == 0 and "official* %" in r.output

    r = invoke("eval", "--model", "mock", "--backend", "mock", "--data-file", f"math={release}",
               "--output", str(out), "--run-id", "mock", "-q", "-j", "1")  # fmt: skip
    assert r.exit_code == 0
    r = invoke("compare", str(run_dir), str(out / "mock"), "--grader", "strict")
    assert r.exit_code == 0, r.output
    assert "math/mwpbench/MATH/geo/1#0: A wrong -> B right" in r.output
    assert "0.5" in r.output  # McNemar p with 0 vs 2 discordant pairs

    for i in (0, 1):
        r = invoke("eval", "--model", "mock", "--backend", "mock", "--data-file", f"math={release}",
                   "--output", str(tmp_path / "shards"), "--num-shards", "2", "--shard-index",
                   str(i), "-q", "-j", "1")  # fmt: skip
        assert r.exit_code == 0
    shard_dirs = sorted(str(p) for p in (tmp_path / "shards").iterdir())
    r = invoke("merge", *shard_dirs, "--output", str(tmp_path / "merged"), "--run-id", "all")
    assert r.exit_code == 0, r.output
    assert read_lines(tmp_path / "merged" / "all" / "samples.jsonl") == read_lines(
        out / "mock" / "samples.jsonl")


def test_errors_become_messages_and_exit_codes(release, tmp_path, capsys):
    code = main(["eval", "--model", "m", "--backend", "mock", "--tasks", "gsm8kk",
                 "--data-file", str(release), "--output", str(tmp_path)])  # fmt: skip
    assert code == 2 and "Did you mean 'gsm8k'" in capsys.readouterr().err
    code = main(["eval", "--model", "./missing/model", "--backend", "hf", "--data-file",
                 str(release), "--output", str(tmp_path)])  # fmt: skip
    assert code == 2 and "does not exist" in capsys.readouterr().err
    code = main(["eval", "--model", "m", "--backend", "replay", "--data-file", str(release),
                 "--output", str(tmp_path)])  # fmt: skip
    assert code == 2 and "--predictions" in capsys.readouterr().err
    code = main(["show", str(tmp_path)])
    assert code == 1 and "not a run directory" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = main(["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                 "--output", str(blocker / "sub"), "-q"])  # fmt: skip
    assert code == 1 and "cannot write" in capsys.readouterr().err


# --- a real process, killed mid-generation and resumed ------------------------------------


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory) -> Path:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    import torch

    from mwpbench.demo import build_tiny_model

    torch.set_num_threads(1)
    return build_tiny_model(tmp_path_factory.mktemp("tiny") / "model")


def _eval_argv(model: Path, out: Path, *extra: str) -> list[str]:
    from mwpbench.demo import sample_file

    return [sys.executable, "-m", "mwpbench.cli", "eval", "--model", str(model), "--backend",
            "hf", "--backend-arg", "device=cpu", "--backend-arg", "batch_size=1",
            "--tasks", "gsm8k,math,college_math,tal_scq", "--data-file", str(sample_file()),
            "--max-tokens", "64", "--output", str(out), "--run-id", "r", "-j", "1", "-q",
            *extra]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_killed_eval_resumes_to_the_same_samples(tiny_model, tmp_path, sig):
    reference = tmp_path / "ref"
    done = subprocess.run(_eval_argv(tiny_model, reference), env=_env(), capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr

    out = tmp_path / "killed"
    samples = out / "r" / "samples.jsonl"
    proc = subprocess.Popen(_eval_argv(tiny_model, out), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and proc.poll() is None:
        if samples.exists() and samples.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err and "partial work kept" in err
    assert json.loads((out / "r" / "run.json").read_text())["status"] == "incomplete"
    stored = [json.loads(line) for line in samples.read_text().splitlines() if line.endswith("}")]
    assert 3 <= len(stored) < 17  # 3 + 7 + 4 + 3 problems

    done = subprocess.run(_eval_argv(tiny_model, out, "--resume"), env=_env(),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_json = json.loads((out / "r" / "run.json").read_text())
    assert run_json["status"] == "complete"
    assert run_json["counts"]["reused"] == len(stored)  # nothing stored was generated again
    assert run_json["counts"]["generated"] == 17 - len(stored)
    assert samples.read_text() == (reference / "r" / "samples.jsonl").read_text()
    ref_json = json.loads((reference / "r" / "run.json").read_text())
    assert run_json["metrics"] == ref_json["metrics"]


@pytest.mark.slow
def test_demo_runs_offline_end_to_end(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    import torch

    torch.set_num_threads(1)
    monkeypatch.setenv("MWPBENCH_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "results"
    r = invoke("demo", "--output", str(out), "--max-tokens", "16", "-q")
    assert r.exit_code == 0, r.output
    run_json = json.loads((only_run(out) / "run.json").read_text())
    assert run_json["status"] == "complete" and run_json["counts"]["samples"] == 32
    assert len(run_json["metrics"]["strict"]["datasets"]) == 10
    assert "macro" in r.output and "leaderboard:" in r.output
    assert (tmp_path / "cache" / "demo-tiny-llama-v2" / "config.json").exists()
