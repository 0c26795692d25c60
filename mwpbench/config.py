"""Load and validate task definitions (`tasks/*.yaml`) and suites (`tasks/suites/*.yaml`).

YAML only names things: the adapter, display labels, pinned source files, subsets, the
default prompt, the layout of a local mirror, and the version. Files shared by several tasks
(the MWPBench release files) are pinned once in `tasks/_pins.yaml` and named by task files;
YAML files whose name starts with `_` are not tasks. Unknown or missing keys are a
ConfigError naming the file and the key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from mwpbench.errors import ConfigError, UnknownNameError

SOURCES = ("mwpbench", "native")


@dataclass(frozen=True, slots=True)
class FileSpec:
    """One pinned public file: where to download it and how to recognise it."""

    name: str  # logical name (a release name such as "arxiv-v1", or a file key)
    url: str
    repo: str | None = None
    revision: str | None = None  # commit the URL is pinned to
    path: str | None = None  # path inside `repo`
    git_blob: str | None = None  # sha1 over b"blob <size>\0" + bytes
    sha256: str | None = None
    size: int | None = None

    @property
    def basename(self) -> str:
        return (self.path or self.url).rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One way to get a task's data: the MWPBench release file or the native originals."""

    kind: str  # "mwpbench" | "native"
    files: Mapping[str, FileSpec]  # ordered: the first one is the default release
    topics: Mapping[str, str] = field(default_factory=dict)  # data_topic -> subset


@dataclass(frozen=True, slots=True)
class MirrorSpec:
    """Where a task's files sit in a local mirror of the public repos (one folder per
    dataset, published file names: the layout of the development copy ../shared/data)."""

    folder: str  # the dataset's folder
    native: str  # data_files for source="native", relative to the folder ("." = all of it)
    release: str | None = None  # a file in MWPBench release form, if the mirror has one


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task definition, as read from `tasks/<name>.yaml`."""

    name: str
    adapter: str
    version: str
    level: str  # school level of the dataset: elementary, high_school, competition, college
    language: str  # language of the native source (the release is English)
    translated: bool  # whether the MWPBench release translated it into English
    subsets: tuple[str, ...]
    prompt: str  # the default prompt of a run of this task (--prompt overrides it)
    sources: Mapping[str, SourceSpec]
    paper_n: int | None  # item count in the MathScale paper / release
    label: str = ""  # display name, e.g. "AGIEval-Gaokao-Math"
    short_label: str = ""  # column header, e.g. "AGI-Gk"
    mirror: MirrorSpec | None = None
    description: str = ""
    path: str = ""


@dataclass(frozen=True, slots=True)
class SuiteSpec:
    """A named list of tasks, tied to one release of the MWPBench test file."""

    name: str
    tasks: tuple[str, ...]
    release: str
    version: str
    description: str = ""
    path: str = ""


_TASK_KEYS = {
    "name": True, "description": False, "label": True, "short_label": False, "adapter": True,
    "version": True, "level": True, "language": True, "translated": True, "subsets": True,
    "prompt": True, "sources": True, "paper_n": False, "mirror": False,
}  # fmt: skip
_SOURCE_KEYS = {"files": True, "topics": False}
_FILE_KEYS = {
    "url": True, "repo": False, "revision": False, "path": False, "git_blob": False,
    "sha256": False, "size": False,
}  # fmt: skip
_MIRROR_KEYS = {"folder": True, "native": True, "release": False}
PINS_FILE = "_pins.yaml"
_SUITE_KEYS = {"name": True, "description": False, "tasks": True, "release": True, "version": True}


def shipped_dir(name: str) -> Path:
    """A folder shipped with mwpbench (`tasks`, `prompts`, `leaderboard`): inside an installed
    wheel first (pyproject force-includes it as mwpbench/_data/<name>), else the checkout's."""
    try:
        packaged = resources.files("mwpbench") / "_data" / name
        if packaged.is_dir():
            return Path(str(packaged))
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError):  # pragma: no cover
        pass
    here = Path(__file__).resolve().parents[1] / name
    if here.is_dir():
        return here
    raise ConfigError(
        f"cannot find the {name}/ folder (looked in the package and {here}); reinstall mwpbench"
    )


def tasks_dir() -> Path:
    """The `tasks/` folder."""
    return shipped_dir("tasks")


def _check_keys(data: Any, allowed: Mapping[str, bool], where: str) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(data).__name__}")
    for key in data:
        if key not in allowed:
            raise ConfigError(
                f"{where}: unknown key {key!r} (allowed: {', '.join(sorted(allowed))})"
            )
    for key, required in allowed.items():
        if required and key not in data:
            raise ConfigError(f"{where}: missing required key {key!r}")
    return dict(data)


def _typed(value: Any, kind: type | tuple[type, ...], where: str) -> Any:
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        want = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise ConfigError(f"{where}: expected {want}, got {value!r}")
    return value


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: invalid YAML: {exc}") from exc


def _file_spec(name: str, data: Any, where: str, pins: Mapping[str, Any]) -> FileSpec:
    """One file entry: a mapping that pins it, or the name of a pin in tasks/_pins.yaml."""
    if isinstance(data, str):
        if data not in pins:
            raise ConfigError(
                f"{where}: {data!r} is not a file pinned in tasks/{PINS_FILE} (pinned there: "
                f"{', '.join(sorted(pins)) or 'none'}); name one of them or pin the file here"
            )
        return _file_spec(name, pins[data], f"{PINS_FILE}:{data}", {})
    d = _check_keys(data, _FILE_KEYS, where)
    if not d.get("git_blob") and not d.get("sha256"):
        raise ConfigError(f"{where}: pin the file with 'git_blob' or 'sha256'")
    for key in ("url", "repo", "revision", "path", "git_blob", "sha256"):
        if d.get(key) is not None:
            _typed(d[key], str, f"{where}:{key}")
    if d.get("size") is not None:
        _typed(d["size"], int, f"{where}:size")
    return FileSpec(name=name, **d)


def _mirror(data: Any, where: str) -> MirrorSpec | None:
    if data is None:
        return None
    d = _check_keys(data, _MIRROR_KEYS, where)
    release = d.get("release")
    return MirrorSpec(
        folder=_typed(d["folder"], str, f"{where}.folder"),
        native=_typed(d["native"], str, f"{where}.native"),
        release=None if release is None else _typed(release, str, f"{where}.release"),
    )


def parse_task(data: Any, path: Path, pins: Mapping[str, Any] | None = None) -> TaskSpec:
    """Validate one task YAML document (already loaded) into a TaskSpec; `pins` are the
    shared file pins (tasks/_pins.yaml) its file entries may name."""
    where = str(path)
    d = _check_keys(data, _TASK_KEYS, where)
    if d["name"] != path.stem:
        raise ConfigError(f"{where}:name: {d['name']!r} must equal the file name {path.stem!r}")
    sources: dict[str, SourceSpec] = {}
    for kind, sdata in _check_keys(
        d["sources"], dict.fromkeys(SOURCES, True), f"{where}:sources"
    ).items():
        swhere = f"{where}:sources.{kind}"
        s = _check_keys(sdata, _SOURCE_KEYS, swhere)
        files = _typed(s["files"], dict, f"{swhere}.files")
        if not files:
            raise ConfigError(f"{swhere}.files: at least one file is needed")
        topics = _typed(s.get("topics") or {}, dict, f"{swhere}.topics")
        sources[kind] = SourceSpec(
            kind=kind,
            files={n: _file_spec(n, f, f"{swhere}.files.{n}", pins or {})
                   for n, f in files.items()},  # fmt: skip
            topics={str(k): str(v) for k, v in topics.items()},
        )
    subsets = tuple(_typed(d["subsets"], list, f"{where}:subsets"))
    for kind, src in sources.items():
        for topic, subset in src.topics.items():
            if subset not in subsets:
                raise ConfigError(
                    f"{where}:sources.{kind}.topics: {topic!r} maps to {subset!r}, "
                    "which is not listed in 'subsets'"
                )
    return TaskSpec(
        name=_typed(d["name"], str, f"{where}:name"),
        adapter=_typed(d["adapter"], str, f"{where}:adapter"),
        version=str(_typed(d["version"], (str, int), f"{where}:version")),
        level=_typed(d["level"], str, f"{where}:level"),
        language=_typed(d["language"], str, f"{where}:language"),
        translated=_typed(d["translated"], bool, f"{where}:translated"),
        subsets=subsets,
        prompt=_typed(d["prompt"], str, f"{where}:prompt"),
        sources=sources,
        paper_n=d.get("paper_n"),
        label=_typed(d["label"], str, f"{where}:label"),
        short_label=_typed(d.get("short_label", d["label"]), str, f"{where}:short_label"),
        mirror=_mirror(d.get("mirror"), f"{where}:mirror"),
        description=str(d.get("description", "")),
        path=where,
    )


def parse_suite(data: Any, path: Path, known_tasks: list[str]) -> SuiteSpec:
    """Validate one suite YAML document into a SuiteSpec (its tasks must exist)."""
    where = str(path)
    d = _check_keys(data, _SUITE_KEYS, where)
    tasks = tuple(_typed(d["tasks"], list, f"{where}:tasks"))
    for task in tasks:
        if task not in known_tasks:
            raise UnknownNameError("task", str(task), known_tasks)
    return SuiteSpec(
        name=_typed(d["name"], str, f"{where}:name"),
        tasks=tasks,
        release=_typed(d["release"], str, f"{where}:release"),
        version=str(_typed(d["version"], (str, int), f"{where}:version")),
        description=str(d.get("description", "")),
        path=where,
    )


@lru_cache(maxsize=4)
def _load_all(root: Path) -> tuple[dict[str, TaskSpec], dict[str, SuiteSpec]]:
    from mwpbench.registry import ADAPTERS

    pins_path = root / PINS_FILE
    pins = _read_yaml(pins_path) if pins_path.is_file() else {}
    if not isinstance(pins, Mapping):
        raise ConfigError(f"{pins_path}: expected a mapping of pin name -> file, got {pins!r}")
    tasks: dict[str, TaskSpec] = {}
    for path in sorted(root.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        spec = parse_task(_read_yaml(path), path, pins)
        if spec.adapter not in ADAPTERS:
            raise UnknownNameError("adapter", spec.adapter, sorted(ADAPTERS))
        tasks[spec.name] = spec
    suites: dict[str, SuiteSpec] = {}
    for path in sorted((root / "suites").glob("*.yaml")):
        suite = parse_suite(_read_yaml(path), path, sorted(tasks))
        suites[suite.name] = suite
    return tasks, suites


def load_tasks(root: Path | None = None) -> dict[str, TaskSpec]:
    """All task definitions, by name."""
    return _load_all((root or tasks_dir()).resolve())[0]


def load_suites(root: Path | None = None) -> dict[str, SuiteSpec]:
    """All suites, by name."""
    return _load_all((root or tasks_dir()).resolve())[1]


def get_task(name: str, root: Path | None = None) -> TaskSpec:
    """One task definition; UnknownNameError with "did you mean" on a typo."""
    tasks = load_tasks(root)
    if name not in tasks:
        raise UnknownNameError("task", name, list(tasks))
    return tasks[name]


def get_suite(name: str, root: Path | None = None) -> SuiteSpec:
    suites = load_suites(root)
    if name not in suites:
        raise UnknownNameError("suite", name, list(suites))
    return suites[name]
