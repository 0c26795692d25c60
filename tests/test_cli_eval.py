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


# --- no debris: a start that fails leaves no folder (issue 12 item 2, issue 14 item 5) ------

sys.path.insert(0, str(Path(__file__).parent / "backends"))
from fake_openai_server import FakeOpenAIServer  # noqa: E402


def _closed_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


BAD_STARTS = [
    # (extra argv, exit code, words of the message)
    (["--backend", "mock", "--backend-arg", "modee=gold"], 2, "Did you mean 'mode'"),
    (["--backend", "mock", "--base-url", "http://127.0.0.1:9/v1"], 2, "--base-url is an option of the openai backend"),
    (["--predictions", "{tmp}/missing.jsonl"], 2, "missing.jsonl does not exist"),
    (["--predictions", "{tmp}"], 2, "is a directory"),  # click's own check
    (["--predictions", "{tmp}/broken.jsonl"], 1, "broken.jsonl:1"),
    (["--backend", "openai"], 2, "needs an API key"),
    (["--backend", "mock", "--temperature", "nan"], 2, "--temperature must be a finite number"),
    (["--backend", "mock", "--temperature", "inf"], 2, "--temperature must be a finite number"),
    (["--backend", "mock", "--top-p", "nan"], 2, "--top-p must be a finite number"),
    (["--backend", "mock", "--timeout", "inf"], 2, "--timeout must be a finite number"),
    (["--backend", "mock", "--timeout", "nan"], 2, "--timeout must be a finite number"),
    (["--backend", "openai", "--base-url", ""], 2, "--base-url is empty"),
    (["--backend", "openai", "--base-url", "localhost:8000/v1"], 2, "not an http(s) URL"),
    (["--backend", "openai", "--base-url", "ftp://h/v1"], 2, "not an http(s) URL"),
    (["--backend", "openai", "--base-url", "http://"], 2, "not an http(s) URL"),
    (["--backend", "openai", "--base-url", "http://h:99999/v1"], 2, "not a valid URL"),
    (["--base-url", "http://127.0.0.1:{closed}/v1"], 1, "connection refused"),
    (["--backend", "mock", "--run-id", "../escape"], 2, "--run-id '../escape' is refused"),
    (["--backend", "mock", "--run-id", "{tmp}/abs"], 2, "is refused"),
    (["--backend", "mock", "--run-id", "..", "--resume"], 2, "--run-id '..' is refused"),
    (["--backend", "mock", "--run-id", ".hidden"], 2, "is refused"),
    (["--backend", "mock", "--prompt", "{tmp}/notes.txt"], 2, "not a template file"),
    (["--backend", "mock", "--output", "{tmp}/notes.txt/out"], 1, "notes.txt is a file"),
]  # fmt: skip


@pytest.mark.parametrize(("extra", "code", "words"), BAD_STARTS,
                         ids=[" ".join(c[0][-2:]) for c in BAD_STARTS])  # fmt: skip
def test_a_start_that_fails_leaves_no_folder(release, tmp_path, capsys, monkeypatch, extra,
                                             code, words):  # fmt: skip
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    (tmp_path / "notes.txt").write_text("{{ question }}")
    before = sorted(p.name for p in tmp_path.parent.iterdir())
    argv = [a.format(tmp=tmp_path, closed=_closed_port()) for a in extra]
    out = tmp_path / "out"
    got = main(["eval", "--model", "m", "--data-file", str(release), "--output", str(out),
                "-q", "-j", "1", *argv])  # fmt: skip
    err = capsys.readouterr().err
    assert got == code and words in err, err
    assert "Traceback" not in err
    assert err.startswith("Usage:") or err.count("\n") == 1  # click's usage, or one line
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.parent.iterdir()) == before  # nothing outside


def test_an_unknown_model_leaves_no_folder(release, tmp_path, monkeypatch, capsys):
    pytest.importorskip("transformers")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "out"
    code = main(["eval", "--model", "no-such-org/no-such-model-xyz", "--backend", "hf",
                 "--data-file", str(release), "--output", str(out), "-q"])  # fmt: skip
    err = capsys.readouterr().err  # offline and not cached: a usage error, found in a second
    assert code == 2 and "not in the Hugging Face cache" in err and "HF_HUB_OFFLINE" in err
    assert not out.exists()


def test_the_folder_appears_once_the_endpoint_is_up(release, tmp_path):
    out = tmp_path / "out"
    with FakeOpenAIServer() as server:
        argv = ["eval", "--model", "m", "--base-url", server.url, "--data-file", str(release),
                "--output", str(out), "-q", "-j", "1"]  # fmt: skip
        assert main(argv) == 0  # openai: chosen by --base-url
        first = only_run(out)
        assert json.loads((first / "run.json").read_text())["model"]["backend"] == "openai"
        assert not (first / ".lock").exists()


def test_the_same_command_twice_makes_one_run(release, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
            "--output", str(out), "-q", "-j", "1"]  # fmt: skip
    assert main(argv) == 0
    run_dir = only_run(out)
    before = {p.name: p.read_bytes() for p in run_dir.iterdir()}
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"a run with these options already exists: {run_dir} (complete)" in err
    assert "--resume" in err and "--run-id" in err
    assert main([*argv, "--resume"]) == 0  # complete: nothing to do, nothing rewritten
    assert [p.name for p in out.iterdir()] == [run_dir.name]
    assert {p.name: p.read_bytes() for p in run_dir.iterdir()} == before
    assert main([*argv, "--run-id", "again"]) == 0  # a separate run, asked for by name
    assert sorted(p.name for p in out.iterdir()) == sorted([run_dir.name, "again"])


def test_secrets_in_the_base_url_and_extra_body_are_not_written(release, tmp_path):
    out = tmp_path / "out"
    with FakeOpenAIServer() as server:
        plain = server.url.replace("http://", "http://alice:PWSECRET@")
        for run_id, url in (("ok", plain), ("query", plain + "?api-key=QSECRET")):
            code = main(["eval", "--model", "m", "--backend", "openai", "--base-url", url,
                         "--backend-arg", 'extra_body={"x_api_key": "BSECRET", "top_k": 5}',
                         "--backend-arg", "max_retries=0", "--data-file", str(release),
                         "--output", str(out), "--run-id", run_id, "-q", "-j", "1"])  # fmt: skip
            # the fake server answers 404 to a URL with a query string: an incomplete run (3)
            assert code == (0 if run_id == "ok" else 3)
        assert server.bodies and server.bodies[0]["top_k"] == 5  # sent, not recorded
    for run_id in ("ok", "query"):
        for path in (out / run_id).iterdir():
            text = path.read_text()
            for secret in ("PWSECRET", "QSECRET", "BSECRET", "alice"):
                assert secret not in text, (path, secret)
    args = json.loads((out / "ok" / "run.json").read_text())["model"]["backend_args"]
    assert args["base_url"] == [server.url.replace("http://", "http://***@")]
    assert args["extra_body"] == {"top_k": 5}


def test_the_retry_counts_in_run_json_are_real(release, tmp_path):
    from _runs import ALPACA, GOLDEN_ROWS

    first = ALPACA.format(q=GOLDEN_ROWS[0][3])
    with FakeOpenAIServer({first: ["500", "503"]}) as server:
        code = main(["eval", "--model", "m", "--base-url", server.url, "--backend-arg",
                     "backoff_base=0.01", "--data-file", str(release), "--output",
                     str(tmp_path), "--run-id", "r", "-q", "-j", "1"])  # fmt: skip
        assert code == 0 and server.attempts[first] == 3
    stats = json.loads((tmp_path / "r" / "run.json").read_text())["model"]["backend_args"]["stats"]
    assert stats == {"attempts": 9, "retries": 2, "failed": 0}


@pytest.mark.parametrize("value", ["inf", "nan", "1e309"])
def test_no_command_takes_an_infinite_grading_limit(release, tmp_path, capsys, value):
    run_dir = tmp_path / "r"
    assert main(["eval", "--model", "m", "--backend", "mock", "--data-file", str(release),
                 "--output", str(tmp_path), "--run-id", "r", "-q", "-j", "1"]) == 0  # fmt: skip
    before = (run_dir / "samples.jsonl").read_bytes()
    capsys.readouterr()
    for argv in (["grade", "--pred", "1", "--gold", "1", "--timeout", value],
                 ["regrade", str(run_dir), "-q", "--timeout", value]):  # fmt: skip
        assert main(argv) == 2
        assert "finite" in capsys.readouterr().err
    assert (run_dir / "samples.jsonl").read_bytes() == before
