"""The run record (docs/run-format.md): the one owner of samples.jsonl and run.json.

This module alone builds, writes, reads and migrates the sample line (`SampleRecord`) and
run.json (`RunRecord`), and opens run directories; the runner drives, and the leaderboard,
`regrade`, `merge` and `compare` (runs.py) read and write through here. `results/<run-id>/run.json` says what was run and holds the metrics
(rewritten atomically: temp file + os.replace); `samples.jsonl` holds one line per (problem,
sample index), appended and flushed as generations finish, and rewritten atomically (in
canonical order, with verdicts) once they are graded. Nothing is recovered from file or
directory names.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NamedTuple, cast

from mwpbench import jsonio
from mwpbench.errors import ConfigError, RunError
from mwpbench.types import (
    GRADERS,
    Counts,
    Generation,
    GenerationRequest,
    LoadedTask,
    Problem,
    PromptInfo,
    RunRecord,
    SampleRecord,
    SamplingParams,
    ShardInfo,
    TaskEntry,
    Verdict,
)

if TYPE_CHECKING:  # pragma: no cover
    from mwpbench.prompts import PromptTemplate

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
SAMPLES = "samples.jsonl"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- building sample lines -------------------------------------------------------------------


def sample_key(
    task: str, problem_id: str, sample_index: int, prompt_hash: str, sampling_hash: str
) -> str:
    """(task, problem id, sample index, prompt hash, sampling hash) as one string."""
    return f"{task}/{problem_id}/{sample_index}/{prompt_hash[:12]}/{sampling_hash[:12]}"


def prompt_text(request: GenerationRequest) -> str:
    """The prompt as stored: the text, or chat messages as `<|role|>` lines + content."""
    if request.prompt is not None:
        return request.prompt
    return "\n".join(f"<|{m['role']}|>\n{m['content']}" for m in request.messages or ())


def new_sample(
    request: GenerationRequest,
    problem: Problem,
    index: int,
    *,
    completion: str = "",
    finish_reason: str = "error",
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
    error: str | None = None,
) -> SampleRecord:
    """One samples.jsonl line, verdicts not yet filled in (status None = ungraded; a failed
    generation gets status "error" at once)."""
    meta = request.meta
    failed = error is not None
    record: dict[str, Any] = {
        "key": sample_key(problem.task, problem.id, index, meta["prompt_hash"],
                          meta["sampling_hash"]),
        "id": problem.id,
        "task": problem.task,
        "subset": problem.subset,
        "level": problem.level,
        "sample_index": index,
        "prompt": prompt_text(request),
        "completion": completion,
        "finish_reason": finish_reason,
        "gold": problem.answer,
    }  # fmt: skip
    options = problem.meta.get("options")
    if options:
        record["choices"] = dict(options)
    record.update({
        "extracted": None, "correct": False if failed else None,
        "status": "error" if failed else None, "rule": None, "method": None,
        "detail": error,
        "official_correct": False if failed else None, "official_extracted": None,
        "official_status": "error" if failed else None, "official_rule": None,
        "official_detail": None,
        "prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "error": error,
    })  # fmt: skip
    return cast(SampleRecord, record)


def generation_samples(
    generation: Generation,
    request: GenerationRequest,
    problem: Problem,
    indices: Iterable[int],
) -> list[SampleRecord]:
    """The sample lines of one Generation, for the sample indices still missing."""
    out = []
    for i in indices:
        if generation.error is not None or i >= len(generation.completions):
            message = generation.error or f"backend returned no completion {i}"
            out.append(new_sample(request, problem, i, error=message))
            continue
        c = generation.completions[i]
        out.append(new_sample(
            request, problem, i, completion=c.text, finish_reason=c.finish_reason,
            prompt_tokens=c.prompt_tokens, completion_tokens=c.completion_tokens,
        ))  # fmt: skip
    return out


def set_verdict(record: SampleRecord, grader: str, verdict: Verdict) -> None:
    """Store `grader`'s verdict in its fields of `record` (strict: `correct`, `status`, ...;
    official: `official_correct`, `official_status`, ...; the official grader has no
    `method`)."""
    if grader == "strict":
        record["correct"] = verdict.correct
        record["status"] = verdict.status
        record["extracted"] = verdict.extracted
        record["rule"] = verdict.rule
        record["method"] = verdict.method
        record["detail"] = verdict.detail
    elif grader == "official":
        record["official_correct"] = verdict.correct
        record["official_status"] = verdict.status
        record["official_extracted"] = verdict.extracted
        record["official_rule"] = verdict.rule
        record["official_detail"] = verdict.detail
    else:
        raise ConfigError(f"grader must be one of {', '.join(GRADERS)}, got {grader!r}")


def gradable(record: Mapping[str, Any]) -> bool:
    """Whether a sample has a completion to grade (a failed generation has none)."""
    return not generation_failed(record)


def grading_item(record: SampleRecord) -> dict[str, Any]:
    """What the graders need of a sample line (grading.batch.grade_items' item)."""
    return {"completion": record.get("completion") or "", "gold": record.get("gold") or "",
            "finish_reason": record.get("finish_reason"), "choices": record.get("choices"),
            "task": record.get("task")}  # fmt: skip


def generation_failed(record: Mapping[str, Any]) -> bool:
    """A failed generation (`error` holds why; status "error"): `--resume` generates it
    again. A grading failure (status "error", no `error`) is not one: regrade grades it."""
    return record.get("error") is not None


def ungraded(record: Mapping[str, Any]) -> bool:
    """Generated, stored, not graded yet (the run stopped between generation and grading)."""
    return record.get("status") is None


_NUM = re.compile(r"(\d+)")


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(text))


def canonical_order(
    records: Iterable[SampleRecord], task_order: Sequence[str]
) -> list[SampleRecord]:
    """Records sorted by (task position, natural order of problem id, sample index): the
    same for a run, its resumed continuation and its merged shards."""
    rank = {t: i for i, t in enumerate(task_order)}
    return sorted(
        records,
        key=lambda r: (
            rank.get(r["task"], len(rank)), r["task"], _natural(r["id"]), r.get("sample_index", 0)
        ),
    )  # fmt: skip


# --- building run.json -----------------------------------------------------------------------


def task_entry(task: LoadedTask, n: int) -> TaskEntry:
    """run.json's entry for one loaded task; `n` is the number of problems this run (or
    shard) evaluates."""
    shas = [sha for _, sha in task.files]
    digest = shas[0] if len(shas) == 1 else hashlib.sha256("".join(shas).encode()).hexdigest()
    return {
        "name": task.name,
        "version": task.version,
        "source": task.source,
        "n": n,
        "data_sha256": digest,
        "data_files": [{"name": Path(path).name, "sha256": sha} for path, sha in task.files],
        "language": task.language,
        "release": task.release,
        "dropped": dict(task.dropped),
    }


def prompt_info(template: PromptTemplate) -> PromptInfo:
    """What run.json records about the prompt template."""
    return {
        "name": template.name,
        "hash": template.hash,
        "kind": "chat" if template.is_chat else "text",
        "stop": list(template.stop),
        "path": template.path,
    }


def new_run(
    *,
    run_id: str,
    config_hash: str,
    model: str,
    backend: str,
    backend_args: Mapping[str, Any],
    source: str,
    suite: str | None,
    tasks: Sequence[TaskEntry],
    prompt: PromptTemplate,
    sampling: SamplingParams,
    sampling_hash: str,
    official_mode: bool,
    timeout: float,
    limit_per_task: int | None,
    cap_per_data_topic: int | None,
    shard: ShardInfo | None,
    packages: Mapping[str, str | None],
    git_commit: str | None,
    timings: Mapping[str, float],
) -> RunRecord:
    """run.json as written before generation starts (status incomplete, no metrics)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": "incomplete",
        "created_at": utc_now(),
        "finished_at": None,
        "config_hash": config_hash,
        "model": {"name": model, "backend": backend, "backend_args": dict(backend_args)},
        "source": source,
        "suite": suite,
        "tasks": list(tasks),
        "prompt": prompt_info(prompt),
        "sampling": {
            "temperature": sampling.temperature, "top_p": sampling.top_p,
            "max_tokens": sampling.max_tokens, "stop": list(sampling.stop), "n": sampling.n,
            "seed": sampling.seed, "hash": sampling_hash,
        },
        "graders": {"headline": "official" if official_mode else "strict",
                    "stored": list(GRADERS), "timeout": timeout},
        "official_mode": official_mode,
        "limit": limit_per_task if limit_per_task is not None else cap_per_data_topic,
        "limit_per_task": limit_per_task,
        "cap_per_data_topic": cap_per_data_topic,
        "shard": shard,
        "packages": dict(packages),
        "git_commit": git_commit,
        "timings": dict(timings),
        "counts": {"samples": 0, "generation_errors": 0, "timeouts": 0},
        "metrics": None,
    }  # fmt: skip


def continue_run(run: RunRecord, previous: RunRecord) -> None:
    """A resumed run keeps the creation time of the run it continues."""
    run["created_at"] = previous.get("created_at", run["created_at"])


def set_backend_args(run: RunRecord, args: Mapping[str, Any]) -> None:
    """Record the backend's own description of its options (secrets already removed)."""
    run["model"]["backend_args"] = dict(args)


def finalize_metrics(run: RunRecord, records: Sequence[SampleRecord]) -> None:
    """Recompute run["metrics"] and the sample counts from graded records (other counts,
    such as `reused` and `generated`, are kept)."""
    from mwpbench.grading.official import GOLD_FALLBACK_DETAIL
    from mwpbench.metrics import compute_metrics

    order = [t["name"] for t in run.get("tasks", [])]
    run["metrics"] = compute_metrics(records, task_order=order)
    counts: Counts = {
        "samples": len(records),
        "generation_errors": sum(1 for r in records if generation_failed(r)),
        "timeouts": sum(1 for r in records if r.get("status") == "timeout"),
        "ungraded": sum(1 for r in records if ungraded(r)),
        # golds the official matcher's strip() cannot handle: the official driver crashes
        # on them; we grade them by raw equality and count them here (OFFICIAL_GRADER.md)
        "official_gold_fallbacks": sum(
            1 for r in records if r.get("official_detail") == GOLD_FALLBACK_DETAIL
        ),
    }
    for kept in ("reused", "generated"):  # how the samples came to be: regrading keeps it
        if kept in run.get("counts", {}):
            counts[kept] = run["counts"][kept]
    run["counts"] = counts


def finish_run(
    run: RunRecord,
    records: Sequence[SampleRecord],
    *,
    expected: int,
    reused: int,
    generated: int,
) -> int:
    """Metrics, counts, status and finish time of a run whose generation is over; returns
    the number of failed generations (the run is complete without any, and nothing missing)."""
    errors = sum(1 for r in records if generation_failed(r))
    finalize_metrics(run, records)
    run["counts"]["reused"] = reused
    run["counts"]["generated"] = generated
    run["status"] = "complete" if len(records) == expected and not errors else "incomplete"
    run["finished_at"] = utc_now()
    return errors


def mark_regraded(run: RunRecord, *, headline: str | None, timeout: float) -> None:
    """A run graded again: the grading options it used, and when."""
    graders = run.setdefault("graders", {"headline": "strict", "stored": list(GRADERS),
                                         "timeout": timeout})  # fmt: skip
    if headline:
        graders["headline"] = headline
    graders["timeout"] = timeout
    run["regraded_at"] = utc_now()


_SHARD_FREE = ("run_id", "status", "created_at", "finished_at", "timings", "counts",
               "metrics", "shard", "config_hash", "regraded_at", "merged_from", "tasks")  # fmt: skip


def shard_config(run: Mapping[str, Any]) -> dict[str, Any]:
    """What the shards of one run have in common (everything but their own progress)."""
    return {k: v for k, v in run.items() if k not in _SHARD_FREE}


def merged_run(runs: Sequence[RunResult], run_id: str, *, complete: bool) -> RunRecord:
    """run.json of shards joined: the first shard's with `shard` null, the tasks' `n`
    summed, timings summed (machine time), `merged_from`, and no `config_hash`; metrics
    follow from the merged samples (finalize_metrics)."""
    tasks: dict[str, TaskEntry] = {}
    for r in runs:
        for t in r.run.get("tasks", []):
            entry = tasks.setdefault(t["name"], {**t, "n": 0})
            entry["n"] += t.get("n", 0)
    run: RunRecord = runs[0].run.copy()
    run["run_id"] = run_id
    run["status"] = "complete" if complete else "incomplete"
    run["created_at"] = min(str(r.run.get("created_at")) for r in runs)
    run["finished_at"] = utc_now()
    run["tasks"] = list(tasks.values())
    run["shard"] = None
    run["merged_from"] = [{"run_id": r.run_id, "shard": r.run.get("shard"), "status": r.status,
                           "timings": r.run.get("timings")} for r in runs]  # fmt: skip
    run["timings"] = _summed_timings(runs)
    run.pop("config_hash", None)
    return run


def _summed_timings(runs: Sequence[RunResult]) -> dict[str, float]:
    """Each timing summed over the shards (machine time, not wall time)."""
    out: dict[str, float] = {}
    for r in runs:
        for k, v in (r.run.get("timings") or {}).items():
            if isinstance(v, (int, float)):
                out[k] = round(out.get(k, 0.0) + v, 3)
    return out


def set_timings(run: RunRecord, timings: Mapping[str, float]) -> None:
    run["timings"] = dict(timings)


def mark_incomplete(run: RunRecord, timings: Mapping[str, float]) -> None:
    """An interrupted or failed run: incomplete, with the time it has spent so far."""
    run["status"] = "incomplete"
    run["timings"] = dict(timings)


# --- writing -------------------------------------------------------------------------------


def _os_error(exc: OSError, path: Path, what: str) -> RunError:
    if exc.errno == errno.ENOSPC:
        return RunError(
            f"disk full while writing {path} ({what}). Free some space, then run the same "
            "command again with --resume: everything already written is kept."
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return RunError(
            f"cannot write {path}: {exc.strerror}. Choose a writable folder with --output."
        )
    return RunError(f"cannot write {path} ({what}): {exc.strerror or exc}")


def write_atomic(path: Path, text: str) -> None:
    """Write `text` to `path` through a temp file in the same folder and os.replace."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        raise _os_error(exc, path, "atomic rewrite; the previous version is intact") from exc
    finally:
        tmp.unlink(missing_ok=True)


def dumps_line(record: Mapping[str, Any]) -> str:
    return jsonio.dumps(record, separators=(",", ":")) + "\n"


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    write_atomic(path, jsonio.dumps(data, indent=2) + "\n")


def write_run(run_dir: Path, run: RunRecord) -> None:
    """Replace run_dir/run.json (atomically)."""
    write_json(run_dir / RUN_JSON, run)


def write_samples(path: Path, records: Iterable[Mapping[str, Any]]) -> None:
    """Replace samples.jsonl with `records` (atomically)."""
    write_atomic(path, "".join(dumps_line(r) for r in records))


class SampleWriter:
    """Appends sample lines to samples.jsonl, flushed after every generation."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.written = 0
        self.failed = False
        try:
            self._fh: IO[str] = path.open("a", encoding="utf-8")
        except OSError as exc:
            raise _os_error(exc, path, "opening for append") from exc

    def write(self, records: Sequence[Mapping[str, Any]]) -> None:
        """All lines of one generation in one write, then flush (the OS keeps them if the
        process is killed)."""
        try:
            self._fh.write("".join(dumps_line(r) for r in records))
            self._fh.flush()
        except OSError as exc:
            self.failed = True
            raise _os_error(exc, self.path, f"{self.written} samples stored so far") from exc
        self.written += len(records)

    def close(self) -> None:
        try:
            self._fh.close()
        except OSError as exc:  # a failed flush of the last buffer
            if not self.failed:  # already reported by write()
                raise _os_error(exc, self.path, "closing") from exc

    def __enter__(self) -> SampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def truncate_partial_line(path: Path) -> None:
    """Cut a half-written last line (a kill during a write) before appending again."""
    if not path.exists():
        return
    with path.open("rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        block = 1 << 16
        pos = size
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            i = chunk.rfind(b"\n")
            if i != -1:
                fh.truncate(start + i + 1)
                return
            pos = start
        fh.truncate(0)


# --- reading and migrating -------------------------------------------------------------------

_DEFAULTS: dict[str, Any] = {
    "finished_at": None, "suite": None, "official_mode": False, "limit": None,
    "limit_per_task": None, "cap_per_data_topic": None, "shard": None, "packages": {},
    "git_commit": None, "timings": {}, "counts": {}, "metrics": None,
}  # fmt: skip
"""Keys a schema-1 run.json may lack (early writers, hand-made files): their meaning."""


def migrate_run(data: Any, path: Path) -> RunRecord:
    """A run.json document as the current RunRecord: checked, and upgraded from older
    schema versions (there are none yet) or completed with the defaults of keys it lacks."""
    if not isinstance(data, dict):
        raise RunError(f"{path}: expected a JSON object, got {type(data).__name__}")
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RunError(
            f"{path}: schema_version {version!r} is not supported (this mwpbench reads "
            f"{SCHEMA_VERSION}); upgrade mwpbench"
        )
    for key, value in _DEFAULTS.items():
        data.setdefault(key, value.copy() if isinstance(value, dict) else value)
    return data  # type: ignore[return-value]  # checked above; readers stay defensive


def read_run_json(run_dir: Path) -> RunRecord:
    path = run_dir / RUN_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(
            f"{run_dir} is not a run directory (no {RUN_JSON}); give a folder made by "
            "`mwpbench eval`, e.g. results/<run-id>"
        ) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    return migrate_run(data, path)


class BadLine(NamedTuple):
    """A samples.jsonl line that could not be read."""

    number: int
    reason: str
    cut_off: bool  # the last line, without a newline: a write cut short by a kill


def scan_samples(path: Path) -> tuple[list[SampleRecord], list[BadLine]]:
    """The sample lines of `path` (later lines replace earlier ones with the same key) and
    the lines that could not be read, reported rather than raised. A missing file is no
    samples; an unreadable one raises RunError."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    by_key: dict[str, SampleRecord] = {}
    bad: list[BadLine] = []
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        cut_off = number == len(lines)  # no newline after it
        try:
            record = json.loads(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.append(BadLine(number, "not UTF-8 text", cut_off))
            continue
        except json.JSONDecodeError as exc:
            bad.append(BadLine(number, f"not valid JSON ({exc.msg})", cut_off))
            continue
        if not isinstance(record, dict) or not isinstance(record.get("key"), str):
            bad.append(BadLine(number, "expected a JSON object with a 'key'", cut_off))
            continue
        by_key[record["key"]] = record  # type: ignore[assignment]
    return list(by_key.values()), bad


def read_samples(path: Path) -> list[SampleRecord]:
    """The sample lines; a half-written last line (a killed run) is ignored, a malformed
    line elsewhere raises RunError naming the line. Later lines replace earlier ones with
    the same key."""
    records, bad = scan_samples(path)
    for line in bad:
        if line.cut_off:
            log.warning("%s:%d: ignoring a half-written last line", path, line.number)
            continue
        raise RunError(f"{path}:{line.number}: {line.reason}")
    return records


# --- the run ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One run directory: `run` (run.json), `samples` (samples.jsonl, read on first use),
    `metrics`, and `to_pandas()` for notebooks."""

    path: Path
    run: RunRecord
    _samples: list[SampleRecord] | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id") or self.path.name)

    @property
    def status(self) -> str:
        return str(self.run.get("status"))

    @property
    def metrics(self) -> dict[str, Any] | None:
        return self.run.get("metrics")

    @property
    def headline(self) -> str:
        graders = self.run.get("graders")
        return str(graders.get("headline", "strict") if isinstance(graders, Mapping) else "strict")

    @property
    def task_names(self) -> list[str]:
        return [str(t["name"]) for t in self.run.get("tasks", []) if isinstance(t, Mapping)]

    @property
    def samples_path(self) -> Path:
        return self.path / SAMPLES

    @property
    def samples(self) -> list[SampleRecord]:
        if self._samples is None:
            self._samples = read_samples(self.samples_path)
        return self._samples

    def accuracy(self, dataset: str | None = None, *, grader: str | None = None) -> float | None:
        """Headline (or `grader`) accuracy of one dataset, or micro when dataset is None."""
        if not self.metrics:
            return None
        block = self.metrics[grader or self.headline]
        if dataset is None:
            return block["micro"]["accuracy"]
        return block["datasets"][dataset]["accuracy"]

    def to_pandas(self) -> Any:
        """One row per sample; `correct` is the strict verdict, `official_correct` the
        official one. pandas is imported here (it comes with the `datasets` dependency)."""
        import pandas as pd

        columns = [
            "id", "task", "subset", "level", "sample_index", "gold", "extracted", "correct", "status",
            "rule", "method", "official_correct", "official_extracted", "finish_reason",
            "prompt", "completion", "prompt_tokens", "completion_tokens", "error", "key",
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(self.samples)
        for name in columns:
            if name not in frame.columns:
                frame[name] = None
        # lines written before samples had a level read as None (not NaN)
        frame["level"] = frame["level"].astype(object).where(frame["level"].notna(), None)
        rest = [c for c in frame.columns if c not in columns]
        return frame[columns + rest]

    def __repr__(self) -> str:
        acc = self.accuracy()
        shown = "n/a" if acc is None else f"{acc:.4f}"
        return (
            f"RunResult({self.run_id!r}, status={self.status!r}, "
            f"{self.headline} micro={shown}, path={str(self.path)!r})"
        )


def load_run(path: str | os.PathLike[str]) -> RunResult:
    """Open a run directory written by `mwpbench eval` (or `merge`)."""
    run_dir = Path(path)
    return RunResult(path=run_dir, run=read_run_json(run_dir))


# --- run directories -----------------------------------------------------------------------


def slug(text: str, max_len: int = 64) -> str:
    """A file-name-safe piece of text."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:max_len] or "run"


def model_slug(model: str) -> str:
    """The model's last path part, file-name-safe (for run ids)."""
    base = model.rstrip("/").rsplit("/", 1)[-1] or "model"
    return re.sub(r"[^A-Za-z0-9._-]+", "-", base).strip("-.")[:64] or "model"


def make_run_dir(path: Path, *, exist_ok: bool) -> None:
    try:
        path.mkdir(parents=True, exist_ok=exist_ok)
    except FileExistsError:
        raise ConfigError(
            f"{path} already exists; continue it with --resume, or pick another --run-id"
        ) from None
    except OSError as exc:
        raise _os_error(exc, path, "creating the run directory") from exc
    probe = path / f".write-test-{os.getpid()}"
    try:
        probe.write_text("", encoding="utf-8")
        probe.unlink()
    except OSError as exc:
        raise _os_error(exc, path, "checking that it is writable") from exc


def find_resumable(output: Path, config_hash: str) -> Path | None:
    """The most recent run under `output` with this configuration hash, if any."""
    best: tuple[str, Path] | None = None
    if not output.is_dir():
        return None
    for run_json in output.glob(f"*/{RUN_JSON}"):
        try:
            data = read_run_json(run_json.parent)
        except RunError:
            continue
        if data.get("config_hash") == config_hash:
            created = str(data.get("created_at", ""))
            if best is None or created > best[0]:
                best = (created, run_json.parent)
    return best[1] if best else None


def open_run_dir(
    output: str | os.PathLike[str],
    *,
    run_id: str | None,
    config_hash: str,
    model: str,
    resume: bool,
) -> Path:
    """The run directory of a new run, or of the run `resume` continues (same
    configuration hash; `run_id` names it, else the latest in `output`)."""
    out = Path(output).expanduser()
    if run_id:
        run_dir = out / run_id
        if resume and (run_dir / RUN_JSON).exists():
            previous = read_run_json(run_dir)
            if previous.get("config_hash") != config_hash:
                raise ConfigError(
                    f"cannot resume {run_dir}: it was made with a different configuration "
                    "(model, tasks, data, prompt, sampling, limit or shard); use the same "
                    "options, or another --run-id for a new run"
                )
            make_run_dir(run_dir, exist_ok=True)
            return run_dir
        make_run_dir(run_dir, exist_ok=resume)
        return run_dir
    if resume:
        found = find_resumable(out, config_hash)
        if found is not None:
            log.info("resuming %s", found)
            make_run_dir(found, exist_ok=True)
            return found
        log.warning("--resume: no earlier run with this configuration in %s; starting a "
                    "new one", out)  # fmt: skip
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    run_dir = out / f"{stamp}-{model_slug(model)}-{config_hash[:8]}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = out / f"{stamp}-{model_slug(model)}-{config_hash[:8]}-{suffix}"
    make_run_dir(run_dir, exist_ok=False)
    return run_dir


def stored_samples(run_dir: Path) -> tuple[RunRecord | None, list[SampleRecord]]:
    """What an earlier run left in `run_dir` (for --resume): its run.json, or None, and its
    sample lines, a half-written last line cut off first."""
    if not (run_dir / RUN_JSON).exists():
        return None, []
    previous = read_run_json(run_dir)
    truncate_partial_line(run_dir / SAMPLES)
    return previous, read_samples(run_dir / SAMPLES)


__all__ = [
    "RUN_JSON",
    "SAMPLES",
    "SCHEMA_VERSION",
    "BadLine",
    "RunResult",
    "SampleWriter",
    "canonical_order",
    "find_resumable",
    "finish_run",
    "generation_samples",
    "grading_item",
    "load_run",
    "merged_run",
    "migrate_run",
    "new_run",
    "new_sample",
    "open_run_dir",
    "read_samples",
    "sample_key",
    "scan_samples",
    "set_verdict",
    "task_entry",
    "write_json",
    "write_run",
    "write_samples",
]
