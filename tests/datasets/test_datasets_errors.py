"""Bad input -> one clear error naming file, line and field; never a partial load."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from dataset_fixtures import FIXTURES, native_fixture

from mwpbench.datasets import load_task
from mwpbench.errors import ConfigError, DataError, UnknownNameError


def write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = json.dumps({"question": "1+1?", "answer": "1+1=2\n#### 2"})


def test_malformed_json_line(tmp_path: Path) -> None:
    path = write(tmp_path / "test.jsonl", [GOOD, '{"question": "x", "answer": ', GOOD])
    with pytest.raises(DataError) as exc:
        load_task("gsm8k", source="native", data_files=path)
    assert (exc.value.path, exc.value.line) == (str(path), 2)
    assert f"{path}:2" in str(exc.value) and "malformed JSON" in str(exc.value)


def test_missing_field(tmp_path: Path) -> None:
    path = write(tmp_path / "test.jsonl", [GOOD, json.dumps({"question": "no answer"})])
    with pytest.raises(DataError) as exc:
        load_task("gsm8k", source="native", data_files=path)
    assert (exc.value.line, exc.value.field) == (2, "answer")
    assert "'answer'" in str(exc.value)


def test_wrong_type_and_missing_answer_line(tmp_path: Path) -> None:
    path = write(tmp_path / "test.jsonl", [json.dumps({"question": "q", "answer": "no hashes"})])
    with pytest.raises(DataError, match="####"):
        load_task("gsm8k", source="native", data_files=path)
    path = write(tmp_path / "test.jsonl", [json.dumps({"question": ["q"], "answer": "#### 1"})])
    with pytest.raises(DataError, match="expected str") as exc:
        load_task("gsm8k", source="native", data_files=path)
    assert exc.value.field == "question"


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "test.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match="empty file") as exc:
        load_task("gsm8k", source="native", data_files=path)
    assert exc.value.path == str(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="no such file"):
        load_task("gsm8k", source="native", data_files=tmp_path / "nope.jsonl")


def test_json_array_record_is_named(tmp_path: Path) -> None:
    records = json.loads((native_fixture("math23k") / "test23k_processed.json").read_text())
    del records[2]["ans"]
    path = tmp_path / "test23k_processed.json"
    path.write_text(json.dumps(records, ensure_ascii=False))
    with pytest.raises(DataError, match=r"record 2") as exc:
        load_task("math23k", source="native", data_files=path)
    assert exc.value.field == "ans"


def test_answer_that_is_not_arithmetic(tmp_path: Path) -> None:
    line = {"id": "1", "original_text": "q", "ans": "import os", "equation": "x=1"}
    path = write(tmp_path / "test.ape.json", [json.dumps(line)])
    with pytest.raises(DataError, match="not a number") as exc:
        load_task("ape210k", source="native", data_files=path)
    assert (exc.value.line, exc.value.field) == (1, "ans")


def test_tal_answer_letter_not_among_options(tmp_path: Path) -> None:
    src = (native_fixture("tal_scq") / "en_single_choice_test_2K.jsonl").read_text().splitlines()
    record = json.loads(src[0])
    record["answer_value"] = "Z"
    path = write(tmp_path / "en_single_choice_test_2K.jsonl", [json.dumps(record)])
    with pytest.raises(DataError, match="'Z' is not among options") as exc:
        load_task("tal_scq", source="native", data_files=path)
    assert exc.value.field == "answer_value"


def test_unknown_release_topic_is_named(tmp_path: Path) -> None:
    lines = (FIXTURES / "release" / "full_test.json").read_text().splitlines()
    bad = json.loads(lines[0]) | {"data_topic": "svamp"}
    path = write(tmp_path / "full_test.json", [*lines, json.dumps(bad)])
    with pytest.raises(DataError, match="unknown data_topic 'svamp'") as exc:
        load_task("gsm8k", data_files=path)
    assert (exc.value.line, exc.value.field) == (len(lines) + 1, "data_topic")


def test_release_file_without_the_task(tmp_path: Path) -> None:
    path = FIXTURES / "college_math" / "college-math-test.jsonl"
    with pytest.raises(DataError, match="no records of task 'gsm8k'"):
        load_task("gsm8k", data_files=path)


def test_duplicate_ids(tmp_path: Path) -> None:
    line = (FIXTURES / "release" / "full_test.json").read_text().splitlines()[0]
    path = write(tmp_path / "full_test.json", [line, line])
    with pytest.raises(DataError, match="duplicate problem id") as exc:
        load_task("gsm8k", data_files=path)
    assert exc.value.line == 2


def test_unknown_task_and_source() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'gsm8k'"):
        load_task("gsm8kk")
    with pytest.raises(UnknownNameError, match="unknown source"):
        load_task("gsm8k", source="nativ")


def test_native_folder_missing_a_file(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "agieval" / "gaokao-mathqa.jsonl", tmp_path)
    with pytest.raises(ConfigError, match="missing gaokao-mathcloze.jsonl"):
        load_task("agieval_gaokao_math", source="native", data_files=tmp_path)


def test_native_files_by_name(tmp_path: Path) -> None:
    folder = FIXTURES / "agieval"
    named = {
        "gaokao-mathqa": folder / "gaokao-mathqa.jsonl",
        "gaokao-mathcloze": folder / "gaokao-mathcloze.jsonl",
    }
    listed = [folder / "gaokao-mathqa.jsonl", folder / "gaokao-mathcloze.jsonl"]
    a = load_task("agieval_gaokao_math", source="native", data_files=named)
    b = load_task("agieval_gaokao_math", source="native", data_files=listed)
    assert a == b and len(a) == 4
    with pytest.raises(ConfigError, match="unknown file name"):
        load_task(
            "agieval_gaokao_math",
            source="native",
            data_files={"qa": folder / "gaokao-mathqa.jsonl"},
        )


def test_release_option_only_for_release() -> None:
    with pytest.raises(ConfigError, match="release="):
        load_task("gsm8k", source="native", data_files=native_fixture("gsm8k"), release="icml")
    with pytest.raises(ConfigError, match="not part of the 'icml' release"):
        load_task("agieval_math", release="icml")
