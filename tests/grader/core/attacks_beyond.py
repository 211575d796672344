"""Attacks from issue 14 that aim past the verdict: reading hidden tests, forbidden modules.

Each builder takes the honest-but-wrong notebook, like those in ``attacks.py``.
"""

from __future__ import annotations

from tests.grader.core.attacks import Attack, Notebook
from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import answer, insert_after

_CAPTURE = """
import linecache, sys
_captured = []
def _capture(frame, event, arg):
    name = frame.f_code.co_filename
    if name not in _captured:
        _captured.append(name)
    return None
sys.settrace(_capture)
"""

_SMUGGLE = """
def word_counts(text):
    sys.settrace(None)
    source = "".join("".join(linecache.getlines(name)) for name in _captured)
    start = max(source.find("lar" + "ge numbers"), 0)
    return {source[start:start + 200]: 1}
"""


def reads_hidden_tests_through_feedback(nb: Notebook, course: Course) -> Notebook:
    """Record the source of every cell that runs, return it where a visible check shows it."""
    nb = insert_after(nb, "setup", _CAPTURE, "capture")
    return answer(nb, "words-answer", _SMUGGLE)


_PASTED = """
import importlib.util, sys
_name = "context_lib." + "".join(["pat", "terns"])
_module = importlib.util.module_from_spec(importlib.util.spec_from_loader(_name, loader=None))
exec("def word_counts(text):\\n    return {'pasted': 1}\\n", _module.__dict__)
sys.modules[_name] = _module
word_counts = _module.word_counts
"""


def forbidden_module_from_pasted_source(nb: Notebook, course: Course) -> Notebook:
    """A forbidden module built from pasted source under a computed name (no import text)."""
    return insert_after(nb, "words-answer", _PASTED, "pasted")


BEYOND_ATTACKS: dict[str, Attack] = {
    "reads-hidden-tests-through-feedback": reads_hidden_tests_through_feedback,
    "forbidden-module-from-pasted-source": forbidden_module_from_pasted_source,
}
