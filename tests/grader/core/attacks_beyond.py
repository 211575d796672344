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


# Every place the source of a running test cell could be read from without a hook: the
# frames on the stack (linecache, inspect), IPython's history (In, _ih, the history
# manager) and linecache's whole cache. The count of recovered lines that hold the hidden
# probes' own text comes back through the visible check's "got".
_RECOVER = """
import inspect, linecache, sys
def word_counts(text):
    texts = []
    frame = sys._getframe(1)
    while frame is not None:
        texts.extend(linecache.getlines(frame.f_code.co_filename))
        try:
            texts.append(inspect.getsource(frame.f_code))
        except (OSError, TypeError):
            pass
        frame = frame.f_back
    shell = get_ipython()
    texts.extend(str(line) for line in globals().get("In", []))
    texts.extend(str(line) for line in globals().get("_ih", []))
    texts.extend(str(line) for line in shell.history_manager.input_hist_raw)
    texts.extend(str(line) for line in shell.history_manager.input_hist_parsed)
    for entry in list(linecache.cache.values()):
        texts.extend(entry[2] if len(entry) > 2 else [])
    hidden = ("case" + " folded", "THE" + " cat", "sorted" + " keys")
    return {"recovered": sum(any(h in t for h in hidden) for t in texts)}
"""


def recovers_hidden_tests_from_frames_and_history(nb: Notebook, course: Course) -> Notebook:
    """Read the running test cell's source from frames, IPython's history and linecache."""
    return answer(nb, "words-answer", _RECOVER)


def _hooked(code: str, cell_id: str) -> Attack:
    def attack(nb: Notebook, course: Course) -> Notebook:
        return insert_after(nb, "setup", code, cell_id)

    attack.__doc__ = f"Install a hook that would watch the test cells: {code.strip()}"
    return attack


_TRACE_LATER = """
import sys
def word_counts(text):
    sys.settrace(lambda frame, event, arg: None)  # set from inside a probe, mid-test
    return {}
"""


def traces_from_inside_a_probe(nb: Notebook, course: Course) -> Notebook:
    """Set a trace function while a test cell runs (from the function a probe calls)."""
    return answer(nb, "words-answer", _TRACE_LATER)


#: Attacks that install a hook able to watch a test cell: each notebook is rejected (every
#: part 0, the hook named in its events), and no other learner is touched.
HOOK_ATTACKS: dict[str, tuple[Attack, str]] = {
    "reads-hidden-tests-through-feedback": (reads_hidden_tests_through_feedback, "sys.settrace"),
    "audit-hook-sees-every-exec": (
        _hooked("import sys\n_seen = []\nsys.addaudithook(lambda e, a: _seen.append(a))", "audit"),
        "sys.addaudithook",
    ),
    "profile-function": (
        _hooked("import sys\nsys.setprofile(lambda frame, event, arg: None)", "profile"),
        "sys.setprofile",
    ),
    "trace-for-new-threads": (
        _hooked("import threading\nthreading.settrace(lambda *args: None)", "threads"),
        "threading.settrace",
    ),
    "trace-set-from-inside-a-probe": (traces_from_inside_a_probe, "sys.settrace"),
}


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
    "recovers-hidden-tests-from-frames-and-history": recovers_hidden_tests_from_frames_and_history,
    "forbidden-module-from-pasted-source": forbidden_module_from_pasted_source,
}
