from __future__ import annotations

import json
import logging

import pytest

from mwpbench.backends import load_backend
from mwpbench.errors import DataError
from mwpbench.prompts import build_requests
from mwpbench.types import Problem, SamplingParams

PROBLEMS = [
    Problem(
        id=f"gsm8k/{i}",
        task="gsm8k",
        subset="gsm8k",
        question=f"What is {i}+{i}?",
        answer=str(2 * i),
    )
    for i in range(4)
]


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_replay_by_problem_id_reports_missing(tmp_path, caplog):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "gsm8k/0", "completion": "0"},
            {"id": "gsm8k/2", "completion": "The answer is 4", "finish_reason": "length"},
            {"id": "gsm8k/1", "completion": "2"},
        ],
    )
    backend = load_backend("replay", path=str(path))
    reqs = build_requests(PROBLEMS, "alpaca")
    with caplog.at_level(logging.WARNING):
        gens = backend.generate(reqs)
    assert [g.completions[0].text for g in gens[:3]] == ["0", "2", "The answer is 4"]
    assert gens[2].completions[0].finish_reason == "length"
    assert gens[3].completions == () and "missing from replay file" in gens[3].error
    assert "gsm8k/3" in gens[3].error
    assert backend.missing == [reqs[3].id]
    assert backend.describe()["missing"] == 1
    assert "1 of 4 requests missing" in caplog.text


def test_replay_samples_by_index_and_order(tmp_path):
    path = write_jsonl(
        tmp_path / "c.jsonl",
        [
            {"id": "gsm8k/0", "completion": "b", "sample_index": 1},
            {"id": "gsm8k/0", "completion": "a", "sample_index": 0},
            {"id": "gsm8k/1", "completion": "x"},
            {"id": "gsm8k/1", "completion": "y"},
            {"id": "gsm8k/2", "completion": "only one"},
        ],
    )
    reqs = build_requests(PROBLEMS[:3], "none", SamplingParams(temperature=1.0, n=2, seed=0))
    gens = load_backend("replay", path=path).generate(reqs)
    assert [c.text for c in gens[0].completions] == ["a", "b"]
    assert [c.text for c in gens[1].completions] == ["x", "y"]
    assert gens[2].error and "need 2 samples" in gens[2].error


def test_replay_official_prediction_json_by_question(tmp_path):
    path = write_jsonl(
        tmp_path / "gsm8k.prediction.json",
        [
            {"question": "What is 1+1?", "answer": "2", "completion": "so 2", "judge": True},
            {"question": "What is 0+0? ", "answer": "0", "completion": "zero", "judge": True},
        ],
    )
    backend = load_backend("replay", path=path)
    reqs = build_requests(PROBLEMS, "alpaca")
    gens = backend.generate(reqs)
    assert gens[0].completions[0].text == "zero"
    assert gens[1].completions[0].text == "so 2"
    assert gens[2].error and gens[3].error
    assert backend.generate(reqs) == gens  # lookups do not consume entries across calls


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("{not json", "bad.jsonl:2"),
        ('["a list"]', "expected a JSON object"),
        ('{"id": "x"}', "completion"),
        ('{"id": "x", "completion": "c", "sample_index": -1}', "sample_index"),
        ('{"id": "x", "completion": "c", "finish_reason": "eos"}', "finish_reason"),
        ('{"id": "gsm8k/0", "completion": "again", "sample_index": 0}', "duplicate"),
    ],
)
def test_malformed_lines_name_file_and_line(tmp_path, line, match):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"id": "gsm8k/0", "completion": "c", "sample_index": 0}) + "\n" + line + "\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=match) as info:
        load_backend("replay", path=path)
    assert info.value.line == 2 and info.value.path == str(path)


def test_replay_without_meta_uses_request_id(tmp_path):
    from mwpbench.types import GenerationRequest

    path = write_jsonl(tmp_path / "c.jsonl", [{"id": "plain", "completion": "42"}])
    [gen] = load_backend("replay", path=path).generate([GenerationRequest(id="plain", prompt="q")])
    assert gen.completions[0].text == "42"
