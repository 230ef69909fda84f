"""The toolkit's and the runtime's layout, as their READMEs describe it: packages by concern, no module over 300
lines, and no import circle among their modules (read from the sources, not by importing them)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import TEMPLATE

SOURCES = {"mlci": TEMPLATE / "ci" / "src" / "mlci", "mlci_serving": TEMPLATE / "serving" / "src" / "mlci_serving"}
CONCERNS = {"cli", "core", "data", "experiments", "build", "promotion", "deploy", "review", "monitoring", "scoring"}
CONCERNS |= {"template"}
LONGEST = 300  # lines of a module


def modules(package: str) -> dict[str, Path]:
    """Every module of a package by its dotted name."""
    root = SOURCES[package]
    found = {}
    for path in root.rglob("*.py"):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports(path: Path, known: set[str]) -> set[str]:
    """The package's own modules a module imports, at its top or inside a function."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            candidates = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {name for name in candidates if name in known}
    return found


def cycle(graph: dict[str, set[str]]) -> list[str]:
    """A circle of imports, if there is one (depth first, the path kept)."""
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> list[str]:
        state[name] = "open"
        for other in sorted(graph[name]):
            if state.get(other) == "open":
                return [*path[path.index(other) :], other] if other in path else [name, other]
            if other not in state:
                found = visit(other, [*path, other])
                if found:
                    return found
        state[name] = "done"
        return []

    for name in sorted(graph):
        if name not in state:
            found = visit(name, [name])
            if found:
                return found
    return []


@pytest.mark.parametrize("package", list(SOURCES))
def test_no_module_is_over_the_longest(package: str) -> None:
    lengths = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules(package).items()}
    assert {name: length for name, length in lengths.items() if length > LONGEST} == {}


@pytest.mark.parametrize("package", list(SOURCES))
def test_no_import_circle(package: str) -> None:
    found = modules(package)
    graph = {
        name: {other for other in imports(path, set(found)) if other != name and not name.startswith(f"{other}.")}
        for name, path in found.items()
    }
    assert cycle(graph) == []


def test_the_toolkit_is_arranged_by_concern() -> None:
    packages = {path.name for path in SOURCES["mlci"].iterdir() if (path / "__init__.py").is_file()}
    assert packages == CONCERNS
    loose = {path.name for path in SOURCES["mlci"].glob("*.py")}
    assert loose == {"__init__.py", "__main__.py"}  # the package, and `python -m mlci`


def test_the_cycle_finder_finds_a_circle() -> None:
    """The rule's own check: a circle of three is found, a chain is not."""
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []
