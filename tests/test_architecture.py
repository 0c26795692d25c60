"""The house rules of the package, checked on its import graph (every `import`, including
those inside functions; `if TYPE_CHECKING:` blocks excluded): no import cycle, and no module
imports a room above its own stage (docs: ../shared/DESIGN.md, the pipeline)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "mwpbench"

# stage -> rooms; a room is a module or a subpackage (its modules share the room)
STAGES: list[tuple[str, ...]] = [
    ("types", "errors", "jsonio"),  # the ground floor: vocabulary
    ("registry", "progress", "provenance", "sharding"),  # name tables and small services
    ("config",),  # tasks/*.yaml (checks adapter names against the registry)
    ("datasets", "prompts", "grading", "backends"),  # the stages of the pipeline
    ("metrics",),
    ("results",),  # the run record
    ("runs",),  # grade, regrade, merge, compare sample lines and stored runs
    ("runner", "report", "leaderboard", "datacheck"),  # drive and present
    ("cli", "demo", "__init__", "__main__"),  # the doors
]
DOORS = len(STAGES) - 1  # the doors may use one another

# Known exceptions, each with its reason; keep this list short.
EXCEPTIONS = {
    # the MATH gold is the solution's last box read exactly as the grader reads it; this
    # goes when the box reader moves from grading/extract.py to a shared LaTeX-text module
    ("mwpbench.datasets.math", "mwpbench.grading.extract"),
    # a self-test run in other processes (notebooks, pools): it calls the public API as a
    # user would, through the package's front door
    ("mwpbench.grading._selftest", "mwpbench"),
}
RANK = {room: i for i, rooms in enumerate(STAGES) for room in rooms}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _imports(path: Path, modules: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip: set[int] = set()
    for node in ast.walk(tree):  # `if TYPE_CHECKING:` bodies are annotations, not imports
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1]
                                + ([base] if base else []))  # fmt: skip
            # `from pkg import module` imports the module; `from module import name`, module
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base
                     for a in node.names if a.name != "__version__"]  # a constant, not a room
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != here:
                found.add(name)
    return found


def _graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {_module_name(p) for p in paths}
    return {_module_name(p): _imports(p, modules) for p in paths}


def test_no_import_cycle() -> None:
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:  # Tarjan's strongly connected components
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    assert cycles == []


def test_no_module_imports_above_its_stage() -> None:
    wrong = []
    for module, imported in _graph().items():
        room = _room(module)
        assert room in RANK, f"{module}: put its room in STAGES"
        for other in imported:
            theirs = _room(other)
            if theirs == room or (module, other) in EXCEPTIONS:
                continue
            if RANK[theirs] > RANK[room] or (RANK[theirs] == RANK[room] != DOORS):
                wrong.append(f"{module} imports {other}")
    assert wrong == []


def test_the_leaderboard_reads_runs_through_results() -> None:
    """No reader of its own: run files are named, opened and checked in mwpbench.results."""
    for path in (PACKAGE / "leaderboard").glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for needle in ('"samples.jsonl"', '"run.json"', "schema_version"):
            assert needle not in text, (path.name, needle)
