"""Work on sample lines and stored runs that needs no model: grade sample lines (for a run
and for `regrade`), regrade a run, merge shard runs, compare two runs.

Records are built, read and written through `mwpbench.results`; verdicts come from the one
grading loop, `grading.batch.grade_items`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mwpbench import results
from mwpbench.errors import ConfigError, RunError
from mwpbench.progress import progress_bar
from mwpbench.results import RunResult, load_run
from mwpbench.types import GRADERS, SampleRecord

log = logging.getLogger(__name__)


def grade_samples(
    records: Sequence[SampleRecord],
    *,
    graders: Sequence[str] = GRADERS,
    jobs: int | None = None,
    timeout: float = 5.0,
    on_graded: Callable[[int], object] | None = None,
) -> list[SampleRecord]:
    """The records with fresh verdicts of `graders`; failed generations stay `error`.
    `on_graded(1)` is called after each graded record (a progress bar's update)."""
    from mwpbench.grading.batch import grade_items

    out = [r.copy() for r in records]
    todo = [r for r in out if results.gradable(r)]
    verdicts = grade_items((results.grading_item(r) for r in todo), graders=graders, jobs=jobs,
                           timeout=timeout)  # fmt: skip
    for record, by_grader in zip(todo, verdicts):
        for grader, verdict in by_grader.items():
            results.set_verdict(record, grader, verdict)
        if on_graded is not None:
            on_graded(1)
    return out


def grade_with_bar(
    records: Sequence[SampleRecord],
    *,
    graders: Sequence[str] = GRADERS,
    jobs: int | None,
    timeout: float,
    progress: bool,
) -> list[SampleRecord]:
    """`grade_samples` with one progress bar over the records that have a completion."""
    bar = progress_bar(sum(1 for r in records if results.gradable(r)), "grade", progress)
    try:
        return grade_samples(records, graders=graders, jobs=jobs, timeout=timeout,
                             on_graded=bar.update)  # fmt: skip
    finally:
        bar.close()


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
    if grader != "all" and grader not in GRADERS:
        raise ConfigError(f"grader must be all, {' or '.join(GRADERS)}, got {grader!r}")
    if headline is not None and headline not in GRADERS:
        raise ConfigError(f"headline must be {' or '.join(GRADERS)}, got {headline!r}")
    result = load_run(path)
    run = result.run
    timeout = timeout or float(run.get("graders", {}).get("timeout", 5.0))
    graded = grade_with_bar(result.samples, graders=GRADERS if grader == "all" else (grader,),
                            jobs=jobs, timeout=timeout, progress=progress)  # fmt: skip
    graded = results.canonical_order(graded, result.task_names)
    results.write_samples(result.samples_path, graded)
    results.mark_regraded(run, headline=headline, timeout=timeout)
    results.finalize_metrics(run, graded)
    results.write_run(result.path, run)
    return RunResult(path=result.path, run=run, _samples=graded)


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
    base = results.shard_config(runs[0].run)
    for r in runs[1:]:
        mine = results.shard_config(r.run)
        if mine != base:
            diff = sorted(k for k in set(mine) | set(base) if mine.get(k) != base.get(k))
            raise ConfigError(
                f"merge: {r.path} was run with a different configuration than {runs[0].path} "
                f"(differs in: {', '.join(diff)}); merge only shards of one run"
            )
    records: dict[str, SampleRecord] = {}
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
    model = str(runs[0].run.get("model", {}).get("name", "model"))
    stamp = f"{datetime.now(timezone.utc):%Y%m%d-%H%M%S}"
    run_id = run_id or f"{stamp}-{results.model_slug(model)}-merged"
    run = results.merged_run(runs, run_id, complete=complete)
    merged = results.canonical_order(records.values(), [t["name"] for t in run["tasks"]])
    out_dir = Path(output) / run_id
    results.make_run_dir(out_dir, exist_ok=False)
    if not complete:
        log.warning("merge: the merged run is incomplete (missing or incomplete shards)")
    results.write_samples(out_dir / results.SAMPLES, merged)
    results.finalize_metrics(run, merged)
    results.write_run(out_dir, run)
    return RunResult(path=out_dir, run=run, _samples=merged)


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
    if grader not in GRADERS:
        raise ConfigError(f"grader must be {' or '.join(GRADERS)}, got {grader!r}")
    out = compare_records(a.samples, b.samples, grader=grader, task_order=a.task_names)
    out["run_a"], out["run_b"] = a.run_id, b.run_id
    return out


__all__ = ["compare_runs", "grade_samples", "merge_runs", "regrade"]
