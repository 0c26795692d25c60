"""Data where users keep it (issue 12.3): `--data-dir ROOT` over a mirror of the public repos,
errors that name the task and guess the cause, offline download errors that say why."""

from __future__ import annotations

import functools
import http.server
import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from dataset_fixtures import FIXTURES, SHARED

from mwpbench import config
from mwpbench.cli import main
from mwpbench.config import FileSpec
from mwpbench.datasets import load_task
from mwpbench.datasets.diagnose import RELEASE, guess
from mwpbench.datasets.files import download, mirror_files
from mwpbench.datasets.selection import data_dir_files
from mwpbench.errors import ConfigError, DataError

TASKS = config.load_tasks()


def mirror(tmp_path: Path) -> Path:
    """A mirror laid out like ../shared/data: our fixtures, one folder per dataset."""
    root = tmp_path / "mirror"
    shutil.copytree(FIXTURES, root, ignore=shutil.ignore_patterns("release"))
    return root


def test_every_task_maps_into_a_mirror_for_the_native_source(tmp_path: Path) -> None:
    root = mirror(tmp_path)
    found = data_dir_files(root, list(TASKS), "native")
    assert found["agieval_math"] == found["agieval_sat_math"] == root / "agieval"
    for task, path in found.items():
        assert load_task(task, source="native", data_files=path), task


def test_single_files_and_folders_named_by_task_are_accepted(tmp_path: Path) -> None:
    root = tmp_path / "mine"
    root.mkdir()
    shutil.copy(FIXTURES / "gsm8k" / "test.jsonl", root / "gsm8k.jsonl")  # a single file
    (root / "math").mkdir()  # a folder holding one file under another name
    shutil.copy(FIXTURES / "math" / "test.jsonl", root / "math" / "math_test.jsonl")
    assert mirror_files(root, TASKS["gsm8k"], "native") == root / "gsm8k.jsonl"
    problems = load_task("math", source="native",
                         data_files=mirror_files(root, TASKS["math"], "native"))  # fmt: skip
    assert problems and problems[0].task == "math"


def test_release_source_finds_the_release_file_in_the_mirror(tmp_path: Path) -> None:
    root = mirror(tmp_path)
    with pytest.raises(ConfigError) as info:
        data_dir_files(root, ["gsm8k", "math"], "mwpbench")
    text = str(info.value)
    assert "holds the original datasets" in text and "add --source native" in text
    assert "task gsm8k:" in text and "task math:" in text and "test.jsonl" in text
    (root / "mwpbench").mkdir()
    shutil.copy(FIXTURES / "release" / "full_test.json", root / "mwpbench" / "full_test.json")
    found = data_dir_files(root, ["gsm8k", "college_math"], "mwpbench")
    assert found["gsm8k"] == root / "mwpbench" / "full_test.json"
    assert guess(found["college_math"]) == RELEASE  # CollegeMath's own file is release form


def test_a_task_missing_from_the_mirror_is_named_with_what_is_there(tmp_path: Path) -> None:
    root = tmp_path / "partial"
    shutil.copytree(FIXTURES / "gsm8k", root / "gsm8k")
    with pytest.raises(ConfigError) as info:
        data_dir_files(root, ["gsm8k", "math23k"], "native")
    text = str(info.value)
    assert "task math23k: no data for it" in text and "test23k_processed.json" in text
    assert "holds gsm8k/" in text and "task gsm8k" not in text


def test_eval_with_data_dir_through_the_cli(tmp_path: Path, capsys) -> None:
    root = mirror(tmp_path)
    code = main(["eval", "--model", "m", "--backend", "mock", "--data-dir", str(root),
                 "--source", "native", "--tasks", "gsm8k,agieval_sat_math", "--output",
                 str(tmp_path / "out"), "-q", "-j", "1"])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "gsm8k" in out and "agieval_sat_math" in out
    code = main(["eval", "--model", "m", "--backend", "mock", "--data-dir", str(root),
                 "--tasks", "gsm8k", "--output", str(tmp_path / "out"), "-q"])  # fmt: skip
    assert code == 2 and "add --source native" in capsys.readouterr().err
    assert main(["tasks", "show", "math23k", "--source", "native", "--data-dir",
                 str(root), "-n", "1"]) == 0  # fmt: skip


# --- errors that name the task and guess the cause ----------------------------------------


@pytest.mark.parametrize(
    ("task", "source", "fixture", "expected"),
    [
        ("math", "native", "gsm8k/test.jsonl", ["task math:", "'solution'",
                                                 "this looks like GSM8K (task gsm8k)"]),
        ("math", "mwpbench", "math/test.jsonl", ["task math:", "no data_topic",
                                                  "not the MWPBench release file",
                                                  "add --source native"]),
        ("gsm8k", "native", "release/full_test.json", ["task gsm8k:", "release form",
                                                        "drop --source native"]),
        ("ape210k", "native", "math23k/test23k_processed.json",
         ["task ape210k:", "looks like Math23k (task math23k)"]),
    ],
)  # fmt: skip
def test_load_errors_name_the_task_and_guess_the_file(task, source, fixture, expected) -> None:
    with pytest.raises(DataError) as info:
        load_task(task, source=source, data_files=FIXTURES / fixture)
    for piece in expected:
        assert piece in str(info.value), (piece, str(info.value))


def test_no_false_guess_for_collegemath_whose_original_is_release_form() -> None:
    with pytest.raises(DataError) as info:  # a GSM8K file, not a release file: said so
        load_task("college_math", source="native", data_files=FIXTURES / "gsm8k" / "test.jsonl")
    assert "looks like GSM8K" in str(info.value) and "drop --source" not in str(info.value)


def test_guess_names_every_fixture_format() -> None:
    assert guess(FIXTURES / "gsm8k" / "test.jsonl") == "gsm8k"
    assert guess(FIXTURES / "math" / "test.jsonl") == "math"
    assert guess(FIXTURES / "tal_scq" / "en_single_choice_test_2K.jsonl") == "tal_scq"
    assert guess(FIXTURES / "math23k" / "test23k_processed.json") == "math23k"
    assert guess(FIXTURES / "ape210k" / "test.ape.json") == "ape210k"
    assert guess(FIXTURES / "gaokaobench_math" / "2010-2022_Math_I_MCQs.json") == "gaokaobench_math"
    assert guess(FIXTURES / "agieval" / "math.jsonl") == "agieval_math"
    assert guess(FIXTURES / "agieval" / "gaokao-mathqa.jsonl") == "agieval_gaokao_math"
    assert guess(FIXTURES / "agieval" / "sat-math.jsonl") == "agieval_sat_math"
    assert guess(FIXTURES / "release" / "full_test.json") == RELEASE


# --- offline: why a download failed, and what to pass instead ---------------------------


def spec(url: str) -> FileSpec:
    return FileSpec(name="test", url=url, sha256="0" * 64)


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def http_404(tmp_path: Path):
    pytest.importorskip("aiohttp")
    handler = functools.partial(_Quiet, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/absent.jsonl"
    server.shutdown()
    server.server_close()


def _refused_url() -> str:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/x.jsonl"


def test_download_errors_say_why_and_name_the_cli_options(tmp_path: Path, http_404) -> None:
    cases = [
        ("https://no-such-host.invalid/test.jsonl", "DNS lookup failed"),
        (_refused_url(), "connection refused"),
        (http_404, "HTTP 404 (not found)"),
    ]
    for url, why in cases:
        with pytest.raises(DataError) as info:
            download(spec(url), cache_dir=tmp_path / "cache")
        text = str(info.value)
        assert why in text, text
        assert "--data-file" in text and "--data-dir" in text
        assert "Offline and air-gapped clusters" in text


def test_check_data_never_cuts_a_load_error_short(tmp_path: Path, monkeypatch, capsys) -> None:
    broken = tmp_path / "tasks"
    shutil.copytree(config.tasks_dir(), broken)
    yaml = (broken / "gsm8k.yaml").read_text()
    url = "https://no-such-host.invalid/grade_school_math/data/test.jsonl"
    yaml = re.sub(r"url: https://raw\S+", f"url: {url}", yaml)  # the native file's URL
    (broken / "gsm8k.yaml").write_text(yaml)
    monkeypatch.setattr(config, "tasks_dir", lambda: broken)
    monkeypatch.setenv("MWPBENCH_CACHE_DIR", str(tmp_path / "cache"))
    code = main(["check-data", "gsm8k", "--source", "native"])
    out = capsys.readouterr().out
    assert code == 1
    assert "LOAD FAILED" in out
    line = next(x for x in out.splitlines() if x.startswith("task gsm8k: "))
    assert url in line and "DNS lookup failed" in line
    assert line.endswith("(README: Offline and air-gapped clusters)")


def test_a_missing_predictions_file_is_reported_before_any_data_is_loaded(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mwpbench", "eval", "--model", "m", "--predictions",
         str(tmp_path / "nope.jsonl"), "--data-file", str(tmp_path / "no-data.jsonl"),
         "--output", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert "--predictions" in done.stderr and "nope.jsonl does not exist" in done.stderr
    assert "no-data.jsonl" not in done.stderr  # the data was never looked at
    assert not (tmp_path / "out").exists()


# --- the real files, when present --------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data is not present")
def test_the_shared_mirror_loads_for_every_task_through_data_dir() -> None:
    found = data_dir_files(SHARED, list(TASKS), "native")
    counts = {task: len(load_task(task, source="native", data_files=path))
              for task, path in found.items()}  # fmt: skip
    assert counts["gsm8k"] == 1319 and counts["math"] == 5000 and counts["agieval_math"] == 938
    assert counts["college_math"] == 2818 and counts["agieval_sat_math"] == 102
    release = data_dir_files(SHARED, ["gaokaobench_math", "college_math"], "mwpbench")
    assert len(load_task("gaokaobench_math", data_files=release["gaokaobench_math"])) == 508
    assert json.loads(release["college_math"].read_text().splitlines()[0])["data_topic"]


def test_a_folder_is_accepted_for_the_release_source_too(tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    folder.mkdir()
    shutil.copy(FIXTURES / "release" / "full_test.json", folder / "full_test.json")
    shutil.copy(FIXTURES / "gsm8k" / "test.jsonl", folder / "test.jsonl")  # an original, ignored
    problems = load_task("gsm8k", data_files=folder)
    assert problems and all(p.id.startswith("gsm8k/mwpbench/") for p in problems)
    with pytest.raises(ConfigError) as info:
        load_task("gsm8k", data_files=FIXTURES / "gsm8k")
    text = str(info.value)
    assert text.startswith("task gsm8k: ") and "holds test.jsonl" in text
    assert "add --source native" in text
