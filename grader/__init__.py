"""grader: judging learners' notebooks, in layers that only look down.

- ``grader.child``: the only grader code the sandboxed child imports (the cell runner,
  ``observe``, the value codec, the notebooks' ``show`` widget helper).
- ``grader.core``: grade one notebook: sandbox, executor, restore, checks, reference
  values, verdict.
- ``grader.pipeline``: a class's submissions: intake, catalog, gradebook, batch, feedback,
  report, roster; executors (local pool, Dask).
- ``grader.authoring``: release (learner notebooks from sources) and its checks.

Every error the package raises on purpose derives from ``grader.core.errors.GraderError``
(the tree is drawn there). The score formula and level rule are not here but in
``scoring``, which certificates and the product share.

Notebooks import ``observe``, ``grading_random`` and ``show`` from here, inside the
sandboxed child, so this module imports nothing but ``grader.child``.
"""

from typing import Any

from grader.child.observe import grading_random, observe

__all__ = ["grading_random", "observe", "show"]


def __getattr__(name: str) -> Any:
    # ``show`` pulls in ipywidgets: load it only when a notebook asks for it.
    if name == "show":
        from grader.child.widgets import show

        return show
    raise AttributeError(f"module 'grader' has no attribute {name!r}")
