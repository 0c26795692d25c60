"""JSON text for files that always encodes as UTF-8.

Model output can hold lone surrogates (a replayed completion with "\\ud800" is valid JSON);
they cannot be written as UTF-8. Such a record is written with ASCII escapes instead, which
is still valid JSON and reads back to exactly the same string.
"""

from __future__ import annotations

import json
from typing import Any


def dumps(value: Any, **kwargs: Any) -> str:
    """`json.dumps(value, ensure_ascii=False, **kwargs)`, escaped only where it must be."""
    text = json.dumps(value, ensure_ascii=False, **kwargs)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value, ensure_ascii=True, **kwargs)
    return text
