"""Reading a learner's code for forbidden imports (the parent's half of the import policy).

The sandbox enforces the policy where learner code cannot undo it (the module is absent
from its filesystem view); this static reading lets the verdict say *why* a part scored
nothing. It understands ``import x``, ``from x import y``, ``from pkg import mod``,
``__import__("x")`` and ``importlib.import_module("x")``; IPython magics are translated
first; code that still does not parse is searched as text. Every step is linear in the
cell's size and capped (it runs in the grading process, outside the sandbox).
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Iterable

__all__ = ["MAX_PARSED_CHARS", "MAX_TRANSLATED_CHARS", "forbidden_imports_in"]

#: Magic strings inside ``run_line_magic(...)`` calls parsed again, at most this long.
MAX_TRANSLATED_CHARS = 64 * 1024
#: ``ast.parse`` is linear but slow on huge cells; beyond this a cell is searched as text.
MAX_PARSED_CHARS = 200 * 1024


def _python_line(line: str) -> str:
    stripped = line.lstrip()
    indent = line[: len(line) - len(stripped)]
    if stripped.startswith("%%"):
        return indent + "pass"  # a cell magic's first line; its body stays as it is
    if stripped.startswith("%"):
        # a line magic: %time / %timeit / %prun / … run the rest of the line as Python
        _, _, rest = stripped.partition(" ")
        return indent + (rest.strip() or "pass")
    if stripped.startswith("!"):
        return indent + "pass"  # a shell command
    if stripped.endswith("?") and not stripped.startswith("#"):
        return indent + "pass"  # help: obj? / obj??
    return line


def _python(code: str) -> str:
    """IPython syntax turned into Python, line by line (linear; magics keep their code)."""
    return "\n".join(_python_line(line) for line in code.split("\n"))


def _imported_names(tree: ast.AST) -> Iterable[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            yield node.module
            for alias in node.names:
                yield f"{node.module}.{alias.name}"
        elif isinstance(node, ast.Call) and node.args:
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            first = node.args[0]
            last = node.args[-1]
            if (
                name in ("run_line_magic", "run_cell_magic")
                and isinstance(last, ast.Constant)
                and isinstance(last.value, str)
                and len(last.value) <= MAX_TRANSLATED_CHARS
            ):
                with contextlib.suppress(SyntaxError, ValueError, RecursionError):
                    yield from _imported_names(ast.parse(_python(last.value)))
            if (
                name in ("__import__", "import_module")
                and isinstance(first, ast.Constant)
                and isinstance(first.value, str)
            ):
                yield first.value


def _matches(name: str, forbidden: str) -> bool:
    return name == forbidden or name.startswith(forbidden + ".")


_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _word_at(code: str, start: int, end: int, *, dot_before: bool) -> bool:
    before = code[start - 1] if start else ""
    after = code[end] if end < len(code) else ""
    if before in _WORD or (not dot_before and before == "."):
        return False
    return after not in _WORD


def _mentions(code: str, word: str, *, dot_before: bool = False) -> bool:
    """Whether ``word`` occurs in ``code`` as a whole dotted name (linear: ``str.find``)."""
    at = code.find(word)
    while at >= 0:
        if _word_at(code, at, at + len(word), dot_before=dot_before):
            return True
        at = code.find(word, at + 1)
    return False


def _mentioned(code: str, name: str) -> bool:
    """Text search for code that does not parse: the full name, or ``from pkg … leaf``."""
    if _mentions(code, name):
        return True
    package, _, leaf = name.rpartition(".")
    return bool(package) and _mentions(code, package) and _mentions(code, leaf, dot_before=True)


def forbidden_imports_in(code: str, forbidden: Iterable[str]) -> list[str]:
    """The forbidden modules ``code`` imports (each once, in policy order).

    Bounded for hostile input: magics are translated line by line, cells up to
    :data:`MAX_PARSED_CHARS` are parsed; code that is larger or does not parse is
    searched as text with :meth:`str.find` (linear; no regular expression ever sees
    learner code). The sandbox's own view of the
    filesystem and its record of loaded modules are what enforce the policy; this
    reading only explains a verdict.
    """
    policy = list(forbidden)
    if not policy:
        return []
    tree: ast.AST | None = None
    if len(code) <= MAX_PARSED_CHARS:
        try:
            tree = ast.parse(_python(code))
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            tree = None
    if tree is None:
        return [name for name in policy if _mentioned(code, name)]
    try:
        names = list(_imported_names(tree))
    except RecursionError:
        return [name for name in policy if _mentioned(code, name)]
    return [name for name in policy if any(_matches(found, name) for found in names)]
