"""No import cycle among the project's modules (the product, its delivery tools and local mode),
read from their source with ``ast``."""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "localmode"
# Every package of the project's own code; a cycle may also run across them.
PROJECT_PACKAGES = ("modules", "handlers", "delivery", "devtools", "localmode")


def module_name(path: Path, root: Path) -> str:
    """``localmode/moto_patches/lambda_.py`` -> ``localmode.moto_patches.lambda_`` (a package: its name)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, name: str, is_package: bool, known: set[str]) -> set[str]:
    """The modules of ``known`` that the module ``name`` imports (``import a.b``, ``from a import b``,
    ``from . import b``; ``from a import b`` names the module ``a.b`` when it is one, else ``a``)."""
    package = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
    return {module for module in found if module in known and module != name}


def import_graph(root: Path, *packages: str) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports, for every ``.py`` file under them
    (``localmode`` when none is named)."""
    paths = sorted(path for package in packages or (PACKAGE,) for path in (root / package).rglob("*.py"))
    known = {module_name(path, root) for path in paths}
    return {module_name(path, root): imports_of(path.read_text(), module_name(path, root),
                                                path.name == "__init__.py", known) for path in paths}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle (``[a, b, a]``), or None."""
    state: dict[str, str] = {}  # "visiting" or "done"
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "visiting"
        stack.append(module)
        for imported in sorted(graph.get(module, ())):
            if state.get(imported) == "visiting":
                return [*stack[stack.index(imported):], imported]
            if imported not in state and (cycle := visit(imported)):
                return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_the_project_has_no_import_cycle() -> None:
    graph = import_graph(REPO_ROOT, *PROJECT_PACKAGES)

    # the graph was read, across packages too
    assert "localmode.emulator" in graph and "localmode.moto_patches.lambda_" in graph
    assert "modules.config.loading" in graph["modules.config"] and "modules.config" in graph["modules.app"]
    cycle = find_cycle(graph)
    assert cycle is None, f"import cycle: {' -> '.join(cycle or [])}"


def test_a_cycle_is_found_and_named(tmp_path: Path) -> None:
    # The cycle emulator.py <-> runtime.py had, written both ways imports are: absolute and relative.
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "emulator.py").write_text("from localmode import runtime, startup\n")
    (package / "runtime.py").write_text("from .sub.api import serve\n")
    (package / "startup.py").write_text("import os\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "api.py").write_text("from ..emulator import DEFAULT_ENDPOINT\n")

    cycle = find_cycle(import_graph(tmp_path))

    assert cycle == ["localmode.emulator", "localmode.runtime", "localmode.sub.api", "localmode.emulator"]


def test_a_graph_without_a_cycle_passes(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "emulator.py").write_text("from localmode import runtime\n")
    (package / "runtime.py").write_text("from localmode.startup import DEFAULT_ENDPOINT\n")
    (package / "startup.py").write_text("import os\n")

    assert find_cycle(import_graph(tmp_path)) is None
    assert import_graph(tmp_path)["localmode.emulator"] == {"localmode.runtime"}


def reachable(graph: Mapping[str, set[str]], start: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(start)
    while todo:
        module = todo.pop()
        if module not in seen:
            seen.add(module)
            todo.extend(graph.get(module, ()))
    return seen


def test_main_depends_on_nothing_that_only_developers_run() -> None:
    # The synth (main.py) and everything it imports, however indirectly, are product or delivery code.
    graph = import_graph(REPO_ROOT, *PROJECT_PACKAGES)
    direct = imports_of((REPO_ROOT / "main.py").read_text(), "main", False, set(graph))
    used = reachable(graph, direct)
    assert "delivery.synth_cache" in used and "modules.app_builder" in used
    assert sorted(m for m in used if m.split(".")[0] in ("devtools", "localmode")) == []
