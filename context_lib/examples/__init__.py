"""Example recipes and their scriptlets (used by the tests and by notebook 06).

Importing this package registers the example scriptlets in the default registry.

>>> from context_lib.examples import recipe_path
>>> from context_lib.runner import Runner
>>> result = Runner().run(recipe_path("numbers"))
>>> result.ok, result.context.get("stats.count")
(True, 20)
"""

from __future__ import annotations

from pathlib import Path

from context_lib.examples import scriptlets  # noqa: F401  (registers the scriptlets)

__all__ = ["EXAMPLES", "recipe_path"]

_HERE = Path(__file__).resolve().parent
EXAMPLES = {
    "numbers": "numbers.yaml",
    "words": "words.json",
    "workers": "workers.yaml",
}
"""Example recipe names and their files in this folder."""


def recipe_path(name: str) -> Path:
    """The file of the example recipe ``name`` (one of :data:`EXAMPLES`)."""
    try:
        return _HERE / EXAMPLES[name]
    except KeyError:
        known = ", ".join(sorted(EXAMPLES))
        raise KeyError(f"no example recipe {name!r}; the examples are {known}") from None
