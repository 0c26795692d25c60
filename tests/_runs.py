"""Shared helpers for the run tests: a hand-written release file, scripted backends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from mwpbench.backends.base import BackendBase, error_generation
from mwpbench.types import Completion, Generation, GenerationRequest

ALPACA = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{q}\n\n### Response:"
)

# (data_source, question_number, data_topic, question, answer) -- made up for these tests
GOLDEN_ROWS = [
    ("gsm8k", 1, "gsm8k", "Sam has 2 apples and buys 3 more. How many apples does he have?", "5"),
    ("gsm8k", 2, "gsm8k", "Ivy had 10 stickers and gave away 4. How many are left?", "6"),
    ("gsm8k", 3, "gsm8k", "A box holds 4 pens. How many pens are in 2 boxes?", "8"),
    ("MATH", "alg/1", "MATH.Algebra", "Solve $x+1=3$.", "2"),
    ("MATH", "alg/2", "MATH.Algebra", "Simplify $(x+1)^1$.", "x+1"),
    ("MATH", "geo/1", "MATH.Geometry", "What is the area of a 2 by 3 rectangle?", "6"),
    ("MATH", "geo/2", "MATH.Geometry", "What is half of 1?", "\\frac{1}{2}"),
]

# problem id -> (completion, finish_reason); gsm8k/3 is missing: a failed generation
GOLDEN_COMPLETIONS = {
    "gsm8k/mwpbench/gsm8k/1": ("2 + 3 = 5. The answer is 5.", "stop"),
    "gsm8k/mwpbench/gsm8k/2": ("10 - 4 = 7. The answer is 7.", "stop"),
    "math/mwpbench/MATH/alg/1": ("The answer is \\boxed{2}.", "stop"),
    "math/mwpbench/MATH/alg/2": ("The answer is x+10.", "stop"),
    "math/mwpbench/MATH/geo/1": ("The area is 2 times 3, which", "length"),
    "math/mwpbench/MATH/geo/2": ("The answer is 0.5", "stop"),
}


def write_release(path: Path, rows: Sequence[tuple] = GOLDEN_ROWS) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for source, number, topic, question, answer in rows:
            fh.write(json.dumps({
                "data_source": source, "question_number": number, "question": question,
                "answer": answer, "license": "test", "data_topic": topic,
            }) + "\n")  # fmt: skip
    return path


def write_predictions(path: Path, completions: Mapping[str, tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as fh:
        for pid, (text, reason) in completions.items():
            fh.write(json.dumps({"id": pid, "completion": text, "finish_reason": reason}) + "\n")
    return path


class ScriptedBackend(BackendBase):
    """Completions from a {problem id: (text, finish_reason)} table; ids not in it fail.

    `interrupt_after=k` raises KeyboardInterrupt after k results (a Ctrl-C mid-run);
    `calls` records every request id generated."""

    name = "scripted"

    def __init__(self, table: Mapping[str, tuple[str, str]], *, interrupt_after: int | None = None,
                 forbid: bool = False, samples: Mapping[str, Sequence[str]] | None = None) -> None:
        super().__init__()
        self.table = dict(table)
        self.samples = dict(samples or {})
        self.interrupt_after = interrupt_after
        self.forbid = forbid
        self.calls: list[str] = []

    def generate(self, requests: Sequence[GenerationRequest], *, on_result=None) -> list[Generation]:
        assert not self.forbid, "this backend must not be asked to generate anything"
        out = []
        for request in requests:
            if self.interrupt_after is not None and len(self.calls) >= self.interrupt_after:
                raise KeyboardInterrupt
            pid = request.meta["problem_id"]
            self.calls.append(pid)
            if pid in self.samples:
                texts = self.samples[pid]
                gen = Generation(request.id, tuple(Completion(t) for t in texts))
            elif pid in self.table:
                text, reason = self.table[pid]
                gen = Generation(request.id, (Completion(text, reason),))
            else:
                gen = error_generation(request, f"scripted: no completion for {pid}")
            if on_result is not None:
                on_result(gen)
            out.append(gen)
        return out


def read_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def release_rows(n: int, *, gold: str = "\\frac{1}{2}") -> list[tuple]:
    """`n` made-up gsm8k rows with one gold (for runs big enough to stop in the middle)."""
    return [("gsm8k", i, "gsm8k", f"Made-up question number {i}?", gold) for i in range(1, n + 1)]


@contextmanager
def tiny_disk(path: Path, size_kib: int) -> Iterator[Path]:
    """A tmpfs of `size_kib` KiB mounted at `path` (a real full disk: ENOSPC); the test is
    skipped where mounting is not allowed."""
    import pytest

    path.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("needs mount")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True, check=False)


def fill(path: Path) -> Path:
    """Fill the disk of folder `path` with a ballast file (delete it to free the space)."""
    ballast = path / "ballast"
    fd = os.open(ballast, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    return ballast


def full_table() -> dict[str, tuple[str, str]]:
    """GOLDEN_COMPLETIONS with the missing gsm8k/3 answered: a run with nothing missing."""
    table = dict(GOLDEN_COMPLETIONS)
    table["gsm8k/mwpbench/gsm8k/3"] = ("The answer is 8.", "stop")
    return table


def evaluate_golden(release: Path, out: Path | str, backend=None, **kw):  # type: ignore[no-untyped-def]
    """`mwpbench.evaluate` of the golden release with a scripted backend (full_table)."""
    import mwpbench

    kw.setdefault("tasks", "gsm8k,math")
    return mwpbench.evaluate("m", backend=backend or ScriptedBackend(full_table()),
                             data_files=str(release), output=out, progress=False, jobs=1, **kw)  # fmt: skip

