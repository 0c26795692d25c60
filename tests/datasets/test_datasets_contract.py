"""One contract for every registered adapter, on our own fixtures, both sources."""

from __future__ import annotations

import pytest
from dataset_fixtures import native_fixture, release_fixture

from mwpbench import config
from mwpbench.datasets import list_tasks, load_task
from mwpbench.datasets.loader import get_adapter
from mwpbench.registry import ADAPTERS
from mwpbench.types import Problem

TASKS = sorted(config.load_tasks())


def test_every_adapter_has_a_task_and_every_task_an_adapter() -> None:
    assert sorted(t.adapter for t in config.load_tasks().values()) == sorted(ADAPTERS)
    assert sorted(list_tasks()) == TASKS


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapter_is_versioned(name: str) -> None:
    adapter = get_adapter(name)
    assert adapter.version and adapter.name == name


def _contract(problems: list[Problem], task: str, source: str) -> None:
    spec = config.get_task(task)
    assert problems
    ids = [p.id for p in problems]
    assert len(set(ids)) == len(ids)
    for p in problems:
        assert p.id.startswith(f"{task}/{source}/")
        assert p.id == f"{task}/{source}/{p.meta['original_id']}"
        assert p.task == task and p.source == source
        assert p.subset in spec.subsets
        assert p.question.strip() and p.answer.strip()
        assert p.answer == p.answer.strip()
        assert p.level and p.language in ("en", "zh")
        assert p.meta["task_version"] == spec.version and p.meta["adapter_version"]


def _golds_parse(problems: list[Problem]) -> None:
    parse = pytest.importorskip("mwpbench.grading.parse")
    for p in problems:
        parse.parse_answer(p.answer)  # raises ParseFailure on a bad gold


@pytest.mark.parametrize("task", TASKS)
def test_native_contract(task: str) -> None:
    problems = load_task(task, source="native", data_files=native_fixture(task))
    _contract(problems, task, "native")
    assert {p.language for p in problems} == {config.get_task(task).language}
    _golds_parse(problems)


@pytest.mark.parametrize("task", TASKS)
def test_release_contract(task: str) -> None:
    problems = load_task(task, source="mwpbench", data_files=release_fixture(task))
    _contract(problems, task, "mwpbench")
    assert {p.language for p in problems} == {"en"}
    assert all(p.meta["translated"] is config.get_task(task).translated for p in problems)
    _golds_parse(problems)


@pytest.mark.parametrize("task", TASKS)
def test_ids_are_stable(task: str) -> None:
    first = load_task(task, source="native", data_files=native_fixture(task))
    again = load_task(task, source="native", data_files=native_fixture(task))
    assert first == again


def test_limit() -> None:
    assert len(load_task("math", source="native", data_files=native_fixture("math"), limit=2)) == 2
    assert load_task("math", source="native", data_files=native_fixture("math"), limit=0) == []


def test_loading_local_files_does_not_import_datasets() -> None:
    import subprocess
    import sys

    from dataset_fixtures import FIXTURES

    code = (
        "import sys, mwpbench; "
        f"mwpbench.load_task('gsm8k', source='native', data_files={str(FIXTURES / 'gsm8k')!r}); "
        "assert 'datasets' not in sys.modules and 'sympy' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
