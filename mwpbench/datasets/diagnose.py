"""Name what a data file is, so that a load error can say why it failed.

`guess(path)` reads the first record of a local file and returns the task whose published
format it has ("release" for the MWPBench release form), from the fields alone; `explain`
turns a loader's DataError into one that names the task and the likely cause: a GSM8K file
given for MATH, an original file read as the release file (`--source native` missing), the
release file read as an original. Nothing here raises: a file that cannot be read has no
guess.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

RELEASE = "release"
"""guess() of a file in the MWPBench release form (`data_topic` per record)."""

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _cjk(record: Mapping[str, Any]) -> bool:
    return bool(_CJK.search(str(record.get("question") or "")))


def _other(record: Mapping[str, Any]) -> Mapping[str, Any]:
    other = record.get("other")
    return other if isinstance(other, Mapping) else {}


# (task, test on the first record's fields), first match wins
_SHAPES: list[tuple[str, Callable[[Mapping[str, Any]], bool]]] = [
    (RELEASE, lambda r: "data_topic" in r),
    ("gaokaobench_math", lambda r: "keywords" in r and "example" in r),
    ("tal_scq", lambda r: "answer_option_list" in r or "answer_value" in r),
    ("math23k", lambda r: "original_text" in r and ("num_list" in r or "new_split" in r)),
    ("ape210k", lambda r: "original_text" in r and "equation" in r),
    ("math", lambda r: "problem" in r and "solution" in r),
    ("gsm8k", lambda r: "####" in str(r.get("answer") or "") and "question" in r),
    ("agieval_math", lambda r: "passage" in r and "level" in _other(r)),
    ("agieval_gaokao_math", lambda r: "passage" in r and _cjk(r)),
    ("agieval_sat_math", lambda r: "passage" in r and "options" in r),
]


def first_record(path: Path) -> Mapping[str, Any] | None:
    """The first JSON object of a JSON-lines file, or of a JSON array, or a whole-file
    object; None when there is none or the file cannot be read."""
    try:
        with path.open(encoding="utf-8-sig") as fh:
            head = fh.read(1 << 16)
    except (OSError, UnicodeDecodeError):
        return None
    for line in head.splitlines():
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            break  # not JSON lines: try the whole file
        return value if isinstance(value, dict) else None
    try:
        value = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, dict) else None


def guess(path: str | Path) -> str | None:
    """The task whose published format `path` has (RELEASE for the release form), or None."""
    record = first_record(Path(path))
    if record is None:
        return None
    for task, test in _SHAPES:
        if test(record):
            return task
    return None


def hint(
    task: str,
    source: str,
    path: str | Path,
    labels: Mapping[str, str],
    *,
    native_release: bool = False,
) -> str | None:
    """Why loading `path` for `task` from `source` failed, guessed from what the file is;
    `labels` are display names by task; `native_release`: the task's original files are in
    the release form themselves (CollegeMath). None when the file looks right or unknown."""
    found = guess(path)
    if found is None:
        return None
    if found == RELEASE:
        if source == "native" and not native_release:
            return ("this is the MWPBench release form (data_topic per record), not the "
                    "original dataset: drop --source native")  # fmt: skip
        return None
    looks = f"this looks like {labels.get(found, found)}"
    if source == "mwpbench":
        other = "" if found == task else f" (task {found})"
        return (f"no data_topic: this is not the MWPBench release file; {looks}{other}: "
                "add --source native")  # fmt: skip
    if found != task:
        return f"{looks} (task {found}), not {labels.get(task, task)}: check the path"
    return None


__all__ = ["RELEASE", "first_record", "guess", "hint"]
