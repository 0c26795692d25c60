"""The ray backend without vLLM: its pure decisions, and a real local Ray cluster whose
replicas hold the mock engine (no torch, no vLLM): streaming, dedupe, error rows, a replica
killed mid-run, an engine that cannot start, a whole `mwpbench eval --backend ray`.

The real-engine tests (vLLM inside the replicas) are in test_ray_engine.py.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import pytest

from mwpbench.backends import ray_replica as wire
from mwpbench.backends.ray import block_size, check_options, failure, probe, replica_resources
from mwpbench.backends.select import check_backend
from mwpbench.errors import BackendError, ConfigError
from mwpbench.types import Completion, Generation, GenerationRequest, SamplingParams

# --- pure: the wire format, blocks, resources, errors, CPU slots ---------------------------


def test_requests_and_generations_survive_the_wire():
    sampled = SamplingParams(temperature=0.7, top_p=0.9, max_tokens=33, stop=("Q:", "\n\n"),
                             n=3, seed=12)  # fmt: skip
    requests = [
        GenerationRequest(id="gsm8k/1#ab", prompt="Tom has 3 apples ✓", sampling=sampled,
                          meta={"problem_id": "gsm8k/1", "gold": "3"}),  # fmt: skip
        GenerationRequest(id="c", messages=({"role": "user", "content": "2+2?"},)),
    ]
    for request in requests:
        assert wire.request_from_json(wire.request_to_json(request)) == request
    generations = [
        Generation("a", (Completion("x = 4", "stop", 7, 3), Completion("", "length", 7, 0))),
        Generation("b", error="prompt has 900 tokens, max_model_len is 512"),
    ]
    for generation in generations:
        assert wire.generation_from_json(wire.generation_to_json(generation)) == generation


def test_blocks_give_every_replica_several_and_stay_under_the_batch_size():
    assert block_size(10_000, 1, 256) == 256
    assert block_size(100, 1, 256) == 25  # 4 blocks: streamed, and all in the engine at once
    assert block_size(100, 2, 256) == 13  # 8 blocks for 2 replicas
    assert block_size(3, 4, 256) == 1
    with pytest.raises(ConfigError, match="batch_size"):
        block_size(10, 1, 0)


def test_replica_resources_follow_the_cluster():
    gpus = {"CPU": 64.0, "GPU": 8.0}
    assert replica_resources(gpus, replicas=4, world_size=2, ray_executor=False) == {
        "num_cpus": 1.0, "num_gpus": 2.0}  # fmt: skip
    # vLLM's Ray executor places the workers itself: the replica holds no GPU
    assert replica_resources(gpus, replicas=1, world_size=16, ray_executor=True)["num_gpus"] == 0
    # CPU only: a share of a CPU each, so that two fit on 2 cores beside Ray Data's work
    assert replica_resources({"CPU": 2.0}, replicas=2, world_size=1, ray_executor=False) == {
        "num_cpus": 0.67, "num_gpus": 0.0}  # fmt: skip
    assert replica_resources({"CPU": 2.0}, replicas=1, world_size=1,
                             ray_executor=False)["num_cpus"] == 1.0  # fmt: skip
    assert replica_resources({"CPU": 32.0}, replicas=4, world_size=1,
                             ray_executor=False)["num_cpus"] == 1.0  # fmt: skip
    with pytest.raises(ConfigError, match="has no GPUs"):
        replica_resources({"CPU": 8.0}, replicas=1, world_size=1, ray_executor=False, num_gpus=1)
    with pytest.raises(ConfigError, match=r"needs 16 GPU\(s\).*has 8"):
        replica_resources(gpus, replicas=1, world_size=16, ray_executor=False)


def test_a_start_error_crosses_rays_error_text_unchanged():
    carried = wire.start_error_text(ConfigError("vLLM refused max_model_len=4096"))
    rays_text = f"The actor died because of an error raised in its creation task\n  ...\nRuntimeError: {carried}\n(pid=1)"
    error = failure(RuntimeError(rays_text), 0, 10)
    assert isinstance(error, ConfigError)
    assert str(error) == "a Ray replica could not start its engine: vLLM refused max_model_len=4096"
    plain = wire.start_error_text(OSError("no such file: /m"))
    assert isinstance(failure(RuntimeError(plain), 0, 1), BackendError)
    assert "OSError: no such file: /m" in str(failure(RuntimeError(plain), 0, 1))
    other = failure(RuntimeError("ActorDiedError: the actor died\nunexpectedly"), 7, 10)
    assert isinstance(other, BackendError) and "after 7 of 10 requests" in str(other)
    assert "--resume" in str(other) and "\n" not in str(other)


def test_cpu_slots_split_the_cores_and_locks_free_with_the_process(tmp_path):
    assert wire.slot_cores([0, 1], 0, 2) == [0] and wire.slot_cores([1, 0], 1, 2) == [1]
    assert wire.slot_cores(range(8), 1, 3) == [3, 4, 5]
    assert wire.slot_cores(range(8), 2, 3) == [6, 7]
    assert wire.slot_cores([0, 1, 2], 0, 1) == [0, 1, 2]
    assert wire.slot_cores([5], 3, 4) == [5]  # more slots than cores: they share
    first = wire.claim_slot(tmp_path, 2)
    second = wire.claim_slot(tmp_path, 2)
    assert first is not None and second is not None and (first[0], second[0]) == (0, 1)
    assert wire.claim_slot(tmp_path, 2) is None
    first[1].close()  # closing the file frees the slot
    second[1].close()
    code = ("import sys, time; from pathlib import Path; from mwpbench.backends.ray_replica "
            "import claim_slot; held = claim_slot(Path(sys.argv[1]), 3); print(held[0], flush=True); "
            "time.sleep(60)")  # fmt: skip
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                              text=True)  # fmt: skip
    assert holder.stdout is not None
    try:
        assert holder.stdout.readline().strip() == "0"
        assert wire.claim_slot(tmp_path, 1) is None
        holder.kill()  # kill -9: the OS releases the lock
        holder.wait(timeout=30)
        again = wire.claim_slot(tmp_path, 3)
        assert again is not None and again[0] == 0
        again[1].close()
    finally:
        holder.kill()
        holder.stdout.close()


def test_options_are_checked_before_ray_starts():
    check_options(2, 256, 3, None, "vllm")
    check_options(1, 1, 0, 30.5, "mock")
    for bad, match in [((0, 256, 3, None, "vllm"), "replicas must be an integer >= 1"),
                       (("2", 256, 3, None, "vllm"), "replicas must be an integer"),
                       ((1, 0, 3, None, "vllm"), "batch_size"),
                       ((1, 8, -1, None, "vllm"), "max_retries"),
                       ((1, 8, 3, 0, "vllm"), "wait_for_replicas"),
                       ((1, 8, 3, None, "ray"), r"engine must be one of \['hf', 'mock'")]:  # fmt: skip
        with pytest.raises(ConfigError, match=match):
            check_options(*bad)


def test_an_address_that_nothing_answers_fails_at_once():
    import socket

    with socket.socket() as s:  # a port that was free a moment ago: nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start = time.monotonic()
    with pytest.raises(BackendError, match=rf"no Ray cluster answers at 127.0.0.1:{port}"):
        probe(f"127.0.0.1:{port}")
    assert time.monotonic() - start < 10
    probe("auto")  # Ray's own lookup: left to Ray


def test_a_missing_model_folder_is_refused_before_ray_starts_on_a_local_cluster(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        check_backend("ray", str(tmp_path / "nope"), {})
    check_backend("ray", str(tmp_path / "nope"), {"ray_address": "head:6379"})  # their disk


# --- a real local Ray cluster, mock engines ---------------------------------------------------

needs_ray = pytest.mark.skipif(
    importlib.util.find_spec("ray") is None,
    reason="needs ray[data] (pip install 'mwpbench[ray]'; the test extra has it)",
)
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@pytest.fixture(scope="module")
def cluster():
    """A local Ray cluster on 127.0.0.1 with 2 CPUs, shut down (and its files removed) at
    the end of the module."""
    with pytest.MonkeyPatch.context() as mp:
        for key, value in RAY_ENV.items():
            mp.setenv(key, value)
        import ray

        temp = tempfile.mkdtemp(prefix="mwpray", dir="/tmp")  # short: Ray's socket paths
        ray.init(address="local", num_cpus=2, include_dashboard=False, _temp_dir=temp,
                 _node_ip_address="127.0.0.1", log_to_driver=False)  # fmt: skip
        try:
            yield ray
        finally:
            ray.shutdown()
            shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def ray_env():
    """The environment of a process that starts its own local Ray cluster: Ray's files in a
    short temporary folder (removed afterwards), no usage reports."""
    temp = tempfile.mkdtemp(prefix="mwpray", dir="/tmp")
    yield {**os.environ, **RAY_ENV, "RAY_TMPDIR": temp}
    shutil.rmtree(temp, ignore_errors=True)


def _requests(n: int) -> list[GenerationRequest]:
    return [GenerationRequest(id=f"r{i}", prompt=f"Tom has {i} apples.", meta={"gold": str(i)})
            for i in range(n)]  # fmt: skip


def _ray_workers() -> list:
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if "MapWorker" in p.name()]


@needs_ray
@pytest.mark.slow
@pytest.mark.usefixtures("cluster")
class TestMockEnginesOnALocalCluster:
    def test_two_replicas_stream_every_result_once_as_the_mock_answers_it(self):
        from mwpbench.backends.mock import MockBackend
        from mwpbench.backends.ray import RayBackend

        requests = _requests(60)
        seen: list[str] = []
        with RayBackend("tiny", replicas=2, engine="mock", fail_ids=["r7"],
                        wait_for_replicas=120) as backend:  # both up before the first block
            assert backend.describe()["replica_resources"] == {"num_cpus": 0.67, "num_gpus": 0.0}
            got = backend.generate(requests, on_result=lambda g: seen.append(g.request_id))
        assert got == MockBackend(fail_ids=["r7"]).generate(requests)  # in request order
        assert got[7].error == "mock: scripted failure"  # an error row, not a failed run
        assert sorted(seen) == sorted(r.id for r in requests)  # each exactly once
        assert backend.stats["blocks"] == 8 and len(backend.stats["replicas_ready_at"]) == 2

    def test_a_killed_replica_is_restarted_and_nothing_is_lost_or_repeated(self):
        from mwpbench.backends.ray import RayBackend

        def slow(request, index):  # a block of 4 takes 1.2 s
            time.sleep(0.3)
            return f"answer to {request.prompt}"

        requests = _requests(32)
        seen: list[str] = []
        killed: list[int] = []

        def on_result(generation):
            seen.append(generation.request_id)
            if not killed:
                victim = _ray_workers()[0]
                victim.kill()  # kill -9 of one replica's process, blocks in flight
                killed.append(victim.pid)

        with RayBackend("tiny", replicas=2, engine="mock", fn=slow) as backend:
            got = backend.generate(requests, on_result=on_result)
        assert killed and sorted(seen) == sorted(r.id for r in requests)
        assert [g.completions[0].text for g in got] == [f"answer to {r.prompt}" for r in requests]

    def test_an_engine_that_cannot_start_stops_the_run_with_its_own_message(self):
        from mwpbench.backends.ray import RayBackend

        start = time.monotonic()
        with RayBackend("tiny", replicas=2, engine="mock", mode="bogus") as backend:
            with pytest.raises(ConfigError, match=r"could not start its engine: mock backend: "
                                                  r"unknown mode 'bogus'"):  # fmt: skip
                backend.generate(_requests(8))
        assert time.monotonic() - start < 60

    def test_evaluate_writes_the_run_a_mock_backend_writes(self, tmp_path):
        import mwpbench
        from mwpbench.demo import sample_file

        runs = {}
        for name, options in (("ray", {"engine": "mock", "replicas": 2}), ("mock", {})):
            result = mwpbench.evaluate("tiny", backend=name, backend_options=options,
                                       data_files=str(sample_file()), output=tmp_path / name,
                                       run_id="r", jobs=1, progress=False)  # fmt: skip
            assert result.run["status"] == "complete"
            runs[name] = (tmp_path / name / "r" / "samples.jsonl").read_bytes()
        assert runs["ray"] == runs["mock"]
        record = json.loads((tmp_path / "ray" / "r" / "run.json").read_text())
        assert record["model"]["backend"] == "ray" and record["packages"]["ray"]
        assert record["model"]["backend_args"]["replica_resources"]["num_cpus"] == 0.67


@needs_ray
@pytest.mark.slow
def test_cli_ray_backend_starts_and_stops_its_own_local_cluster(tmp_path, ray_env):
    from mwpbench.demo import sample_file

    argv = [sys.executable, "-m", "mwpbench.cli", "eval", "--model", "tiny", "--backend", "ray",
            "--replicas", "2", "--backend-arg", "engine=mock", "--data-file", str(sample_file()),
            "--output", str(tmp_path), "--run-id", "r", "-j", "1", "-q"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300, env=ray_env,
                          start_new_session=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "complete" in done.stdout
    record = json.loads((tmp_path / "r" / "run.json").read_text())
    assert record["counts"]["generated"] == 32 and record["model"]["backend_args"]["replicas"] == 2


def test_ray_options_need_the_ray_backend():
    from click.testing import CliRunner

    from mwpbench.cli import cli

    result = CliRunner().invoke(cli, ["eval", "--model", "m", "--backend", "mock",
                                      "--ray-address", "auto"])  # fmt: skip
    assert result.exit_code == 2 and "--ray-address needs --backend ray" in result.output



@needs_ray
@pytest.mark.slow
def test_a_local_cluster_keeps_the_callers_sigterm_handler(ray_env):
    """ray.init replaces SIGTERM's handler; the CLI's (SIGTERM -> interrupt -> the run is
    saved) must survive the backend starting its local cluster."""
    code = ("import signal\n"
            "from mwpbench.backends.ray import RayBackend\n"
            "def mine(signum, frame): pass\n"
            "signal.signal(signal.SIGTERM, mine)\n"
            "with RayBackend('tiny', engine='mock') as backend:\n"
            "    kept = signal.getsignal(signal.SIGTERM) is mine\n"
            "print('kept' if kept else 'replaced')\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300, env=ray_env, start_new_session=True)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "kept"
