"""The sandboxed child's code boundary: ``grader`` and ``grader.child`` import nothing else.

Notebooks import ``observe`` (and ``show``) from ``grader`` inside the sandboxed child, and
the zygote runs ``grader.child``. Keeping the secrets out of reach must not rest on the
filesystem view alone: the code the child imports reaches only ``grader/child/``, the
standard library and IPython (the zygote's shell, with traitlets, IPython's own config
library). ``ipywidgets`` is the one more: the notebooks' ``show`` helper displays widgets
and needs it, so it is allowed, but only loaded when a notebook asks for ``show`` (never
by ``import grader``); it imports neither ``grader`` nor the product.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CHILD_MODULES = ["grader", "grader.child.observe", "grader.child.runner", "grader.child.values"]
CHILD_MODULES += ["grader.child.zygote"]
THIRD_PARTY_ALLOWED = {"IPython", "traitlets", "ipywidgets"}


def _imported_after(code: str) -> dict[str, str]:
    """Modules (name -> file) loaded by a fresh interpreter that runs ``code``."""
    script = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps({n: str(getattr(m, '__file__', '') or '') "
        "for n, m in sys.modules.items() if n not in before}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    loaded: dict[str, str] = json.loads(done.stdout)
    return loaded


def _outside_the_boundary(loaded: dict[str, str], allowed: set[str]) -> list[str]:
    bad = []
    for name in loaded:
        root = name.split(".")[0]
        if root in sys.stdlib_module_names or root.startswith("_"):
            continue
        if name == "grader" or name == "grader.child" or name.startswith("grader.child."):
            continue
        if root in allowed:
            continue
        bad.append(name)
    return sorted(bad)


def test_importing_what_the_child_imports_loads_only_the_child_and_the_stdlib() -> None:
    loaded = _imported_after("\n".join(f"import {m}" for m in CHILD_MODULES))
    assert "grader.child.zygote" in loaded  # the walk saw the modules it checks
    assert _outside_the_boundary(loaded, allowed=set()) == []


def test_the_childs_shell_and_show_reach_only_ipython_and_ipywidgets() -> None:
    loaded = _imported_after(
        "import grader, grader.child.zygote as z\nz._build_shell()\ngrader.show\n"
    )
    assert "IPython" in loaded and "ipywidgets" in loaded
    bad = [
        name
        for name in _outside_the_boundary(loaded, THIRD_PARTY_ALLOWED)
        # IPython and ipywidgets bring their own dependencies: allowed only when none of
        # them is ours
        if name.split(".")[0] in {"grader", "context_course", "certificates", "context_lib"}
    ]
    assert bad == []


def test_import_grader_does_not_load_ipywidgets_or_ipython() -> None:
    loaded = _imported_after("import grader")
    assert not {"ipywidgets", "IPython"} & {name.split(".")[0] for name in loaded}


def _static_imports(path: Path) -> list[str]:
    """Every module an import statement in ``path`` names, including ones inside functions."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
    return names


def test_no_import_statement_in_the_child_reaches_past_the_boundary() -> None:
    """Also the imports inside functions, which importing the modules does not run."""
    files = [*sorted((ROOT / "grader" / "child").glob("*.py")), ROOT / "grader" / "__init__.py"]
    bad = []
    for path in files:
        for name in _static_imports(path):
            root = name.split(".")[0]
            if root in sys.stdlib_module_names or root == "__future__":
                continue
            if name.startswith("grader.child") or root in THIRD_PARTY_ALLOWED:
                continue
            bad.append(f"{path.relative_to(ROOT)}: {name}")
    assert bad == []
