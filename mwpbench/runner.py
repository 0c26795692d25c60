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

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mwpbench import provenance, results, runs
from mwpbench.backends.base import Backend
from mwpbench.backends.select import (
    check_backend,
    check_backend_sampling,
    choose_backend,
    identity_options,
    make_backend,
)
from mwpbench.datasets.selection import (
    PAPER_CAP,
    check_limit,
    default_prompt,
    limit_identity,
    limit_warning,
    load_problems,
    resolve_tasks,
)
from mwpbench.errors import ConfigError, MwpbenchError, RunInterrupted
from mwpbench.progress import progress_bar
from mwpbench.results import RunResult
from mwpbench.runconfig import (
    PAPER_PROMPT,
    EvalConfig,
    check_options,
    check_sampling,
)
from mwpbench.runlock import RunLock
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
        self.lock: RunLock | None = None
        self.owned = False  # the backend was built here (and is closed here)

    def _timed(self, name: str, start: float) -> None:
        self.timings[f"{name}_s"] = round(self.timings.get(f"{name}_s", 0.0)
                                          + time.perf_counter() - start, 3)  # fmt: skip

    # ---------------------------------------------------------------------------------------

    def execute(self) -> RunResult:
        """Plan, then (only once every input is valid and the backend is up) make or open
        the run directory, generate what is missing, grade, and finish run.json."""
        t_total = time.perf_counter()
        plan = self._plan()
        cfg = self.cfg
        if limit_warning(cfg.limit, cfg.limit_mode):
            log.warning(limit_warning(cfg.limit, cfg.limit_mode))
        target = results.locate_run_dir(cfg.output, run_id=cfg.run_id,
                                         config_hash=plan.config_hash, model=cfg.model,
                                         resume=cfg.resume)  # fmt: skip
        try:
            if target.exists:  # continue it: one writer at a time
                self._lock(target.path)
                stored = results.read_stored(target.path)
            else:
                stored = results.Stored(None, [])
            work = _Work.of(plan, stored, target.path)
            if work.nothing_to_do(stored):
                log.info("%s is complete; nothing to do", target.path)
                return RunResult(path=target.path, run=stored.previous,  # type: ignore[arg-type]
                                 _samples=stored.records)  # fmt: skip
            if work.todo and self.backend is None:  # up before a folder appears
                self.backend = self._load_backend(plan)
                self.owned = True
            self.dir = target.path
            if not target.exists:
                self.dir = results.create_run_dir(target)
                self._lock(self.dir)
            return self._run(plan, stored, work, t_total)
        finally:
            if self.owned and self.backend is not None:
                self.backend.close()  # harmless when generation closed it already
            if self.lock is not None:
                self.lock.release()

    def _lock(self, path: Path) -> None:
        self.lock = RunLock(path, purpose=f"mwpbench eval --model {self.cfg.model}").acquire()

    def _run(self, plan: _Plan, stored: results.Stored, work: _Work, t_total: float) -> RunResult:
        run = self.run = self._describe(plan)
        if stored.previous is not None:
            results.continue_run(run, stored.previous)
            if self.backend is None:  # nothing to generate: its description stands
                results.set_backend_args(run, stored.previous["model"].get("backend_args", {}))
        else:  # a new run, or one whose run.json is rebuilt from these options
            if stored.rebuild is not None:
                log.warning("%s: %s; rebuilding run.json from these options (the %d stored "
                            "samples are kept)", self.dir, stored.rebuild,
                            len(stored.records))  # fmt: skip
            self._record_backend()
            results.write_run(self.dir, run, retry=results.RETRY_RESUME)
        keep = work.keep
        if stored.records:
            log.info("resume: %d of %d samples stored; generating %d request(s)",
                     len(keep), len(work.wanted), len(work.todo))  # fmt: skip
        new: dict[str, SampleRecord] = {}  # filled as generations arrive
        try:
            if work.todo:
                self._generate(work.todo, work.pending, plan, new)
            records = {**keep, **{k: r for k, r in new.items() if k in work.wanted}}
            self._grade(records)
        except KeyboardInterrupt:
            self._save_incomplete()
            raise RunInterrupted(
                f"interrupted: {len(keep) + len(new)} of {len(work.wanted)} samples are stored "
                f"in {self.dir} (partial work kept). Finish it with the same command plus "
                "--resume (nothing stored is generated again)."
            ) from None
        except MwpbenchError:
            self._save_incomplete()
            raise
        return self._finish(run, records, plan, expected=len(work.wanted), reused=len(keep),
                            generated=len(new), t_total=t_total)  # fmt: skip

    def _grade(self, records: dict[str, SampleRecord]) -> None:
        """Grade the stored lines without a verdict. Verdicts are appended to samples.jsonl
        in batches as they come (a later line replaces an earlier one with the same key), so
        a run killed while grading does not grade everything again."""
        cfg = self.cfg
        t = time.perf_counter()
        ungraded = [r for r in records.values() if results.ungraded(r)]
        if ungraded:
            with _GradedLines(self.dir / results.SAMPLES) as store:
                for graded in runs.grade_with_bar(ungraded, jobs=cfg.jobs, timeout=cfg.timeout,
                                                  progress=cfg.progress,
                                                  on_record=store.add):  # fmt: skip
                    records[graded["key"]] = graded
        self._timed("grade", t)

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
        check_options(cfg)
        check_limit(cfg.limit, cfg.limit_mode)
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
            limit=cfg.limit, official=cfg.official, limit_mode=cfg.limit_mode,
            limit_seed=cfg.limit_seed, data_dir=cfg.data_dir,
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
            "model": cfg.model, "backend": backend_name,
            "backend_args": identity_options(backend_name, backend_args),
            "source": cfg.source, "suite": suite,
            "tasks": [(e["name"], e["version"], e["data_sha256"], e["n"]) for e in tasks],
            "prompt": template.hash, "sampling": s_hash, "limit": cfg.limit,
            "official": cfg.official, "shard": shard_info,
            **limit_identity(cfg.limit, cfg.limit_mode, cfg.limit_seed),
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
        run = results.new_run(
            run_id=self.dir.name, config_hash=plan.config_hash, model=cfg.model,
            backend=plan.backend_name, backend_args=plan.backend_args, source=cfg.source,
            suite=plan.suite, tasks=plan.tasks, prompt=plan.template, sampling=plan.sampling,
            sampling_hash=plan.s_hash, official_mode=cfg.official, timeout=cfg.timeout,
            limit_per_task=cfg.limit, cap_per_data_topic=PAPER_CAP if cfg.official else None,
            shard=plan.shard, packages=provenance.package_versions(plan.backend_name),
            git_commit=provenance.git_commit(), timings=self.timings,
        )  # fmt: skip
        results.set_limit_mode(run, cfg.limit_mode, cfg.limit_seed)
        return run

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
        results.write_samples(self.dir / results.SAMPLES, final, retry=results.RETRY_RESUME)
        errors = results.finish_run(run, final, expected=expected, reused=reused,
                                    generated=generated)  # fmt: skip
        self._timed("write", t)
        self._timed("total", t_total)
        results.set_timings(run, self.timings)
        self._record_backend()
        results.write_run(self.dir, run, retry=results.RETRY_RESUME)
        if errors:
            log.warning("%d of %d sample(s) have no completion (failed or missing generations): "
                        "the run is incomplete. Fix the cause (for replay: the predictions "
                        "file), then run the same command with --resume: only those are "
                        "generated again.", errors, expected)  # fmt: skip
        return RunResult(path=self.dir, run=run, _samples=final)

    def _save_incomplete(self) -> None:
        if self.run is None:
            return
        results.mark_incomplete(self.run, self.timings)
        self._record_backend()
        try:
            results.write_run(self.dir, self.run, retry=results.RETRY_RESUME)
        except MwpbenchError as exc:  # the error being raised says what to do
            log.warning("could not update %s: %s", self.dir / results.RUN_JSON, exc)

    def _load_backend(self, plan: _Plan) -> Backend:
        """Build the backend (load the model, reach the endpoints): before any folder."""
        t = time.perf_counter()
        backend = make_backend(plan.backend_name, self.cfg.model, self.cfg.backend_options)
        self._timed("backend_load", t)
        return backend

    def _record_backend(self) -> None:
        """The backend's own description of its options in run.json (secrets removed),
        taken again after generation so that its counters (retries, ...) are real."""
        describe: Callable[[], Any] | None = getattr(self.backend, "describe", None)
        if describe is not None and self.run is not None:
            args = provenance.recordable(describe(), drop=("backend", "model"))
            results.set_backend_args(self.run, args)

    def _generate(
        self,
        todo: list[GenerationRequest],
        pending: Mapping[str, list[int]],
        plan: _Plan,
        new: dict[str, SampleRecord],
    ) -> None:
        """Generate `todo`, appending each Generation's lines to samples.jsonl (and `new`)."""
        cfg = self.cfg
        backend = self.backend
        assert backend is not None
        from mwpbench.prompts import chat_model_warning

        warning = chat_model_warning(plan.template, getattr(backend, "tokenizer", None),
                                     cfg.model)  # fmt: skip
        if warning:
            log.warning(warning)
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
            if self.owned:  # closing an engine (about 5 s for vLLM) is not generation time
                t = time.perf_counter()
                backend.close()  # before grading: the GPU memory is free again
                self._timed("backend_close", t)


@dataclass
class _Work:
    """What a run has to do given what is stored: the samples it wants (key -> request,
    problem, sample index), those it keeps, and the requests still to generate."""

    wanted: dict[str, tuple[GenerationRequest, Problem, int]]
    keep: dict[str, SampleRecord]
    pending: dict[str, list[int]]  # request id -> sample indices to generate
    todo: list[GenerationRequest]

    @classmethod
    def of(cls, plan: _Plan, stored: results.Stored, run_dir: Path) -> _Work:
        wanted: dict[str, tuple[GenerationRequest, Problem, int]] = {}
        for req in plan.requests:
            problem = plan.problems[req.meta["problem_id"]]
            for i in range(plan.sampling.n):
                key = results.sample_key(problem.task, problem.id, i, plan.template.hash,
                                         plan.s_hash)  # fmt: skip
                wanted[key] = (req, problem, i)
        by_key = {r["key"]: r for r in stored.records}
        foreign = [k for k in by_key if k not in wanted]
        if foreign:  # never drop a stored generation: they belong to other options
            raise ConfigError(
                f"{run_dir / results.SAMPLES} holds {len(foreign)} sample(s) that these "
                f"options do not produce (e.g. {foreign[0]!r}): the run was made with other "
                "options (tasks, data, prompt, sampling, limit or shard). Use the run's own "
                "options, or another --run-id for a new run; nothing was changed."
            )
        # stored generations are kept; failed ones (status "error") are tried again
        keep = {k: r for k, r in by_key.items() if not results.generation_failed(r)}
        pending: dict[str, list[int]] = {}
        for key, (req, _problem, i) in wanted.items():
            if key not in keep:
                pending.setdefault(req.id, []).append(i)
        todo = [r for r in plan.requests if r.id in pending]
        return cls(wanted, keep, pending, todo)

    def nothing_to_do(self, stored: results.Stored) -> bool:
        """A complete run, resumed: everything stored and graded. It stays as it is."""
        previous = stored.previous
        return (previous is not None and previous.get("status") == "complete"
                and not self.todo and len(self.keep) == len(self.wanted)
                and len(stored.records) == len(self.wanted)
                and not any(results.ungraded(r) for r in self.keep.values()))  # fmt: skip


class _GradedLines:
    """Appends freshly graded sample lines to samples.jsonl in batches (every
    `BATCH` lines or `EVERY` seconds), so that grading progress survives a kill."""

    BATCH = 256
    EVERY = 2.0

    def __init__(self, path: Path) -> None:
        self.writer = results.SampleWriter(path)
        self.buffer: list[SampleRecord] = []
        self.last = time.monotonic()

    def add(self, record: SampleRecord) -> None:
        self.buffer.append(record)
        if len(self.buffer) >= self.BATCH or time.monotonic() - self.last >= self.EVERY:
            self.flush()

    def flush(self) -> None:
        if self.buffer and not self.writer.failed:
            lines, self.buffer = self.buffer, []
            self.writer.write(lines)
        self.last = time.monotonic()

    def __enter__(self) -> _GradedLines:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.flush()
        finally:
            self.writer.close()


__all__ = ["EvalConfig", "Run", "RunInterrupted", "check_sampling", "evaluate"]
