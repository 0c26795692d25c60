"""Which tasks and problems a run evaluates: a suite or task names (or what local files
hold), each task's problems loaded, capped the paper's way and limited, with the files they
came from.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mwpbench import config
from mwpbench.datasets.files import file_hashes
from mwpbench.datasets.loader import all_topics, list_tasks, load
from mwpbench.errors import ConfigError
from mwpbench.types import LoadedTask, Problem

PAPER_CAP = 2000
"""The official driver evaluates at most the first 2000 records of each data_topic."""

DEFAULT_SUITE = "mwpbench"


def _release_tasks(data_files: Any) -> list[str]:
    """The tasks whose data_topics occur in local release-format files (list_tasks order)."""
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
) -> list[LoadedTask]:
    """Every task of the run (in order) with its problems (file order, capped, limited)."""
    if isinstance(data_files, Mapping):
        unknown = [t for t in data_files if t not in names]
        if unknown:
            raise ConfigError(
                f"--data-file names task(s) {unknown} that are not in this run ({names}); "
                "add them to --tasks or fix the TASK= prefix"
            )
    out: list[LoadedTask] = []
    for name in names:
        files = data_files.get(name) if isinstance(data_files, Mapping) else data_files
        if isinstance(files, (list, tuple)) and len(files) == 1:
            files = files[0]
        pinned = release if files is None and source == "mwpbench" else None
        loaded = load(name, source=source, data_files=files, release=pinned)
        task_problems = loaded.problems
        if official:
            task_problems = paper_cap(task_problems)
        if limit is not None:
            task_problems = task_problems[:limit]
        spec = config.get_task(name)
        out.append(LoadedTask(
            name=name, version=spec.version, source=source,
            language="en" if source == "mwpbench" else spec.language, release=pinned,
            problems=tuple(task_problems), files=tuple((f, _sha256(f)) for f in loaded.files),
            dropped=dict(loaded.dropped),
        ))  # fmt: skip
    return out


def default_prompt(names: Sequence[str]) -> str:
    """The prompt the tasks' YAMLs name (`prompt:`): a run's prompt when none is given."""
    named = {name: config.get_task(name).prompt for name in names}
    prompts = sorted(set(named.values()))
    if len(prompts) > 1:
        listing = "; ".join(f"{p}: {', '.join(t for t in names if named[t] == p)}" for p in prompts)
        raise ConfigError(
            f"the tasks of this run name different default prompts ({listing}); one run uses "
            "one prompt: pass --prompt NAME, or run the tasks separately"
        )
    return prompts[0]


__all__ = [
    "DEFAULT_SUITE",
    "PAPER_CAP",
    "default_prompt",
    "load_problems",
    "paper_cap",
    "resolve_tasks",
]
