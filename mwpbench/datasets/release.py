"""The MWPBench release format: `data/full_test.json` of the MathScale repository.

JSON lines with `data_topic`, `question`, `answer`, `question_number`, `data_source`,
`license`. `data_topic` decides the task and subset (tables in tasks/*.yaml,
`sources.mwpbench.topics`); a topic no task knows is an error naming it. The CollegeMath,
GaokaoBench-en and Fresh-Gaokao files published elsewhere are pieces of this format.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

from mwpbench.datasets.base import Adapter, Context, Record
from mwpbench.datasets.records import read_jsonl
from mwpbench.types import Problem

VERSION = "1"


def read(path: Path, file: str) -> Iterator[Record]:
    return read_jsonl(path, file)


def topic_of(record: Record, known: Mapping[str, str]) -> str:
    """The record's data_topic; DataError when no task knows it."""
    topic = record.get("data_topic")
    if topic not in known:
        raise record.error(
            f"unknown data_topic {topic!r}: no task in tasks/*.yaml maps it "
            f"(known: {', '.join(sorted(known))})",
            "data_topic",
        )
    return topic


def to_problem(record: Record, ctx: Context) -> Problem:
    """Pure: one release record (already known to belong to ctx.task) -> Problem."""
    topic = record.get("data_topic")
    if topic not in ctx.topics:
        raise record.error(
            f"data_topic {topic!r} does not belong to task {ctx.task!r}", "data_topic"
        )
    number = record.get("question_number", (str, int))
    data_source = record.get("data_source", str, optional=True) or topic
    return ctx.problem(
        f"{data_source}/{number}",
        subset=ctx.topics[topic],
        question=record.text("question"),
        answer=record.text("answer").strip(),
        language="en",
        meta={
            "data_topic": topic,
            "data_source": data_source,
            "question_number": str(number),
            "license": record.get("license", str, optional=True) or "",
            "translated": ctx.translated,
        },
    )


ADAPTER = Adapter(name="mwpbench_release", version=VERSION, read=read, to_problem=to_problem)
