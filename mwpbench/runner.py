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
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwpbench import provenance, results, runs
from mwpbench.backends.base import Backend
from mwpbench.backends.select import (
    check_backend,
    check_backend_sampling,
    choose_backend,
    make_backend,
)
from mwpbench.datasets.selection import PAPER_CAP, default_prompt, load_problems, resolve_tasks
from mwpbench.errors import ConfigError, MwpbenchError, RunInterrupted, UnknownNameError
from mwpbench.progress import progress_bar
from mwpbench.results import RunResult
from mwpbench.types import (
    Generation,
    GenerationRequest,
    Problem,
    RunRecord,
    SampleRecord,
    SamplingParams,
    ShardInfo,
    TaskEntry,
)

if TYPE_CHECKING:  # pragma: no cover
    from mwpbench.prompts import PromptTemplate

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class EvalConfig:
    """Every option of one run, said once: `evaluate(model, **options)` and `mwpbench eval`
    take these names (and the fields of SamplingParams one by one: n, temperature, top_p,
    max_tokens, seed, stop)."""

    model: str  # HF model id or local folder (a name for replay/mock)
    backend: str | None = None  # vllm (default where it runs), hf (else), openai, replay, mock
    backend_options: Mapping[str, Any] = field(default_factory=dict)  # the backend's keywords
    tasks: str | Sequence[str] | None = None  # a suite ("mwpbench"), "a,b" or a list of tasks
    source: str = "mwpbench"  # "mwpbench" (the release file) or "native" (the originals)
    data_files: Any = None  # one path or list (every task), or {task: path}
    prompt: str | None = None  # template name or .jinja path [default: the tasks' YAML prompt]
    limit: int | None = None  # the first N problems per task
    # paper mode: alpaca, greedy, 2048 tokens, the first 2000 items per data_topic, the
    # official grader as the headline (strict kept beside it)
    official: bool = False
    sampling: SamplingParams = SamplingParams(seed=0)  # greedy, 2048 tokens, base seed 0
    num_shards: int = 1  # run one deterministic slice of the requests (merge later)
    shard_index: int = 0
    output: str | os.PathLike[str] = "results"  # the folder that receives the run directory
    run_id: str | None = None  # [default: date-time-model-hash]
    resume: bool = False  # continue the run with this configuration: nothing stored is redone
    jobs: int | None = None  # grading worker processes [default: all cores]
    timeout: float = 5.0  # grading limit per item, in seconds
    progress: bool = True  # progress bars

    @classmethod
    def from_options(
        cls, model: str, *, sampling: SamplingParams | None = None, **options: Any
    ) -> EvalConfig:
        """An EvalConfig from keyword options; SamplingParams' fields may come one by one
        (None means the default) instead of `sampling`. Unknown names are a ConfigError."""
        loose = {k: options.pop(k) for k in list(options) if k in _SAMPLING_FIELDS}
        if sampling is None:
            given = {k: v for k, v in loose.items() if v is not None}
            if "stop" in given:
                given["stop"] = tuple(given["stop"])
            sampling = SamplingParams(**{"seed": 0, **given})
        elif any(v is not None for v in loose.values()):
            raise ConfigError(
                f"give sampling=SamplingParams(...) or its fields ({', '.join(sorted(loose))}) "
                "as keywords, not both"
            )
        unknown = sorted(set(options) - _CONFIG_FIELDS)
        if unknown:
            raise UnknownNameError("evaluate() option", unknown[0],
                                   sorted(_CONFIG_FIELDS | _SAMPLING_FIELDS))  # fmt: skip
        return cls(model=model, sampling=sampling, **options)


_SAMPLING_FIELDS = frozenset(f.name for f in dataclasses.fields(SamplingParams))
_CONFIG_FIELDS = frozenset(f.name for f in dataclasses.fields(EvalConfig)) - {"model", "sampling"}


# --- sampling ------------------------------------------------------------------------------

PAPER_PROMPT = "alpaca"
"""Paper mode's prompt (the MWPBench driver's), whatever the tasks' YAMLs name."""
PAPER_SAMPLING = SamplingParams(temperature=0.0, top_p=1.0, n=1, max_tokens=2048)
"""What paper mode fixes (the MWPBench driver's settings)."""


def check_sampling(cfg: EvalConfig) -> SamplingParams:
    """The run's sampling parameters, checked: paper mode fixes temperature, top_p, n and
    max_tokens; several samples need a temperature."""
    sp = cfg.sampling
    if cfg.official:
        for name in ("temperature", "top_p", "n", "max_tokens"):
            given, paper = getattr(sp, name), getattr(PAPER_SAMPLING, name)
            if given != paper:
                raise ConfigError(
                    f"--official fixes {name} to {paper} (the paper's settings); drop "
                    f"--{name.replace('_', '-')} or run without --official"
                )
    if sp.n > 1 and sp.temperature == 0.0:
        raise ConfigError(
            f"n={sp.n} samples need a sampling temperature (greedy would repeat one answer): "
            "pass --temperature, e.g. 0.7"
        )
    return dataclasses.replace(sp, temperature=float(sp.temperature), top_p=float(sp.top_p),
                               max_tokens=int(sp.max_tokens), n=int(sp.n),
                               stop=tuple(sp.stop))  # fmt: skip


# --- the run ------------------------------------------------------------------------------------


def evaluate(
    model: str,
    *,
    backend: str | Backend | None = None,
    sampling: SamplingParams | None = None,
    **options: Any,
) -> RunResult:
    """Evaluate `model` on MwpBench (or `tasks`) and write a run directory under `output`.

    `options` are the fields of `EvalConfig` (backend_options, tasks, source, data_files,
    prompt, limit, official, num_shards, shard_index, output, run_id, resume, jobs,
    timeout, progress); sampling is `sampling=SamplingParams(...)` or its fields one by one
    (n, temperature, top_p, max_tokens, seed, stop). `backend` is a name or a ready backend
    object. E.g. `evaluate("Qwen/Qwen2.5-Math-1.5B", tasks="gsm8k,math", limit=100)`.
    """
    name = backend if isinstance(backend, str) or backend is None else None
    cfg = EvalConfig.from_options(model, sampling=sampling, backend=name, **options)
    return Run(cfg, None if isinstance(backend, str) or backend is None else backend).execute()


@dataclass
class _Plan:
    """What a run will do, decided before anything is written."""

    names: list[str]
    suite: str | None
    tasks: list[TaskEntry]
    problems: dict[str, Problem]  # by problem id
    requests: list[GenerationRequest]
    template: PromptTemplate
    sampling: SamplingParams  # with the template's stop strings
    s_hash: str
    shard: ShardInfo | None
    backend_name: str
    backend_args: dict[str, Any]
    config_hash: str


class Run:
    """The state of one evaluate() call: plan, run directory, generate, grade, finish."""

    def __init__(self, cfg: EvalConfig, backend: Any = None) -> None:
        self.cfg = cfg
        self.backend = backend
        self.timings: dict[str, float] = {}
        self.run: RunRecord | None = None
        self.dir: Path = Path(cfg.output)

    def _timed(self, name: str, start: float) -> None:
        self.timings[f"{name}_s"] = round(self.timings.get(f"{name}_s", 0.0)
                                          + time.perf_counter() - start, 3)  # fmt: skip

    # ---------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        t_total = time.perf_counter()
        plan = self._plan()
        cfg = self.cfg
        self.dir = results.open_run_dir(cfg.output, run_id=cfg.run_id, config_hash=plan.config_hash,
                                        model=cfg.model, resume=cfg.resume)  # fmt: skip
        run = self.run = self._describe(plan)
        stored: dict[str, SampleRecord] = {}
        if cfg.resume:
            previous, lines = results.stored_samples(self.dir)
            if previous is not None:
                results.continue_run(run, previous)
                stored = {r["key"]: r for r in lines}
        results.write_run(self.dir, run)

        wanted: dict[str, tuple[GenerationRequest, Problem, int]] = {}
        for req in plan.requests:
            problem = plan.problems[req.meta["problem_id"]]
            for i in range(plan.sampling.n):
                key = results.sample_key(problem.task, problem.id, i, plan.template.hash,
                                         plan.s_hash)  # fmt: skip
                wanted[key] = (req, problem, i)
        # stored generations are kept; failed ones (status "error") are tried again
        keep = {k: r for k, r in stored.items()
                if k in wanted and not results.generation_failed(r)}  # fmt: skip
        pending: dict[str, list[int]] = {}
        for key, (req, _problem, i) in wanted.items():
            if key not in keep:
                pending.setdefault(req.id, []).append(i)
        todo = [r for r in plan.requests if r.id in pending]
        if stored:
            log.info("resume: %d of %d samples stored; generating %d request(s)",
                     len(keep), len(wanted), len(todo))  # fmt: skip

        new: dict[str, SampleRecord] = {}  # filled as generations arrive
        try:
            if todo:
                self._generate(todo, pending, plan, new)
            records = {**keep, **{k: r for k, r in new.items() if k in wanted}}
            t = time.perf_counter()
            ungraded = [r for r in records.values() if results.ungraded(r)]
            for graded in runs.grade_with_bar(ungraded, jobs=cfg.jobs, timeout=cfg.timeout,
                                              progress=cfg.progress):  # fmt: skip
                records[graded["key"]] = graded
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
        return self._finish(run, records, plan, expected=len(wanted), reused=len(keep),
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
        if cfg.official and cfg.prompt not in (None, PAPER_PROMPT):
            raise ConfigError(
                f"--official uses the {PAPER_PROMPT} prompt; drop --prompt or --official"
            )
        if cfg.limit is not None and cfg.limit < 1:
            raise ConfigError(f"--limit must be at least 1, got {cfg.limit}")
        if cfg.timeout <= 0:
            raise ConfigError(f"timeout must be positive, got {cfg.timeout}")
        sampling = check_sampling(cfg)
        if self.backend is not None:
            backend_name = str(self.backend.name)
        else:
            backend_name = choose_backend(cfg.backend, cfg.backend_options)
            check_backend(backend_name, cfg.model, cfg.backend_options)
        check_backend_sampling(backend_name if self.backend is None else self.backend, sampling)
        names, suite, release = resolve_tasks(cfg.tasks, cfg.data_files, cfg.source)
        template = load_prompt(
            cfg.prompt or (PAPER_PROMPT if cfg.official else default_prompt(names))
        )

        t = time.perf_counter()
        loaded = load_problems(
            names, source=cfg.source, data_files=cfg.data_files, release=release,
            limit=cfg.limit, official=cfg.official,
        )  # fmt: skip
        self._timed("load", t)

        t = time.perf_counter()
        problems = [p for task in loaded for p in task.problems]
        requests = build_requests(problems, template, sampling)
        shard_info: ShardInfo | None = None
        counts = {task.name: len(task.problems) for task in loaded}
        if cfg.num_shards != 1 or cfg.shard_index != 0:
            requests = shard(requests, cfg.num_shards, cfg.shard_index)
            shard_info = {"num_shards": cfg.num_shards, "shard_index": cfg.shard_index}
            counts = dict.fromkeys(counts, 0)
            for r in requests:
                counts[r.meta["task"]] += 1
        tasks = [results.task_entry(task, counts[task.name]) for task in loaded]
        effective = effective_sampling(template, sampling)
        s_hash = sampling_hash(effective)
        self._timed("prompts", t)

        backend_args = provenance.recordable(cfg.backend_options)
        run_hash = provenance.config_hash({
            "model": cfg.model, "backend": backend_name, "backend_args": backend_args,
            "source": cfg.source, "suite": suite,
            "tasks": [(e["name"], e["version"], e["data_sha256"], e["n"]) for e in tasks],
            "prompt": template.hash, "sampling": s_hash, "limit": cfg.limit,
            "official": cfg.official, "shard": shard_info,
        })  # fmt: skip
        return _Plan(
            names=names, suite=suite, tasks=tasks, problems={p.id: p for p in problems},
            requests=requests, template=template, sampling=effective, s_hash=s_hash,
            shard=shard_info, backend_name=backend_name, backend_args=backend_args,
            config_hash=run_hash,
        )  # fmt: skip

    def _describe(self, plan: _Plan) -> RunRecord:
        """run.json as written before generation starts (status incomplete, no metrics)."""
        cfg = self.cfg
        return results.new_run(
            run_id=self.dir.name, config_hash=plan.config_hash, model=cfg.model,
            backend=plan.backend_name, backend_args=plan.backend_args, source=cfg.source,
            suite=plan.suite, tasks=plan.tasks, prompt=plan.template, sampling=plan.sampling,
            sampling_hash=plan.s_hash, official_mode=cfg.official, timeout=cfg.timeout,
            limit_per_task=cfg.limit, cap_per_data_topic=PAPER_CAP if cfg.official else None,
            shard=plan.shard, packages=provenance.package_versions(plan.backend_name),
            git_commit=provenance.git_commit(), timings=self.timings,
        )  # fmt: skip

    def _finish(
        self,
        run: RunRecord,
        records: Mapping[str, SampleRecord],
        plan: _Plan,
        *,
        expected: int,
        reused: int,
        generated: int,
        t_total: float,
    ) -> RunResult:
        """Rewrite samples.jsonl in canonical order, compute metrics, finish run.json."""
        t = time.perf_counter()
        final = results.canonical_order(records.values(), plan.names)
        results.write_samples(self.dir / results.SAMPLES, final)
        errors = results.finish_run(run, final, expected=expected, reused=reused,
                                    generated=generated)  # fmt: skip
        self._timed("write", t)
        self._timed("total", t_total)
        results.set_timings(run, self.timings)
        results.write_run(self.dir, run)
        if errors:
            log.warning("%d sample(s) failed to generate; the run is incomplete. Run the "
                        "same command with --resume to retry them.", errors)  # fmt: skip
        return RunResult(path=self.dir, run=run, _samples=final)

    def _save_incomplete(self) -> None:
        if self.run is None:
            return
        results.mark_incomplete(self.run, self.timings)
        try:
            results.write_run(self.dir, self.run)
        except MwpbenchError:
            log.warning("could not update %s", self.dir / results.RUN_JSON, exc_info=True)

    def _generate(
        self,
        todo: list[GenerationRequest],
        pending: Mapping[str, list[int]],
        plan: _Plan,
        new: dict[str, SampleRecord],
    ) -> None:
        """Generate `todo`, appending each Generation's lines to samples.jsonl (and `new`)."""
        cfg = self.cfg
        t = time.perf_counter()
        backend = self.backend
        own = backend is None
        if own:
            backend = make_backend(plan.backend_name, cfg.model, cfg.backend_options)
        describe: Callable[[], Any] | None = getattr(backend, "describe", None)
        if describe is not None and self.run is not None:
            args = provenance.recordable(describe(), drop=("backend", "model"))
            results.set_backend_args(self.run, args)
        self._timed("backend_load", t)
        by_request = {r.id: r for r in todo}
        seen: set[str] = set()
        t = time.perf_counter()
        bar = progress_bar(sum(len(pending[r.id]) for r in todo), "generate", cfg.progress)
        writer = results.SampleWriter(self.dir / results.SAMPLES)

        def on_result(generation: Generation) -> None:
            request = by_request.get(generation.request_id)
            if request is None or generation.request_id in seen:
                return
            seen.add(generation.request_id)
            problem = plan.problems[request.meta["problem_id"]]
            lines = results.generation_samples(generation, request, problem, pending[request.id])
            writer.write(lines)
            for line in lines:
                new[line["key"]] = line
            bar.update(len(lines))

        try:
            generated = backend.generate(todo, on_result=on_result)
            for generation in generated:  # backends that skipped a callback
                on_result(generation)
        finally:
            bar.close()
            writer.close()
            self._timed("generate", t)
            if own:  # closing an engine (about 5 s for vLLM) is not generation time
                t = time.perf_counter()
                backend.close()
                self._timed("backend_close", t)


__all__ = ["EvalConfig", "Run", "RunInterrupted", "check_sampling", "evaluate"]
