"""`mwpbench export`: the prompts of a run as JSONL, for generation elsewhere.

One line per problem: `{"id", "task", "prompt"}` for a text template, `{"id", "task",
"messages"}` for a chat template, and the template's `stop` strings. The ids are the
problem ids that replay matches: generate with any tool, write `{"id", "completion"}` per
line, and score it with `mwpbench eval --model NAME --predictions FILE` and the same task,
source and prompt options.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwpbench import jsonio
from mwpbench.datasets.selection import default_prompt, load_problems, resolve_tasks
from mwpbench.errors import ConfigError, MwpbenchError
from mwpbench.prompts import build_requests, load_prompt


@dataclass
class ExportSummary:
    """What `export_prompts` wrote."""

    path: Path
    prompt: str
    kind: str  # "text" or "chat"
    tasks: dict[str, int] = field(default_factory=dict)  # task -> prompts written

    @property
    def total(self) -> int:
        return sum(self.tasks.values())


def export_prompts(
    output: str | os.PathLike[str],
    *,
    tasks: str | Sequence[str] | None = None,
    prompt: str | None = None,
    source: str = "mwpbench",
    data_files: Any = None,
    data_dir: str | os.PathLike[str] | None = None,
    limit: int | None = None,
    limit_mode: str = "first",
    limit_seed: int = 0,
) -> ExportSummary:
    """Write the prompts of `tasks` (a suite or names; default: the tasks' own prompt) to
    `output` (JSONL, written through a temp file and renamed into place)."""
    names, _suite, release = resolve_tasks(tasks, data_files, source)
    template = load_prompt(prompt or default_prompt(names))
    loaded = load_problems(names, source=source, data_files=data_files, release=release,
                           limit=limit, official=False, limit_mode=limit_mode,
                           limit_seed=limit_seed, data_dir=data_dir)  # fmt: skip
    problems = [p for task in loaded for p in task.problems]
    requests = build_requests(problems, template)
    out = Path(output).expanduser()
    if out.is_dir():
        raise ConfigError(f"export: {out} is a folder; give a file name such as prompts.jsonl")
    summary = ExportSummary(path=out, prompt=template.name,
                            kind="chat" if template.is_chat else "text")  # fmt: skip
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            for problem, request in zip(problems, requests):
                line: dict[str, Any] = {"id": problem.id, "task": problem.task}
                if request.messages is not None:
                    line["messages"] = [dict(m) for m in request.messages]
                else:
                    line["prompt"] = request.prompt
                line["stop"] = list(template.stop)
                fh.write(jsonio.dumps(line) + "\n")
                summary.tasks[problem.task] = summary.tasks.get(problem.task, 0) + 1
        os.replace(tmp, out)
    except OSError as exc:
        raise MwpbenchError(f"export: cannot write {out}: {exc.strerror or exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return summary


__all__ = ["ExportSummary", "export_prompts"]
