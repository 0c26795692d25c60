"""The run directory (docs/run-format.md): write, read, resume, regrade, merge, compare.

`results/<run-id>/run.json` says what was run and holds the metrics (rewritten atomically:
temp file + os.replace); `samples.jsonl` holds one line per (problem, sample index),
appended and flushed as generations finish, and rewritten atomically (in canonical order,
with verdicts) once they are graded. Nothing is recovered from file or directory names.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from mwpbench import jsonio
from mwpbench.errors import ConfigError, RunError

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
RUN_JSON = "run.json"
SAMPLES = "samples.jsonl"


def utc_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def sample_key(
    task: str, problem_id: str, sample_index: int, prompt_hash: str, sampling_hash: str
) -> str:
    """(task, problem id, sample index, prompt hash, sampling hash) as one string."""
    return f"{task}/{problem_id}/{sample_index}/{prompt_hash[:12]}/{sampling_hash[:12]}"


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


# --- reading -------------------------------------------------------------------------------


def read_run_json(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RUN_JSON
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(
            f"{run_dir} is not a run directory (no {RUN_JSON}); give a folder made by "
            "`mwpbench eval`, e.g. results/<run-id>"
        ) from None
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    version = data.get("schema_version")
    if version != SCHEMA_VERSION:
        raise RunError(
            f"{path}: schema_version {version!r} is not supported (this mwpbench reads "
            f"{SCHEMA_VERSION}); upgrade mwpbench"
        )
    return data


def read_samples(path: Path) -> list[dict[str, Any]]:
    """The sample lines; a half-written last line (a killed run) is ignored, a malformed
    line elsewhere raises RunError naming the line. Later lines replace earlier ones with
    the same key."""
    if not path.exists():
        return []
    by_key: dict[str, dict[str, Any]] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read {path}: {exc}") from exc
    lines = text.split("\n")
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            if number == len(lines):  # no newline after it: cut off by a kill
                log.warning("%s:%d: ignoring a half-written last line", path, number)
                continue
            raise RunError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or "key" not in record:
            raise RunError(f"{path}:{number}: expected a JSON object with a 'key'")
        by_key[record["key"]] = record
    return list(by_key.values())


_NUM = re.compile(r"(\d+)")


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in _NUM.split(text))


def canonical_order(
    records: Iterable[Mapping[str, Any]], task_order: Sequence[str]
) -> list[Mapping[str, Any]]:
    """Records sorted by (task position, natural order of problem id, sample index): the
    same for a run, its resumed continuation and its merged shards."""
    rank = {t: i for i, t in enumerate(task_order)}
    return sorted(
        records,
        key=lambda r: (
            rank.get(r["task"], len(rank)), r["task"], _natural(r["id"]), r.get("sample_index", 0)
        ),
    )  # fmt: skip


# --- the run ---------------------------------------------------------------------------------


@dataclass
class RunResult:
    """One run directory: `run` (run.json), `samples` (samples.jsonl, read on first use),
    `metrics`, and `to_pandas()` for notebooks."""

    path: Path
    run: dict[str, Any]
    _samples: list[dict[str, Any]] | None = field(default=None, repr=False)

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id", self.path.name))

    @property
    def status(self) -> str:
        return str(self.run.get("status"))

    @property
    def metrics(self) -> dict[str, Any] | None:
        return self.run.get("metrics")

    @property
    def headline(self) -> str:
        return str(self.run.get("graders", {}).get("headline", "strict"))

    @property
    def samples(self) -> list[dict[str, Any]]:
        if self._samples is None:
            self._samples = read_samples(self.path / SAMPLES)
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
            "id", "task", "subset", "sample_index", "gold", "extracted", "correct", "status",
            "rule", "method", "official_correct", "official_extracted", "finish_reason",
            "prompt", "completion", "prompt_tokens", "completion_tokens", "error", "key",
        ]  # fmt: skip
        frame = pd.DataFrame.from_records(self.samples)
        for name in columns:
            if name not in frame.columns:
                frame[name] = None
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


def finalize_metrics(run: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """Recompute run["metrics"] and run["counts"] from graded records."""
    from mwpbench.grading.official import GOLD_FALLBACK_DETAIL
    from mwpbench.metrics import compute_metrics

    order = [t["name"] for t in run.get("tasks", [])]
    run["metrics"] = compute_metrics(records, task_order=order)
    run["counts"] = {
        "samples": len(records),
        "generation_errors": sum(1 for r in records if r.get("status") == "error"),
        "timeouts": sum(1 for r in records if r.get("status") == "timeout"),
        "ungraded": sum(1 for r in records if r.get("status") is None),
        # golds the official matcher's strip() cannot handle: the official driver crashes
        # on them; we grade them by raw equality and count them here (OFFICIAL_GRADER.md)
        "official_gold_fallbacks": sum(
            1 for r in records if r.get("official_detail") == GOLD_FALLBACK_DETAIL
        ),
    }


VERDICT_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "strict": (("correct", "correct"), ("status", "status"), ("extracted", "extracted"),
               ("rule", "rule"), ("method", "method"), ("detail", "detail")),
    "official": (("official_correct", "correct"), ("official_status", "status"),
                 ("official_extracted", "extracted"), ("official_rule", "rule"),
                 ("official_detail", "detail")),
}  # fmt: skip
"""grader -> (sample field, Verdict attribute) pairs: where each grader's verdict is stored."""


def gradable(record: Mapping[str, Any]) -> bool:
    """Whether a sample has a completion to grade (a failed generation has none)."""
    return record.get("status") != "error" and record.get("error") is None


def grade_samples(
    records: Sequence[Mapping[str, Any]],
    *,
    graders: Sequence[str] = ("strict", "official"),
    jobs: int | None = None,
    timeout: float = 5.0,
    on_graded: Callable[[int], object] | None = None,
) -> list[dict[str, Any]]:
    """The records with fresh verdicts of `graders`; failed generations stay `error`.
    `on_graded(1)` is called after each graded record (a progress bar's update)."""
    from mwpbench.grading.batch import grade_items

    out = [dict(r) for r in records]
    todo = [r for r in out if gradable(r)]
    items = (
        {"completion": r.get("completion") or "", "gold": r.get("gold") or "",
         "finish_reason": r.get("finish_reason"), "choices": r.get("choices"),
         "task": r.get("task")}
        for r in todo
    )  # fmt: skip
    for record, verdicts in zip(todo, grade_items(items, graders=graders, jobs=jobs,
                                                  timeout=timeout)):  # fmt: skip
        for grader, verdict in verdicts.items():
            for name, attr in VERDICT_FIELDS[grader]:
                record[name] = getattr(verdict, attr)
        if on_graded is not None:
            on_graded(1)
    return out


def regrade(
    path: str | os.PathLike[str],
    *,
    grader: str = "all",
    headline: str | None = None,
    jobs: int | None = None,
    timeout: float | None = None,
    progress: bool = False,
) -> RunResult:
    """Grade a run again from its stored completions (no model): `grader` is "strict",
    "official" or "all" (both); `headline` optionally switches the headline grader. The
    samples and run.json are rewritten atomically."""
    from mwpbench.progress import progress_bar

    if grader not in ("all", "strict", "official"):
        raise ConfigError(f"grader must be all, strict or official, got {grader!r}")
    if headline not in (None, "strict", "official"):
        raise ConfigError(f"headline must be strict or official, got {headline!r}")
    result = load_run(path)
    run = result.run
    timeout = timeout or float(run.get("graders", {}).get("timeout", 5.0))
    records = result.samples
    bar = progress_bar(sum(1 for r in records if gradable(r)), "grade", progress)
    try:
        graded = grade_samples(
            records, graders=("strict", "official") if grader == "all" else (grader,),
            jobs=jobs, timeout=timeout, on_graded=bar.update,
        )  # fmt: skip
    finally:
        bar.close()
    order = [t["name"] for t in run.get("tasks", [])]
    graded = [dict(r) for r in canonical_order(graded, order)]
    write_samples(result.path / SAMPLES, graded)
    if headline:
        run.setdefault("graders", {})["headline"] = headline
    run.setdefault("graders", {})["timeout"] = timeout
    finalize_metrics(run, graded)
    run["regraded_at"] = utc_now()
    write_json(result.path / RUN_JSON, run)
    return RunResult(path=result.path, run=run, _samples=graded)


_SHARD_FREE = ("run_id", "status", "created_at", "finished_at", "timings", "counts",
               "metrics", "shard", "config_hash", "regraded_at", "merged_from", "tasks")  # fmt: skip


def merge_runs(
    paths: Sequence[str | os.PathLike[str]],
    output: str | os.PathLike[str],
    *,
    run_id: str | None = None,
) -> RunResult:
    """Join shard runs (same configuration, different shards) into one run directory.

    Samples are joined by key; the merged run is complete when every shard 0..K-1 is
    present and complete. Its metrics are recomputed over all samples.
    """
    if len(paths) < 1:
        raise ConfigError("merge: give at least one run directory")
    runs = [load_run(p) for p in paths]
    base = runs[0].run

    def config(run: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in run.items() if k not in _SHARD_FREE}

    for r in runs[1:]:
        if config(r.run) != config(base):
            diff = sorted(
                k for k in set(config(r.run)) | set(config(base))
                if config(r.run).get(k) != config(base).get(k)
            )  # fmt: skip
            raise ConfigError(
                f"merge: {r.path} was run with a different configuration than {runs[0].path} "
                f"(differs in: {', '.join(diff)}); merge only shards of one run"
            )
    records: dict[str, dict[str, Any]] = {}
    for r in runs:
        for rec in r.samples:
            other = records.get(rec["key"])
            if other is not None and other.get("completion") != rec.get("completion"):
                raise RunError(
                    f"merge: sample {rec['key']!r} differs between shards; the runs overlap "
                    "but disagree (were they made with different seeds or models?)"
                )
            records[rec["key"]] = rec
    shards = [r.run.get("shard") for r in runs]
    num = {s["num_shards"] for s in shards if s}
    indices = {s["shard_index"] for s in shards if s}
    covered = bool(num) and len(num) == 1 and indices == set(range(next(iter(num))))
    complete = all(r.status == "complete" for r in runs) and (covered or shards == [None])
    tasks: dict[str, dict[str, Any]] = {}
    for r in runs:
        for t in r.run.get("tasks", []):
            entry = tasks.setdefault(t["name"], {**t, "n": 0})
            entry["n"] += t.get("n", 0)
    order = list(tasks)
    merged_records = [dict(r) for r in canonical_order(records.values(), order)]
    model = str(base.get("model", {}).get("name", "model"))
    run_id = run_id or f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}-{slug(model)}-merged"
    out_dir = Path(output) / run_id
    make_run_dir(out_dir, exist_ok=False)
    run = dict(base)
    run.update(
        run_id=run_id,
        status="complete" if complete else "incomplete",
        created_at=min(str(r.run.get("created_at")) for r in runs),
        finished_at=utc_now(),
        tasks=list(tasks.values()),
        shard=None,
        merged_from=[{"run_id": r.run_id, "shard": r.run.get("shard"), "status": r.status,
                      "timings": r.run.get("timings")} for r in runs],
        timings=_summed_timings(runs),
    )  # fmt: skip
    run.pop("config_hash", None)
    if not complete:
        log.warning("merge: the merged run is incomplete (missing or incomplete shards)")
    write_samples(out_dir / SAMPLES, merged_records)
    finalize_metrics(run, merged_records)
    write_json(out_dir / RUN_JSON, run)
    return RunResult(path=out_dir, run=run, _samples=merged_records)


def _summed_timings(runs: Sequence[RunResult]) -> dict[str, float]:
    """Each timing summed over the shards (machine time, not wall time)."""
    out: dict[str, float] = {}
    for r in runs:
        for k, v in (r.run.get("timings") or {}).items():
            if isinstance(v, (int, float)):
                out[k] = round(out.get(k, 0.0) + v, 3)
    return out


def compare_runs(
    path_a: str | os.PathLike[str] | RunResult,
    path_b: str | os.PathLike[str] | RunResult,
    *,
    grader: str | None = None,
) -> dict[str, Any]:
    """Per-dataset deltas of B against A with exact McNemar p-values and the flipped
    problems (see metrics.compare_records). `grader` defaults to A's headline grader."""
    from mwpbench.metrics import compare_records

    a = path_a if isinstance(path_a, RunResult) else load_run(path_a)
    b = path_b if isinstance(path_b, RunResult) else load_run(path_b)
    grader = grader or a.headline
    if grader not in ("strict", "official"):
        raise ConfigError(f"grader must be strict or official, got {grader!r}")
    order = [t["name"] for t in a.run.get("tasks", [])]
    out = compare_records(a.samples, b.samples, grader=grader, task_order=order)
    out["run_a"], out["run_b"] = a.run_id, b.run_id
    return out


# --- run directories -----------------------------------------------------------------------


def slug(text: str) -> str:
    """A file-name-safe piece of text (for run ids)."""
    base = text.rstrip("/").rsplit("/", 1)[-1] or "model"
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
            data = json.loads(run_json.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if data.get("config_hash") == config_hash:
            created = str(data.get("created_at", ""))
            if best is None or created > best[0]:
                best = (created, run_json.parent)
    return best[1] if best else None


__all__ = [
    "RUN_JSON",
    "SAMPLES",
    "SCHEMA_VERSION",
    "RunResult",
    "SampleWriter",
    "canonical_order",
    "compare_runs",
    "find_resumable",
    "grade_samples",
    "load_run",
    "merge_runs",
    "read_samples",
    "regrade",
    "sample_key",
    "write_json",
    "write_samples",
]
