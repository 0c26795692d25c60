"""`mwpbench check-data`: data QA. Is every gold readable, and does every reference solution
grade correct against its own gold? (Above the datasets stage: it loads tasks and grades.)

Per task: counts per subset, records dropped on purpose, golds that do not parse
(`mwpbench.grading.parse.parse_answer`) or are not equivalent to themselves
(`is_equivalent(gold, gold)`), reference solutions that `grade()` does not accept, and
(Math23k/Ape210k) answers that disagree with their equation. Solutions are graded with
`grade_many`, in worker processes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mwpbench.config import load_tasks
from mwpbench.datasets.files import DataFiles
from mwpbench.datasets.loader import list_tasks, load
from mwpbench.errors import MwpbenchError
from mwpbench.types import Problem


@dataclass(frozen=True, slots=True)
class Failure:
    task: str
    id: str
    check: str  # load | parse | self | solution | equation
    detail: str


@dataclass
class TaskCheck:
    task: str
    source: str
    n: int = 0
    subsets: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)
    parsed: int = 0
    self_equal: int = 0
    solutions: int = 0  # problems with a reference solution
    solutions_correct: int = 0
    failures: list[Failure] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.n > 0 and not any(f.check in ("load", "parse", "self") for f in self.failures)


def _parse_check(gold: str) -> str | None:
    """None when the gold parses, else the reason."""
    try:
        from mwpbench.grading.parse import ParseFailure, parse_answer
    except ImportError:  # pragma: no cover - grading without a parse module
        return None
    try:
        parse_answer(gold)
    except ParseFailure as exc:
        return str(exc) or "parse failure"
    except Exception as exc:  # a grader bug, not a data bug: report it, keep checking
        return f"parser crashed: {type(exc).__name__}: {exc}"
    return None


def check_problems(
    task: TaskCheck, problems: list[Problem], *, jobs: int | None, timeout: float
) -> None:
    """Fill `task` with the gold and solution checks of `problems`."""
    from mwpbench.grading import grade_many, is_equivalent

    for p in problems:
        task.n += 1
        task.subsets[p.subset] += 1
        reason = _parse_check(p.answer)
        if reason is None:
            task.parsed += 1
        else:
            task.failures.append(Failure(p.task, p.id, "parse", f"{p.answer[:60]!r}: {reason}"))
        if is_equivalent(p.answer, p.answer, timeout=timeout):
            task.self_equal += 1
        else:
            task.failures.append(Failure(p.task, p.id, "self", f"{p.answer[:60]!r} != itself"))
        if p.meta.get("equation_check") in ("mismatch", "unparsed"):
            task.failures.append(
                Failure(
                    p.task,
                    p.id,
                    "equation",
                    f"ans {p.meta.get('ans')!r} vs equation {p.meta.get('equation')!r} "
                    f"({p.meta['equation_check']})",
                )  # fmt: skip
            )
    with_solution = [p for p in problems if p.solution]
    items = (
        {
            "completion": p.solution,
            "gold": p.answer,
            "task": p.task,
            "choices": p.meta.get("options"),
        }
        for p in with_solution
    )  # options of multiple-choice originals: their solutions name a letter
    verdicts = grade_many(items, jobs=jobs, timeout=timeout)
    for p, verdict in zip(with_solution, verdicts):
        task.solutions += 1
        if verdict.correct:
            task.solutions_correct += 1
        else:
            task.failures.append(
                Failure(
                    p.task,
                    p.id,
                    "solution",
                    f"{verdict.status}: extracted {verdict.extracted!r} vs gold {p.answer[:60]!r}",
                )  # fmt: skip
            )


def check_data(
    tasks: Iterable[str] | None = None,
    *,
    source: str = "mwpbench",
    data_files: Mapping[str, DataFiles] | DataFiles | None = None,
    jobs: int | None = None,
    timeout: float = 5.0,
) -> list[TaskCheck]:
    """Check the data of `tasks` (default: all). `data_files`: one value for every task, or
    a mapping {task: files}. A task that fails to load is reported, not raised."""
    names = list(tasks) if tasks else list_tasks()
    per_task = isinstance(data_files, Mapping) and set(data_files) <= set(load_tasks()) | set(names)
    out = []
    for name in names:
        files: Any = data_files
        if per_task and isinstance(data_files, Mapping):
            files = data_files.get(name)
        result = TaskCheck(task=name, source=source)
        try:
            loaded = load(name, source=source, data_files=files)
        except MwpbenchError as exc:
            result.failures.append(Failure(name, "-", "load", str(exc)))
            out.append(result)
            continue
        result.dropped = loaded.dropped
        check_problems(result, loaded.problems, jobs=jobs, timeout=timeout)
        out.append(result)
    return out
