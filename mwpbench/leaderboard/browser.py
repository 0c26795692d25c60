"""The sample browser's data files: ``samples.js`` (an index row per sample) and
``text-NNNNN.js`` chunks (question, prompt, completion), loaded by static/run.js as
``<script src>`` (``fetch`` is forbidden on ``file://``).

Every string from a run goes out through `js_literal`, which escapes ``<``, ``>``, ``&`` and
U+2028/U+2029, so nothing a model wrote can close a tag. A text longer than `MAX_TEXT`
characters (a runaway completion) is cut, and the whole of it written beside the chunks as a
plain-text file the page links to; short fields (answers, ids) are cut at `MAX_SHORT`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mwpbench.metrics import STATUSES

SAMPLE_CHUNK = 250  # samples per text file of the sample browser
MAX_TEXT = 200_000  # characters of one question, prompt or completion shown on the page
MAX_SHORT = 4_000  # characters of an answer, id, rule or error in the index

# fields of an index row (static/run.js reads them by these positions)
ROW_FIELDS = ("id", "task", "subset", "sample_index", "status", "correct", "official_correct",
              "extracted", "official_extracted", "gold", "rule", "method", "finish_reason",
              "error", "level")  # fmt: skip


def write_samples(samples: Sequence[Mapping[str, Any]], folder: Path, *,
                  max_text: int = MAX_TEXT) -> int:
    """Write the sample browser's data for one run into `folder`; returns the number of
    text chunks.

    The index holds, per sample, the short fields filters need; questions, prompts and
    completions live in chunks of `SAMPLE_CHUNK` samples, loaded only for the page on
    screen. Prompts are stored without their common prefix and suffix (the template), which
    the index carries once; a question is stored only where it is not the rest of its
    prompt between the template's lines (the browser rebuilds it from `qhead` + middle +
    `qtail`).
    """
    folder.mkdir(parents=True, exist_ok=True)
    prompts = [text(s.get("prompt")) for s in samples]
    prefix, suffix = common_affixes(prompts)
    qhead, qtail = _line_parts(prefix, suffix)
    tasks: dict[str, int] = {}
    subsets: dict[str, int] = {}
    levels: dict[str, int] = {}
    rows = []
    for s in samples:
        task = text(s.get("task"))
        subset = text(s.get("subset")) or task
        status = s.get("status") if s.get("status") in STATUSES else "error"
        official = s.get("official_correct")
        level = s.get("level")
        rows.append([
            short(s.get("id")),
            tasks.setdefault(task, len(tasks)),
            subsets.setdefault(subset, len(subsets)),
            s.get("sample_index") if isinstance(s.get("sample_index"), int) else 0,
            STATUSES.index(status),
            1 if s.get("correct") is True else 0,
            None if official is None else (1 if official is True else 0),
            maybe_short(s.get("extracted")),
            maybe_short(s.get("official_extracted")),
            short(s.get("gold")),
            maybe_short(s.get("rule")),
            maybe_short(s.get("method")),
            short(s.get("finish_reason")),
            maybe_short(s.get("error")),
            None if level is None else levels.setdefault(text(level), len(levels)),
        ])
    index = {"tasks": list(tasks), "subsets": list(subsets), "levels": list(levels),
             "statuses": list(STATUSES), "prefix": prefix, "suffix": suffix,
             "qhead": qhead, "qtail": qtail, "rows": rows}  # fmt: skip
    write_text(folder / "samples.js", f"MWPB.samplesLoaded({js_literal(index)});\n")
    cut = len(prefix)
    chunks = 0
    for start in range(0, len(samples), SAMPLE_CHUNK):
        entries = []
        for i, s in enumerate(samples[start:start + SAMPLE_CHUNK], start):
            middle = prompts[i][cut:len(prompts[i]) - len(suffix)]
            question = s.get("question")
            question = None if not isinstance(question, str) or question == qhead + middle + qtail else question
            fields = {"q": question, "p": middle, "c": text(s.get("completion"))}
            cuts = {}
            for name, value in fields.items():
                if value is not None and len(value) > max_text:
                    href = f"raw/{i}-{name}.txt"
                    (folder / "raw").mkdir(exist_ok=True)
                    write_text(folder / href, value)
                    fields[name] = value[:max_text]
                    cuts[name] = [len(value), href]
            entries.append([fields["q"], fields["p"], fields["c"], cuts or 0])
        write_text(folder / f"text-{chunks:05d}.js", f"MWPB.textLoaded({chunks},{js_literal(entries)});\n")
        chunks += 1
    return chunks


def common_affixes(texts: list[str]) -> tuple[str, str]:
    """The longest prefix and suffix all `texts` share (not overlapping in any of them)."""
    if len(texts) < 2:
        return "", ""
    first, last = min(texts), max(texts)  # the common prefix of all = that of min and max
    i = 0
    while i < len(first) and first[i] == last[i]:
        i += 1
    prefix = first[:i]
    rev = sorted(t[len(prefix):][::-1] for t in texts)
    lo, hi = rev[0], rev[-1]
    j = 0
    while j < len(lo) and lo[j] == hi[j]:
        j += 1
    return prefix, lo[:j][::-1]


def _line_parts(prefix: str, suffix: str) -> tuple[str, str]:
    """The parts of the common prefix after its last line break and of the common suffix
    before its first: text the questions share on the question's own lines (a question's
    first words, its closing "?"), which belongs to the question, not to the template."""
    head = prefix[prefix.rfind("\n") + 1:] if "\n" in prefix else prefix
    tail = suffix[:suffix.find("\n")] if "\n" in suffix else suffix
    return head, tail


def text(value: Any) -> str:
    """A field as text (a non-string value of a hand-edited file as its JSON)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def short(value: Any) -> str:
    """A short field as text, cut at `MAX_SHORT` characters (with a note saying so)."""
    value = text(value)
    if len(value) <= MAX_SHORT:
        return value
    return f"{value[:MAX_SHORT]} … [cut: {len(value):,} characters]"


def maybe_short(value: Any) -> str | None:
    return None if value is None else short(value)


_JS_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
               "\u2029": "\\u2029"}
_JS_ESCAPE_RE = re.compile("[<>&\u2028\u2029]")


def js_literal(value: Any) -> str:
    """JSON that is safe inside ``<script>`` and in a ``.js`` file: ``</script>``,
    ``<!--`` and U+2028/U+2029 cannot occur in the output."""
    dumped = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return _JS_ESCAPE_RE.sub(lambda m: _JS_ESCAPES[m.group(0)], dumped)


def write_text(path: Path, content: str) -> None:
    # a lone surrogate in model output cannot be UTF-8: it is written as "?"
    path.write_text(content, encoding="utf-8", errors="replace")
