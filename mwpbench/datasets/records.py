"""Read JSON-lines and JSON files into Records; every failure names the file and line."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from mwpbench.datasets.base import Record
from mwpbench.errors import DataError


def _text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataError(f"cannot read file: {exc.strerror or exc}", path=str(path)) from exc
    if not data.strip():
        raise DataError("empty file: expected at least one record", path=str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", path=str(path)
        ) from exc


def read_jsonl(path: Path, file: str) -> Iterator[Record]:
    """One JSON object per line (blank lines are skipped)."""
    text = _text(path)
    index = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(
                f"malformed JSON ({exc.msg} at column {exc.colno})", path=str(path), line=lineno
            ) from exc
        if not isinstance(data, dict):
            raise DataError(
                f"expected a JSON object, got {type(data).__name__}", path=str(path), line=lineno
            )
        yield Record(data=data, path=str(path), line=lineno, index=index, file=file)
        index += 1


def read_json(path: Path) -> object:
    """A whole-file JSON document."""
    text = _text(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"malformed JSON ({exc.msg} at column {exc.colno})", path=str(path), line=exc.lineno
        ) from exc


def read_json_array(path: Path, file: str) -> Iterator[Record]:
    """A JSON array of objects (e.g. Math23k's test23k_processed.json)."""
    data = read_json(path)
    if not isinstance(data, list):
        raise DataError(f"expected a JSON array, got {type(data).__name__}", path=str(path))
    for index, item in enumerate(data):
        if not isinstance(item, dict):
            raise DataError(
                f"record {index}: expected a JSON object, got {type(item).__name__}",
                path=str(path),
            )
        yield Record(data=item, path=str(path), line=None, index=index, file=file)
