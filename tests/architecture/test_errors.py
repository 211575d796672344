"""One exception root per package, turned into one-line errors in one place (the CLI's main)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import certificates.errors
import context_course.errors
import context_lib.errors
import grader.core.errors
from context_course.cli import _ERROR_ROOTS

ROOT = Path(__file__).resolve().parents[2]
ROOTS = {
    "grader": grader.core.errors.GraderError,
    "certificates": certificates.errors.CertificateError,
    "context_lib": context_lib.errors.ContextError,
    "context_course": context_course.errors.ContextCourseError,
}
PRIVATE = {"MalformedValue", "_TooBig", "_Failure"}  # never leave their module


def _error_classes(package: str) -> list[type[BaseException]]:
    import importlib
    import pkgutil

    found: dict[str, type[BaseException]] = {}
    top = importlib.import_module(package)
    for info in pkgutil.walk_packages(top.__path__, prefix=f"{package}."):
        if info.name.endswith(("zygote", "runner", "__main__")) or ".cli." in info.name:
            continue
        try:
            module = importlib.import_module(info.name)
        except ImportError:
            continue
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, Exception)
                and value.__module__ == info.name
                and name not in PRIVATE
            ):
                found[f"{value.__module__}.{name}"] = value
    return list(found.values())


@pytest.mark.parametrize("package", sorted(ROOTS))
def test_every_error_of_a_package_derives_from_its_one_root(package: str) -> None:
    classes = _error_classes(package)
    assert ROOTS[package] in classes
    assert [c.__qualname__ for c in classes if not issubclass(c, ROOTS[package])] == []


def test_the_cli_maps_every_root() -> None:
    mapped = {f"{module}.{name}" for module, name, _ in _ERROR_ROOTS}
    assert mapped == {f"{r.__module__}.{r.__qualname__}" for r in ROOTS.values()}


def test_commands_do_not_translate_the_packages_errors_themselves() -> None:
    """A command catches only what needs other words (an OSError with its path, say) or
    another exit code (``run`` tells a bad recipe, 2, from a failed run, context_lib's 1)."""
    roots_and_children = {
        cls.__name__
        for package in ROOTS
        if package != "context_lib"
        for cls in _error_classes(package)
    }
    offenders = []
    for path in sorted((ROOT / "context_course" / "cli").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ExceptHandler) or node.type is None:
                continue
            names = [n.id for n in ast.walk(node.type) if isinstance(n, ast.Name)]
            body = ast.unparse(node.body[0]) if len(node.body) == 1 else ""
            if set(names) & roots_and_children and body == "raise UserError(str(exc)) from None":
                offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
