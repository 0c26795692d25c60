"""tasks/*.yaml and tasks/suites/*.yaml: valid, pinned, strict about unknown keys."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mwpbench import config
from mwpbench.errors import ConfigError, UnknownNameError

TEN = ["gsm8k", "math", "college_math", "tal_scq", "math23k", "ape210k", "gaokaobench_math",
       "agieval_gaokao_math", "agieval_sat_math", "agieval_math"]  # fmt: skip


def test_suites() -> None:
    suites = config.load_suites()
    assert list(suites["mwpbench"].tasks) == TEN
    assert suites["mwpbench"].release == "arxiv-v1"
    assert list(suites["mwpbench-icml"].tasks) == [t for t in TEN if t != "agieval_math"]
    assert suites["mwpbench-icml"].release == "icml"
    for suite in suites.values():
        for task in suite.tasks:
            assert suite.release in config.get_task(task).sources["mwpbench"].files


def test_every_task_is_pinned() -> None:
    for spec in config.load_tasks().values():
        assert spec.version and spec.level and spec.prompt and spec.label and spec.short_label
        for src in spec.sources.values():
            for f in src.files.values():
                assert f.git_blob or f.sha256
                assert f.url.startswith("https://raw.githubusercontent.com/")
                assert f.revision and f.revision in f.url and f.path and f.url.endswith(f.path)
        assert spec.sources["mwpbench"].topics


def test_release_topics_are_the_published_ones() -> None:
    topics = {t: s.name for s in config.load_tasks().values() for t in s.sources["mwpbench"].topics}
    assert topics["gsm8k"] == "gsm8k" and topics["tal"] == "tal_scq"
    assert topics["MATH.Counting_&_Probability"] == "math"
    assert topics["college_math.vector_calculus"] == "college_math"
    assert topics["agieval.gaokao-math-en"] == "agieval_gaokao_math"
    assert {k for k, v in topics.items() if v in ("math23k", "ape210k", "gaokaobench_math")} == {
        "math23k_en", "ape210k_en", "gaokao_bench_math_en"}  # fmt: skip


def _copy_tasks(tmp_path: Path) -> Path:
    root = tmp_path / "tasks"
    (root / "suites").mkdir(parents=True)
    for path in config.tasks_dir().glob("*.yaml"):
        (root / path.name).write_text(path.read_text())
    for path in (config.tasks_dir() / "suites").glob("*.yaml"):
        (root / "suites" / path.name).write_text(path.read_text())
    return root


def _edit(path: Path, fn) -> None:
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("where", "edit", "message"),
    [
        ("gsm8k.yaml", lambda d: d.update(promt="alpaca"), r"gsm8k.yaml: unknown key 'promt'"),
        ("gsm8k.yaml", lambda d: d["sources"]["native"]["files"]["test"].update(sha265="x"),
         r"gsm8k.yaml:sources.native.files.test: unknown key 'sha265'"),
        ("gsm8k.yaml", lambda d: d["mirror"].update(nme="x"), r"gsm8k.yaml:mirror: unknown key 'nme'"),
        ("gsm8k.yaml", lambda d: d.update(grader={"name": "strict"}), r"gsm8k.yaml: unknown key 'grader'"),
        ("gsm8k.yaml", lambda d: d.pop("label"), r"gsm8k.yaml: missing required key 'label'"),
        ("gsm8k.yaml", lambda d: d["sources"]["mwpbench"]["files"].update(icml="mwpbench-icm"),
         r"gsm8k.yaml:sources.mwpbench.files.icml: 'mwpbench-icm' is not a file pinned in"),
        ("_pins.yaml", lambda d: d["mwpbench-icml"].pop("git_blob"), r"_pins.yaml:mwpbench-icml: pin the file"),
        ("gsm8k.yaml", lambda d: d.pop("version"), r"gsm8k.yaml: missing required key 'version'"),
        ("gsm8k.yaml", lambda d: [d["sources"]["native"]["files"]["test"].pop(k) for k in ("git_blob", "sha256")],
         r"pin the file"),
        ("gsm8k.yaml", lambda d: d.update(translated="no"), r"translated: expected bool"),
        ("gsm8k.yaml", lambda d: d.update(name="gsm"), r"must equal the file name"),
        ("math.yaml", lambda d: d["sources"]["mwpbench"]["topics"].update({"MATH.Topology": "MATH.Topology"}),
         r"not listed in 'subsets'"),
        ("suites/mwpbench.yaml", lambda d: d.update(extra=1), r"mwpbench.yaml: unknown key 'extra'"),
    ],
)  # fmt: skip
def test_bad_yaml_names_file_and_key(tmp_path: Path, where: str, edit, message: str) -> None:
    root = _copy_tasks(tmp_path)
    _edit(root / where, edit)
    with pytest.raises(ConfigError, match=message):
        config.load_tasks(root)


def test_unknown_adapter_and_suite_task(tmp_path: Path) -> None:
    root = _copy_tasks(tmp_path)
    _edit(root / "gsm8k.yaml", lambda d: d.update(adapter="gsm8"))
    with pytest.raises(UnknownNameError, match="unknown adapter 'gsm8'. Did you mean 'gsm8k'"):
        config.load_tasks(root)
    root = _copy_tasks(tmp_path / "2")
    _edit(root / "suites" / "mwpbench.yaml", lambda d: d["tasks"].append("gsm9k"))
    with pytest.raises(UnknownNameError, match="gsm9k"):
        config.load_suites(root)


def test_invalid_yaml(tmp_path: Path) -> None:
    root = _copy_tasks(tmp_path)
    (root / "gsm8k.yaml").write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match=r"gsm8k.yaml: invalid YAML"):
        config.load_tasks(root)


def test_tasks_dir_is_the_checkout_or_the_package() -> None:
    found = config.tasks_dir()
    assert (found / "gsm8k.yaml").is_file() and (found / "suites" / "mwpbench.yaml").is_file()


def test_release_pins_are_written_once() -> None:
    pins = yaml.safe_load((config.tasks_dir() / config.PINS_FILE).read_text())
    for path in config.tasks_dir().glob("*.yaml"):
        if path.name != config.PINS_FILE:
            assert "microsoft/unilm" not in path.read_text(), path.name  # named, not copied
    specs = config.load_tasks()
    for release, pin in (("arxiv-v1", "mwpbench-arxiv-v1"), ("icml", "mwpbench-icml")):
        using = [t for t, s in specs.items() if s.sources["mwpbench"].files.get(release)
                 and s.sources["mwpbench"].files[release].git_blob == pins[pin]["git_blob"]]
        assert len(using) >= 9, release  # every MWPBench task of that release


def test_every_default_prompt_exists() -> None:
    from mwpbench.prompts import load_prompt

    for spec in config.load_tasks().values():
        assert load_prompt(spec.prompt).name == spec.prompt


def test_labels_are_the_papers_names() -> None:
    specs = config.load_tasks()
    assert specs["agieval_gaokao_math"].label == "AGIEval-Gaokao-Math"
    assert specs["agieval_gaokao_math"].short_label == "AGI-Gk"
    assert specs["college_math"].label == "CollegeMath"
