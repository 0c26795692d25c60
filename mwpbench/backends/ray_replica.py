"""What runs inside each Ray actor of the `ray` backend: one engine, blocks in, rows out.

A `Replica` is the callable class that Ray Data's actor pool instantiates once per actor.
It holds one engine built through our own backends (`vllm` by default, so token ids,
sampling, seeds and finish reasons are exactly the vLLM backend's) and returns one row per
request of each block it is called with: a request the engine refuses becomes an error row,
never a failed block (a failed block would fail the whole run).

Ray Data calls a replica with several blocks at once, from several threads. A vLLM engine is
driven by one thread (`EngineFeeder`) that adds each new block's requests between two
engine steps: the engine never drains between blocks, and it holds as many requests as its
batch takes. Other engines (mock, hf) answer one block at a time.

An engine that dies must not leave its actor waiting forever (vLLM's client waits forever
on a killed engine process): a watchdog thread exits the actor's process as soon as the
engine reports itself dead, as does a failed engine step. Ray then restarts the actor (a
fresh engine) and retries its blocks; nothing of an unfinished block has reached the
driver, so nothing comes twice. An engine that cannot start raises with its message behind
START_ERROR, which the driver finds in Ray's error text and raises again as it was.

On a CPU engine with several replicas on one node, each replica claims a slot with a file
lock (released by the OS when its process dies, kill -9 included) and binds vLLM's threads
to that slot's cores: engines that share every core are several times slower.

Requests and results travel as JSON strings in the rows (the wire format below). This
module imports neither ray nor vllm at import time.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from mwpbench.backends.base import error_generation
from mwpbench.errors import ConfigError, MwpbenchError
from mwpbench.types import Completion, Generation, GenerationRequest, SamplingParams

log = logging.getLogger(__name__)

ID, REQUEST, GENERATION, READY = "id", "request", "generation", "ready_at"
"""Row columns: the request id, the request (JSON), the Generation (JSON), and the time
(epoch seconds) at which the replica that answered had its engine up."""

START_ERROR = "mwpbench-replica-start-error:"
"""Marks the JSON {"kind", "message"} of an engine that could not start, in Ray's error."""

OMP_BIND = "VLLM_CPU_OMP_THREADS_BIND"


# --- the wire format (pure) ------------------------------------------------------------------


def request_to_json(request: GenerationRequest) -> str:
    sp = request.sampling
    return json.dumps({
        "id": request.id, "prompt": request.prompt,
        "messages": None if request.messages is None else [dict(m) for m in request.messages],
        "sampling": {"temperature": sp.temperature, "top_p": sp.top_p,
                     "max_tokens": sp.max_tokens, "stop": list(sp.stop), "n": sp.n,
                     "seed": sp.seed},
        "meta": dict(request.meta),
    }, ensure_ascii=False, default=str)  # fmt: skip


def request_from_json(text: str) -> GenerationRequest:
    data = json.loads(text)
    sp = dict(data["sampling"])
    sp["stop"] = tuple(sp["stop"])
    messages = data["messages"]
    return GenerationRequest(
        id=data["id"], prompt=data["prompt"],
        messages=None if messages is None else tuple(messages),
        sampling=SamplingParams(**sp), meta=data["meta"],
    )  # fmt: skip


def generation_to_json(generation: Generation) -> str:
    return json.dumps({
        "request_id": generation.request_id, "error": generation.error,
        "completions": [[c.text, c.finish_reason, c.prompt_tokens, c.completion_tokens]
                        for c in generation.completions],
    }, ensure_ascii=False)  # fmt: skip


def generation_from_json(text: str) -> Generation:
    data = json.loads(text)
    completions = tuple(
        Completion(text=t, finish_reason=f, prompt_tokens=p, completion_tokens=c)
        for t, f, p, c in data["completions"]
    )
    return Generation(request_id=data["request_id"], completions=completions,
                      error=data["error"])  # fmt: skip


def start_error_text(exc: BaseException) -> str:
    """The line that carries an engine's start-up error to the driver."""
    kind = "config" if isinstance(exc, ConfigError) else "backend"
    message = str(exc) if isinstance(exc, MwpbenchError) else f"{type(exc).__name__}: {exc}"
    return START_ERROR + json.dumps({"kind": kind, "message": message[:4000]})


def find_start_error(text: str) -> tuple[str, str] | None:
    """(kind, message) from Ray's text of a failed actor, or None when it carries none."""
    at = text.rfind(START_ERROR)
    if at == -1:
        return None
    line = text[at + len(START_ERROR) :].split("\n", 1)[0]
    try:
        data = json.loads(line)
        return str(data["kind"]), str(data["message"])
    except (ValueError, KeyError, TypeError):
        return None


# --- CPU slots -------------------------------------------------------------------------------


def slot_cores(cores: Sequence[int], slot: int, slots: int) -> list[int]:
    """The cores of `slot` when `cores` are split into `slots` contiguous groups (every
    group gets at least one core; with fewer cores than slots, groups share them)."""
    ordered = sorted(cores)
    if slots <= 1 or not ordered:
        return ordered
    if len(ordered) < slots:
        return [ordered[slot % len(ordered)]]
    size, extra = divmod(len(ordered), slots)
    start = slot * size + min(slot, extra)
    return ordered[start : start + size + (1 if slot < extra else 0)]


def claim_slot(folder: Path, slots: int) -> tuple[int, IO[str]] | None:
    """Lock the first free slot file in `folder`; the open file holds the lock (None: all
    taken). The OS releases it when the process exits, however it exits."""
    import fcntl

    folder.mkdir(parents=True, exist_ok=True)
    for slot in range(slots):
        handle = (folder / f"slot-{slot}").open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        return slot, handle
    return None


# --- feeding one vLLM engine from concurrent calls ---------------------------------------------


class _Block:
    """One call's requests and their Generations, filled in as they finish."""

    def __init__(self, requests: Sequence[GenerationRequest]) -> None:
        self.requests = requests
        self.results: list[Generation | None] = [None] * len(requests)
        self.left = len(requests)
        self.done = threading.Event()
        if not requests:
            self.done.set()

    def put(self, index: int, generation: Generation) -> None:
        self.results[index] = generation
        self.left -= 1
        if self.left == 0:
            self.done.set()


class EngineFeeder:
    """One thread runs a vLLM engine's step loop; the blocks of concurrent calls join it
    between two steps. The engine never drains between blocks (a block's longest
    generations overlap the next block's), and it sees several blocks at once, as many
    requests as its batch can hold. Requests are prepared exactly as the vLLM backend
    prepares them (`VLLMBackend.prepare`) and answered by the same `to_generation`. A
    step that fails means the engine died: the process exits (Ray restarts the replica)."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._inbox: queue.SimpleQueue[_Block] = queue.SimpleQueue()
        self._pending: dict[str, tuple[_Block, int]] = {}
        threading.Thread(target=self._loop, daemon=True, name="mwpbench-engine-feeder").start()

    def generate(self, requests: Sequence[GenerationRequest]) -> list[Generation]:
        block = _Block(requests)
        self._inbox.put(block)
        block.done.wait()
        return block.results  # type: ignore[return-value]

    def _loop(self) -> None:
        engine = self._backend.llm.llm_engine
        while True:
            blocks = [] if self._pending else [self._inbox.get()]
            while True:
                try:
                    blocks.append(self._inbox.get_nowait())
                except queue.Empty:
                    break
            for block in blocks:
                self._add(block)
            if not self._pending:
                continue
            if not engine.has_unfinished_requests():
                self._drop("vLLM dropped this request unanswered")
                continue
            try:
                outputs = engine.step()
            except Exception as exc:  # noqa: BLE001 - EngineDeadError and kin
                _exit(f"the engine died ({_reason(exc)})")
            for output in outputs:
                if output.finished:
                    found = self._pending.pop(str(output.request_id), None)
                    if found is not None:
                        block, i = found
                        block.put(i, vllm_backend().to_generation(block.requests[i], output))

    def _add(self, block: _Block) -> None:
        """Prepare a block's requests and hand them to the engine (refusals: error rows)."""
        prompts, params, slots = [], [], []
        for i, request in enumerate(block.requests):
            try:
                prepared = self._backend.prepare(request)
            except Exception as exc:  # noqa: BLE001 - a request vLLM refuses: an error row
                prepared = error_generation(request, _reason(exc))
            if isinstance(prepared, Generation):
                block.put(i, prepared)
                continue
            prompts.append(prepared[0])
            params.append(prepared[1])
            slots.append(i)
        if not slots:
            return
        try:
            self._enqueue(block, prompts, params, slots)
        except (ValueError, TypeError):  # one request spoils the call: isolate it
            for prompt, param, slot in zip(prompts, params, slots):
                try:
                    self._enqueue(block, [prompt], [param], [slot])
                except (ValueError, TypeError) as exc:
                    why = f"vLLM refused the request: {exc}"
                    block.put(slot, error_generation(block.requests[slot], why))

    def _enqueue(self, block: _Block, prompts: list[Any], params: list[Any],
                 slots: list[int]) -> None:  # fmt: skip
        internal = self._backend.llm.enqueue(prompts=prompts, sampling_params=params,
                                             use_tqdm=False)  # fmt: skip
        for rid, slot in zip(internal, slots):
            self._pending[vllm_backend().external_id(rid)] = (block, slot)

    def _drop(self, why: str) -> None:
        pending, self._pending = self._pending, {}
        for block, i in pending.values():
            block.put(i, error_generation(block.requests[i], why))


def vllm_backend() -> Any:
    """mwpbench.backends.vllm, imported when a replica runs vLLM (not for other engines)."""
    from mwpbench.backends import vllm

    return vllm


# --- the actor -------------------------------------------------------------------------------


class Replica:
    """One engine in one Ray actor; Ray Data calls it with blocks of request rows, from
    several threads at once (a vLLM engine is fed by one thread: EngineFeeder)."""

    def __init__(
        self,
        *,
        engine: str,
        model: str,
        options: Mapping[str, Any],
        pin: Mapping[str, Any] | None = None,
        watchdog_s: float = 1.0,
    ) -> None:
        self._slot: IO[str] | None = None
        self._lock = threading.Lock()
        try:
            if pin:
                self._pin(Path(pin["folder"]), int(pin["slots"]))
            from mwpbench.backends import load_backend

            started = time.monotonic()
            self.backend = load_backend(engine, model=model, **dict(options))
            self.ready_at = time.time()
            log.info("replica %d: %s engine up in %.1f s", os.getpid(), engine,
                     time.monotonic() - started)  # fmt: skip
        except Exception as exc:
            raise RuntimeError(start_error_text(exc)) from exc
        self._feeder = EngineFeeder(self.backend) if engine == "vllm" else None
        dead = getattr(self.backend, "engine_dead", None)
        if callable(dead):
            threading.Thread(target=_watch, args=(dead, watchdog_s), daemon=True,
                             name="mwpbench-replica-watchdog").start()  # fmt: skip

    def _pin(self, folder: Path, slots: int) -> None:
        """Bind this engine's threads to its slot's cores (unless the user bound them)."""
        if os.environ.get(OMP_BIND) or not hasattr(os, "sched_getaffinity"):
            return
        claimed = claim_slot(folder, slots)
        if claimed is None:
            return
        slot, self._slot = claimed
        cores = slot_cores(sorted(os.sched_getaffinity(0)), slot, slots)
        os.environ[OMP_BIND] = ",".join(map(str, cores))
        log.info("replica %d: slot %d, vLLM threads on cores %s", os.getpid(), slot, cores)

    def __call__(self, batch: Mapping[str, Any]) -> dict[str, list[Any]]:
        column = batch[REQUEST]
        texts = column.to_pylist() if hasattr(column, "to_pylist") else list(column)
        requests = [request_from_json(str(text)) for text in texts]
        if self._feeder is not None:
            generations = self._feeder.generate(requests)
        else:
            with self._lock:  # other engines answer one call at a time
                generations = self._generate(requests)
        return {
            ID: [g.request_id for g in generations],
            GENERATION: [generation_to_json(g) for g in generations],
            READY: [self.ready_at] * len(generations),
        }

    def _generate(self, requests: list[GenerationRequest]) -> list[Generation]:
        """Answer the block in one call; when the engine refuses it, request by request, so
        only the requests at fault become error rows. A dead engine ends the process."""
        try:
            return list(self.backend.generate(requests))
        except Exception as exc:  # noqa: BLE001 - no exception may fail the dataset
            self._exit_if_dead(exc)
            if len(requests) == 1:
                return [error_generation(requests[0], _reason(exc))]
            log.warning("replica %d: the engine refused a block (%s); answering its %d "
                        "requests one by one", os.getpid(), _reason(exc),
                        len(requests))  # fmt: skip
        out = []
        for request in requests:
            try:
                [generation] = self.backend.generate([request])
            except Exception as exc:  # noqa: BLE001
                self._exit_if_dead(exc)
                generation = error_generation(request, _reason(exc))
            out.append(generation)
        return out

    def _exit_if_dead(self, exc: BaseException) -> None:
        dead = getattr(self.backend, "engine_dead", None)
        if callable(dead) and dead():
            _exit(f"the engine died ({_reason(exc)})")


def _reason(exc: BaseException) -> str:
    text = str(exc) if isinstance(exc, MwpbenchError) else f"{type(exc).__name__}: {exc}"
    return text[:2000]


def _watch(dead: Callable[[], bool], interval: float) -> None:
    while True:
        time.sleep(interval)
        try:
            if dead():
                _exit("the engine died")
        except Exception:  # noqa: BLE001 - a watchdog that raises watches nothing
            log.debug("replica watchdog", exc_info=True)


def _exit(why: str) -> None:
    """Leave the actor's process at once: Ray restarts the actor and retries its batches."""
    log.error("replica %d: %s; exiting so that Ray restarts this replica", os.getpid(), why)
    logging.shutdown()
    os._exit(70)


__all__ = [
    "GENERATION",
    "ID",
    "READY",
    "REQUEST",
    "START_ERROR",
    "EngineFeeder",
    "Replica",
    "claim_slot",
    "find_start_error",
    "generation_from_json",
    "generation_to_json",
    "request_from_json",
    "request_to_json",
    "slot_cores",
    "start_error_text",
]
