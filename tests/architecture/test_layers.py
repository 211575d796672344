"""The packages' layers only look down (read by the import statements, also in functions).

::

    context_course  the product: the only package that imports all three libraries
       │
       ├── certificates        imports neither grader nor context_course
       ├── grader.authoring ─┐
       │   grader.pipeline ──┤ never import the product or certificates
       │   grader.core ──────┘ never imports pipeline or authoring either
       │   grader.child        imports nothing of grader outside itself
       ├── scoring             the score formula and level rule: imports none of them
       └── context_lib         imports none of them
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN: dict[str, tuple[str, ...]] = {
    "grader/child": (
        "grader.core",
        "grader.pipeline",
        "grader.authoring",
        "context_course",
        "certificates",
        "context_lib",
    ),
    "grader/core": ("grader.pipeline", "grader.authoring", "context_course", "certificates"),
    "grader/pipeline": ("grader.authoring", "context_course", "certificates"),
    "grader/authoring": ("grader.pipeline", "context_course", "certificates"),
    "certificates": ("grader", "context_course"),
    "context_lib": ("grader", "context_course", "certificates", "scoring"),
    "scoring": ("grader", "context_course", "certificates", "context_lib"),
}


def _imports(path: Path) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
            found.extend((node.lineno, f"{node.module}.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append((node.lineno, "." * node.level + (node.module or "")))
    return found


def _reaches(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_a_layer_never_imports_the_layers_above_it(folder: str) -> None:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"{folder} has modules"
    bad = [
        f"{path.relative_to(ROOT)}:{line} imports {name}"
        for path in files
        for line, name in _imports(path)
        if any(_reaches(name, package) for package in FORBIDDEN[folder])
    ]
    assert bad == []


def test_no_relative_imports_hide_a_layer() -> None:
    """Relative imports would dodge the check above; the packages use absolute ones."""
    bad = [
        f"{path.relative_to(ROOT)}:{line}"
        for top in ("grader", "certificates", "context_course", "context_lib", "scoring")
        for path in sorted((ROOT / top).rglob("*.py"))
        for line, name in _imports(path)
        if name.startswith(".")
    ]
    assert bad == []


def test_only_the_product_imports_all_three_libraries() -> None:
    libraries = ("context_lib", "grader", "certificates")

    def used_by(top: str) -> set[str]:
        return {
            library
            for path in (ROOT / top).rglob("*.py")
            for _, name in _imports(path)
            for library in libraries
            if _reaches(name, library) and library != top
        }

    assert used_by("context_course") == set(libraries)
    for top in libraries:
        assert len(used_by(top)) < 2, f"{top} imports {sorted(used_by(top))}"
