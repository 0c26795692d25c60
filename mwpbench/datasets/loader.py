"""`list_tasks` and `load_task`: task YAML + adapter + files -> list[Problem].

Sources: `mwpbench` reads the MWPBench release file (records picked by `data_topic`);
`native` reads the original public files through the task's adapter. Without `data_files`
the pinned files are downloaded (cached) and checksum-verified. Loading is all or nothing:
a bad record raises DataError naming file, line and field; nothing is skipped silently
(records the paper's rules drop are counted in `LoadResult.dropped`).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from mwpbench import config
from mwpbench.config import SOURCES, TaskSpec
from mwpbench.datasets import diagnose
from mwpbench.datasets import release as release_format
from mwpbench.datasets.base import Adapter, Context, Drop, Record
from mwpbench.datasets.files import DataFiles, download, local_native_files, local_release_files
from mwpbench.errors import ConfigError, DataError, MwpbenchError, UnknownNameError
from mwpbench.registry import ADAPTERS, resolve
from mwpbench.types import Problem

log = logging.getLogger(__name__)

SUITE_ORDER = "mwpbench"


@dataclass
class LoadResult:
    """Problems of one task plus what was dropped on purpose and which files were read."""

    task: str
    source: str
    problems: list[Problem]
    dropped: Counter[str] = field(default_factory=Counter)  # reason -> count
    files: list[str] = field(default_factory=list)


def list_tasks() -> list[str]:
    """Task names: the `mwpbench` suite's ten in paper order, then the extras."""
    tasks = config.load_tasks()
    suites = config.load_suites()
    first = list(suites[SUITE_ORDER].tasks) if SUITE_ORDER in suites else []
    return first + sorted(t for t in tasks if t not in first)


def get_adapter(name: str) -> Adapter:
    return resolve("adapter", name, ADAPTERS)


def task_adapter(spec: TaskSpec) -> Adapter:
    """The adapter of a task: a registered one, or an included task's module (its file is
    imported once, under a name of its own; it must define `ADAPTER`)."""
    if spec.adapter_file is None:
        return get_adapter(spec.adapter)
    import hashlib
    import importlib.util
    import sys

    digest = hashlib.sha256(spec.adapter_file.encode()).hexdigest()[:12]
    module_name = f"mwpbench_included_{spec.adapter}_{digest}"
    module = sys.modules.get(module_name)
    if module is None:
        found = importlib.util.spec_from_file_location(module_name, spec.adapter_file)
        if found is None or found.loader is None:
            raise ConfigError(f"{spec.adapter_file}: cannot be imported as a Python module")
        module = importlib.util.module_from_spec(found)
        sys.modules[module_name] = module
        try:
            found.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise ConfigError(
                f"{spec.adapter_file} (adapter of task {spec.name}) failed to import: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    adapter = getattr(module, "ADAPTER", None)
    if not isinstance(adapter, Adapter):
        raise ConfigError(
            f"{spec.adapter_file} must define ADAPTER = mwpbench.datasets.base.Adapter(...) "
            "(see docs/adding-a-dataset.md)"
        )
    return adapter


def load_task(
    name: str,
    *,
    source: str = "mwpbench",
    data_files: DataFiles | None = None,
    limit: int | None = None,
    release: str | None = None,
) -> list[Problem]:
    """The problems of task `name` from `source` ("mwpbench" release file or "native").

    `data_files`: local files instead of the pinned download (release format for
    `mwpbench`, the original format for `native`). `release`: which release of the MWPBench
    file ("arxiv-v1", default, or "icml"). `limit`: the first n problems.
    """
    return load(name, source=source, data_files=data_files, limit=limit, release=release).problems


def load(
    name: str,
    *,
    source: str = "mwpbench",
    data_files: DataFiles | None = None,
    limit: int | None = None,
    release: str | None = None,
) -> LoadResult:
    """Like load_task, with the drop counts and file list (used by check-data). A DataError
    names the task and, for a local file, what the file looks like instead."""
    spec = config.get_task(name)
    if source not in SOURCES:
        raise UnknownNameError("source", source, list(SOURCES))
    if limit is not None and limit < 0:
        raise ConfigError(f"limit must be >= 0, got {limit}")
    try:
        return _load(spec, source, data_files, limit, release)
    except (DataError, ConfigError) as exc:
        raise _explained(exc, spec, source, local=data_files is not None) from None


def _explained(exc: MwpbenchError, spec: TaskSpec, source: str, *, local: bool) -> MwpbenchError:
    """`exc` with the task named first and, for a local file, a guess at the cause."""
    text = str(exc)
    if not text.startswith(f"task {spec.name}"):
        text = f"task {spec.name}: {text}"
    path = getattr(exc, "path", None)
    if local and path is not None:
        labels = {name: t.label for name, t in config.load_tasks().items()}
        native_release = task_adapter(spec).read is release_format.read
        guess = diagnose.hint(spec.name, source, path, labels, native_release=native_release)
        if guess:
            text += f" -- {guess}"
    exc.args = (text,)
    return exc


def _load(
    spec: TaskSpec,
    source: str,
    data_files: DataFiles | None,
    limit: int | None,
    release: str | None,
) -> LoadResult:
    name = spec.name
    if source not in spec.sources:
        other = next(iter(spec.sources))
        raise ConfigError(f"task {name} has no {source!r} source ({spec.path}): use --source "
                          f"{other}")  # fmt: skip
    adapter = task_adapter(spec)
    result = LoadResult(task=name, source=source, problems=[])
    if source == "mwpbench":
        adapter = release_format.ADAPTER
        paths = _release_paths(spec, data_files, release)
        records = _release_records(spec, paths)
    else:
        if release is not None:
            raise ConfigError("release= only applies to source='mwpbench'")
        named = _native_paths(spec, data_files)
        paths = list(named.values())
        records = (rec for n, p in named.items() for rec in adapter.read(p, n))
    ctx = _context(spec, source, adapter)
    seen: dict[str, Record] = {}
    for record in records:
        out = adapter.to_problem(record, ctx)
        if isinstance(out, Drop):
            result.dropped[out.reason] += 1
            continue
        if out.id in seen:
            raise record.error(
                f"duplicate problem id {out.id!r} (first at line {seen[out.id].line})"
            )
        if out.subset not in spec.subsets:
            raise record.error(
                f"subset {out.subset!r} is not one of {list(spec.subsets)} ({spec.path})"
            )
        seen[out.id] = record
        result.problems.append(out)
    result.files = [str(p) for p in paths]
    if not result.problems:
        raise DataError(
            f"no problems for task {name!r} in {', '.join(result.files)}"
            + (f" (all {sum(result.dropped.values())} dropped)" if result.dropped else ""),
        )
    if result.dropped:
        log.info("%s (%s): dropped %s", name, source, dict(result.dropped))
    if limit is not None:
        result.problems = result.problems[:limit]
    return result


def _context(spec: TaskSpec, source: str, adapter: Adapter) -> Context:
    topics = spec.sources[source].topics or (
        spec.sources["mwpbench"].topics if "mwpbench" in spec.sources else {}
    )
    return Context(
        task=spec.name,
        source=source,
        language="en" if source == "mwpbench" else spec.language,
        level=spec.level,
        task_version=spec.version,
        adapter_version=adapter.version,
        # the release text is the translation; so is a native source that is English
        translated=spec.translated and (source == "mwpbench" or spec.language == "en"),
        topics=topics,
    )


def _release_paths(spec: TaskSpec, data_files: DataFiles | None, which: str | None) -> list[Path]:
    if data_files is not None:
        if which is not None:
            raise ConfigError("pass either data_files= or release=, not both")
        return local_release_files(data_files)
    files = spec.sources["mwpbench"].files
    which = which or next(iter(files))
    if which not in files:
        raise ConfigError(
            f"task {spec.name!r} is not part of the {which!r} release (it is in: {', '.join(files)})"
        )
    return [download(files[which])]


def _native_paths(spec: TaskSpec, data_files: DataFiles | None) -> dict[str, Path]:
    files = spec.sources["native"].files
    if data_files is not None:
        return local_native_files(data_files, files)
    return {name: download(f) for name, f in files.items()}


def all_topics() -> dict[str, str]:
    """Every release data_topic -> its task, over all task definitions."""
    out: dict[str, str] = {}
    for task in config.load_tasks().values():
        if "mwpbench" not in task.sources:
            continue
        for topic in task.sources["mwpbench"].topics:
            out[topic] = task.name
    return out


def _release_records(spec: TaskSpec, paths: list[Path]) -> Iterator[Record]:
    """The task's records from release-format files; unknown topics raise."""
    known = all_topics()
    found: Counter[str] = Counter()
    for path in paths:
        for record in release_format.read(path, "release"):
            topic = release_format.topic_of(record, known)
            found[topic] += 1
            if known[topic] == spec.name:
                yield record
    if not any(known[t] == spec.name for t in found):
        raise DataError(
            f"no records of task {spec.name!r} (data_topic "
            f"{', '.join(spec.sources['mwpbench'].topics)}) in {', '.join(map(str, paths))}; "
            f"the file holds {', '.join(sorted(found))}",
        )
