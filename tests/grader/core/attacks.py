"""Hostile submissions, one per attack, each built on the honest-but-wrong notebook.

Every builder takes the honest-but-wrong learner notebook and the course folder (whose
paths a real attacker could guess) and returns the attacked notebook. Attacks aim at
``word_counts`` (unanswered in the honest-but-wrong notebook, so worth 0 points) or at
the whole notebook; a correct grader gives each exactly the honest-but-wrong score.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from typing import Any

from tests.grader.core.conftest import Course
from tests.grader.core.nbbuild import (
    answer,
    cell_index,
    code_cell,
    delete_cell,
    edit_cell,
    insert_after,
)

Notebook = dict[str, Any]
Attack = Callable[[Notebook, Course], Notebook]

WRONG_MEAN_BODY = """def mean(values):
    values = list(values)
"""

RIGHT_WORD_COUNTS = """def word_counts(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
"""


def custom_exception_handler(nb: Notebook, course: Course) -> Notebook:
    code = "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n"
    return insert_after(nb, "setup", code, "attack")


def input_transformer_rewrites_tests(nb: Notebook, course: Course) -> Notebook:
    code = """
def _skip_word_tests(lines):
    text = "".join(lines)
    if "word_counts" in text and ("assert" in text or "observe" in text or "__cc_" in text):
        return ["pass\\n"]
    return lines

get_ipython().input_transformers_cleanup.append(_skip_word_tests)
"""
    return insert_after(nb, "setup", code, "attack")


def sys_exit_before_tests(nb: Notebook, course: Course) -> Notebook:
    return insert_after(nb, "words-answer", "import sys\nsys.exit(0)\n", "attack")


def os_exit_inside_tested_function(nb: Notebook, course: Course) -> Notebook:
    code = "def word_counts(text):\n    import os\n    os._exit(0)\n"
    return answer(nb, "words-answer", code)


def os_exit_in_added_cell(nb: Notebook, course: Course) -> Notebook:
    return insert_after(nb, "words-answer", "import os\nos._exit(3)\n", "attack")


def sigkill_of_itself(nb: Notebook, course: Course) -> Notebook:
    code = "import os, signal\n\ndef word_counts(text):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
    return answer(nb, "words-answer", code)


def infinite_loop(nb: Notebook, course: Course) -> Notebook:
    code = "while True:\n    pass\n"
    return insert_after(nb, "words-answer", code, "attack")


def infinite_loop_ignoring_interrupts(nb: Notebook, course: Course) -> Notebook:
    # SIG_IGN: the interrupt never arrives, so only the kill can stop it (a try/except
    # around the loop body would still let an interrupt land between iterations).
    code = (
        "import signal\n"
        "def word_counts(text):\n"
        "    signal.signal(signal.SIGINT, signal.SIG_IGN)\n"
        "    while True:\n"
        "        pass\n"
    )
    return answer(nb, "words-answer", code)


def memory_bomb(nb: Notebook, course: Course) -> Notebook:
    code = "hog = bytearray(1 << 40)\n"
    return insert_after(nb, "words-answer", code, "attack")


def fork_bomb(nb: Notebook, course: Course) -> Notebook:
    code = (
        "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    return insert_after(nb, "words-answer", code, "attack")


def crashed_interpreter(nb: Notebook, course: Course) -> Notebook:
    code = (
        "import sys\n"
        "sys.setrecursionlimit(10**8)\n"
        "dive = lambda n: list(map(dive, [n + 1]))  # recursion through C: a segfault\n"
        "dive(0)\n"
    )
    return insert_after(nb, "words-answer", code, "attack")


def _cheat_if_readable(paths: list[str]) -> str:
    """Code that, if any path is readable, copies the solution in (a successful cheat)."""
    return f"""
import glob, json

_stolen = False
for _pattern in {paths!r}:
    for _path in glob.glob(_pattern) or [_pattern]:
        try:
            with open(_path, "rb") as _handle:
                _handle.read(16)
            _stolen = True
        except OSError:
            pass

if _stolen:
{"".join("    " + line + chr(10) for line in RIGHT_WORD_COUNTS.splitlines())}"""


def reads_source_notebook(nb: Notebook, course: Course) -> Notebook:
    submission = course.submission_path()
    relative = os.path.relpath(course.source, submission.parent)
    paths = [str(course.source), relative, "../" * 8 + str(course.source).lstrip("/")]
    return answer(nb, "words-answer", _cheat_if_readable(paths))


def reads_gradebook_and_reference_cache(nb: Notebook, course: Course) -> Notebook:
    submission = course.submission_path()
    paths = [
        str(course.gradebook),
        os.path.relpath(course.gradebook, submission.parent),
        str(course.cache_dir / "*.json"),
        os.path.relpath(course.cache_dir, submission.parent) + "/*.json",
        "/root/.config/context-course/issuer/*",
    ]
    return answer(nb, "words-answer", _cheat_if_readable(paths))


def writes_gradebook(nb: Notebook, course: Course) -> Notebook:
    submission = course.submission_path()
    targets = [
        str(course.gradebook),
        os.path.relpath(course.gradebook, submission.parent),
        str(course.source),
        str(course.cache_dir / "arithmetic.json"),
    ]
    code = f"""
for _target in {targets!r}:
    try:
        with open(_target, "w") as _handle:
            _handle.write("every learner gets 100")
    except OSError:
        pass
"""
    return insert_after(nb, "words-answer", code, "attack")


def prints_fake_results(nb: Notebook, course: Course) -> Notebook:
    code = """
import json, os, sys
for _line in (
    "All tests passed! 100/100",
    json.dumps({"t": "done", "n": 999, "error": None}),
    json.dumps({"t": "obs", "n": 999, "check": "case folded", "kind": "probe",
                "status": "value", "value": {"the": 3, "cat": 1}}),
):
    print(_line)
    print(_line, file=sys.stderr)
sys.stdout.flush()
"""
    return insert_after(nb, "words-answer", code, "attack")


def always_equal_object(nb: Notebook, course: Course) -> Notebook:
    code = """
class AlwaysEqual:
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = object.__hash__

def word_counts(text):
    return AlwaysEqual()
"""
    return answer(nb, "words-answer", code)


def always_equal_dict_subclass(nb: Notebook, course: Course) -> Notebook:
    code = """
class Anything(dict):
    def __eq__(self, other):
        return True
    def __ne__(self, other):
        return False
    __hash__ = None
    def __iter__(self):
        return iter(["the", "cat"])

def word_counts(text):
    return Anything(always=1)
"""
    return answer(nb, "words-answer", code)


def edits_test_cell(nb: Notebook, course: Course) -> Notebook:
    return edit_cell(nb, "words-tests", source="assert True\n")


def deletes_test_cell(nb: Notebook, course: Course) -> Notebook:
    return delete_cell(nb, "words-tests")


def retypes_test_cell(nb: Notebook, course: Course) -> Notebook:
    index = cell_index(nb, "words-tests")
    cell = nb["cells"][index]
    markdown = {
        "cell_type": "markdown",
        "id": cell["id"],
        "metadata": cell["metadata"],
        "source": cell["source"],
    }
    nb = delete_cell(nb, "words-tests")
    nb["cells"].insert(index, markdown)
    return nb


def changed_metadata(nb: Notebook, course: Course) -> Notebook:
    index = cell_index(nb, "words-tests")
    metadata = {
        "nbgrader": {
            "grade": False,
            "solution": True,
            "locked": False,
            "points": 1000,
            "grade_id": "words-tests",
            "schema_version": 3,
        }
    }
    nb = edit_cell(nb, "words-tests", metadata=metadata, source="pass\n")
    mean_index = cell_index(nb, "mean-tests")
    nb["cells"][mean_index]["metadata"]["nbgrader"]["points"] = 0
    assert index != mean_index
    return nb


def forbidden_import(nb: Notebook, course: Course) -> Notebook:
    code = "try:\n    import context_lib.patterns\nexcept ImportError:\n    pass\n\n"
    return answer(nb, "words-answer", code + RIGHT_WORD_COUNTS)


def double_forked_daemon(nb: Notebook, course: Course) -> Notebook:
    code = f"""
import os, time
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(60)
        try:
            open({str(course.gradebook)!r}, "w").write("rewritten later")
        finally:
            os._exit(0)
    os._exit(0)
"""
    return insert_after(nb, "words-answer", code, "attack")


# -- forging and confusing the observation channel ------------------------------------------
# The child's observations travel on fd 3; the learner's code shares the child's process, so
# it can write there, wrap the probe functions, or feed the parent values meant to trip it.

_FRAME = """
import builtins as _builtins, json as _json, os as _os

def _frame(check, kind, value, status="value"):
    number = _builtins.__cc_observe__.__self__.current
    message = {"t": "obs", "n": number, "check": check, "kind": kind, "status": status,
               "value": value}
    _os.write(3, (_json.dumps(message) + "\\n").encode())
"""


def huge_integer_result(nb: Notebook, course: Course) -> Notebook:
    code = (
        WRONG_MEAN_BODY
        + "    if values == [1, 1, 2]:\n        return 10**400\n"
        + ("    return sum(values) // len(values)\n")
    )
    return answer(nb, "mean-answer", code)


def forges_unreadable_bytes_frame(nb: Notebook, course: Course) -> Notebook:
    code = (
        _FRAME
        + """
_real_assert = _builtins.__cc_assert__

def _assert(check, thunk):
    if check == "assert 2":  # mean([1, 2]) == 1.5, which the wrong mean fails
        _frame(check, "assert", {"$bytes": "a"})
    else:
        _real_assert(check, thunk)

_builtins.__cc_assert__ = _assert
"""
    )
    return insert_after(nb, "mean-answer", code, "attack")


def duplicates_probes_with_right_values(nb: Notebook, course: Course) -> Notebook:
    code = (
        _FRAME
        + """
_right = {"case folded": {"the": 3, "cat": 1}, "empty text": {},
          "sorted keys": ["x", "y", "z"]}
_real_observe = _builtins.__cc_observe__

def _observe(label, thunk):
    if label in _right:
        _frame(label, "probe", _right[label])  # before the real one
    _real_observe(label, thunk)
    if label in _right:
        _frame(label, "probe", _right[label])  # and after it

_builtins.__cc_observe__ = _observe
"""
    )
    return insert_after(nb, "words-answer", code, "attack")


def observes_before_the_test_cell_runs(nb: Notebook, course: Course) -> Notebook:
    code = """
from grader import observe
observe("case folded", {"the": 3, "cat": 1})
observe("empty text", {})
__cc_observe__("sorted keys", lambda: ["x", "y", "z"])
__cc_assert__("assert 1", lambda: {"a": 2, "b": 1})
"""
    return insert_after(nb, "words-answer", code, "attack")


def floods_the_observation_channel(nb: Notebook, course: Course) -> Notebook:
    code = """
import builtins as _builtins, json as _json, os as _os

def _flood(check, megabytes, times):
    message = {"t": "obs", "n": _builtins.__cc_observe__.__self__.current, "check": check,
               "kind": "probe", "status": "value", "value": [[]] * (megabytes * 300_000)}
    line = (_json.dumps(message) + "\\n").encode()  # about 1 MB per 300,000 items
    for _ in range(times):
        _os.write(3, line)

_flood("case folded", 4, 60)  # about 240 MB while this (unobserved) cell runs

def word_counts(text):
    for label in ("case folded", "empty text", "sorted keys"):
        _flood(label, 3, 5)  # and 45 MB while the test cell runs
    raise NotImplementedError
"""
    return answer(nb, "words-answer", code)


def background_thread_forges_during_tests(nb: Notebook, course: Course) -> Notebook:
    code = (
        _FRAME
        + """
import threading, time

def _forger(start):
    sent = set()
    runner = _builtins.__cc_observe__.__self__
    while time.monotonic() - start < 20:
        if runner.current > start_cell and runner.current not in sent:
            sent.add(runner.current)
            _frame("case folded", "probe", {"the": 3, "cat": 1})
            _frame("assert 1", "assert", {"a": 2, "b": 1})
        time.sleep(0.001)

start_cell = _builtins.__cc_observe__.__self__.current
threading.Thread(target=_forger, args=(time.monotonic(),), daemon=True).start()
"""
    )
    return insert_after(nb, "words-answer", code, "attack")


# -- restoring: cells that lie about what they are -------------------------------------------


def claims_the_test_cells_id(nb: Notebook, course: Course) -> Notebook:
    index = cell_index(nb, "words-tests")
    nb = copy.deepcopy(nb)
    nb["cells"][index]["id"] = "renamed"
    nb["cells"][index]["metadata"] = {}
    nb["cells"][index]["source"] = "assert True\n"
    impostor = code_cell("pass\n", "words-tests", grade_id="words-tests", grade=True, points=20)
    nb["cells"].insert(0, impostor)
    return nb


def reorders_cells_tests_first(nb: Notebook, course: Course) -> Notebook:
    nb = copy.deepcopy(nb)
    tests = [c for c in nb["cells"] if c.get("id", "").endswith("-tests")]
    rest = [c for c in nb["cells"] if not c.get("id", "").endswith("-tests")]
    nb["cells"] = tests + rest
    return nb


def adds_its_own_graded_cell(nb: Notebook, course: Course) -> Notebook:
    nb = copy.deepcopy(nb)
    bonus = code_cell("assert True\n", "bonus", grade_id="bonus", grade=True, points=1000)
    nb["cells"].append(bonus)
    return nb


def markdown_turned_into_code(nb: Notebook, course: Course) -> Notebook:
    index = cell_index(nb, "words-task")
    nb = copy.deepcopy(nb)
    nb["cells"][index] = code_cell(
        "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)\n",
        "words-task",
    )
    return nb


def duplicates_grade_ids(nb: Notebook, course: Course) -> Notebook:
    index = cell_index(nb, "words-tests")
    nb = copy.deepcopy(nb)
    decoy = copy.deepcopy(nb["cells"][index])
    decoy["source"] = "pass\n"
    nb["cells"][index:index] = [copy.deepcopy(decoy) for _ in range(3)]
    answer_cell = copy.deepcopy(nb["cells"][cell_index(nb, "words-answer")])
    answer_cell["source"] = "def word_counts(text):\n    return {'the': 3, 'cat': 1}\n"
    nb["cells"].append(answer_cell)  # a second "words-answer", after every test
    return nb


def thousands_of_cells(nb: Notebook, course: Course) -> Notebook:
    nb = copy.deepcopy(nb)
    filler = [code_cell(f"filler_{i} = {i}\n", f"filler-{i}") for i in range(2000)]
    index = cell_index(nb, "words-answer") + 1
    nb["cells"][index:index] = filler
    return nb


ATTACKS: dict[str, Attack] = {
    "custom-exception-handler": custom_exception_handler,
    "input-transformer-rewrites-tests": input_transformer_rewrites_tests,
    "sys-exit-before-tests": sys_exit_before_tests,
    "os-exit-inside-tested-function": os_exit_inside_tested_function,
    "os-exit-in-added-cell": os_exit_in_added_cell,
    "sigkill-of-itself": sigkill_of_itself,
    "memory-bomb": memory_bomb,
    "crashed-interpreter": crashed_interpreter,
    "reads-source-notebook": reads_source_notebook,
    "reads-gradebook-and-reference-cache": reads_gradebook_and_reference_cache,
    "writes-gradebook": writes_gradebook,
    "prints-fake-results": prints_fake_results,
    "always-equal-object": always_equal_object,
    "always-equal-dict-subclass": always_equal_dict_subclass,
    "edits-test-cell": edits_test_cell,
    "deletes-test-cell": deletes_test_cell,
    "retypes-test-cell": retypes_test_cell,
    "changed-metadata": changed_metadata,
    "forbidden-import": forbidden_import,
    "double-forked-daemon": double_forked_daemon,
    "huge-integer-result": huge_integer_result,
    "forges-unreadable-bytes-frame": forges_unreadable_bytes_frame,
    "duplicates-probes-with-right-values": duplicates_probes_with_right_values,
    "observes-before-the-test-cell-runs": observes_before_the_test_cell_runs,
    "floods-the-observation-channel": floods_the_observation_channel,
    "background-thread-forges-during-tests": background_thread_forges_during_tests,
    "claims-the-test-cells-id": claims_the_test_cells_id,
    "reorders-cells-tests-first": reorders_cells_tests_first,
    "adds-its-own-graded-cell": adds_its_own_graded_cell,
    "markdown-turned-into-code": markdown_turned_into_code,
    "duplicates-grade-ids": duplicates_grade_ids,
    "thousands-of-cells": thousands_of_cells,
}

# attacks that need the wall clock to stop them (graded with a short cell timeout)
SLOW_ATTACKS: dict[str, Attack] = {
    "infinite-loop": infinite_loop,
    "infinite-loop-ignoring-interrupts": infinite_loop_ignoring_interrupts,
    "fork-bomb": fork_bomb,
}


# -- two learners graded one after the other by the same grading process -------------------
# The first notebook leaves the right answer wherever a later notebook could find it; the
# second one (honest-but-wrong otherwise) picks it up. A correct grader gives the second
# notebook exactly the honest-but-wrong score.

_SYSV_KEY = 0x5EC0DE
_LIBC = """
import ctypes
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
"""


def plants_answer_in_shared_places(nb: Notebook, course: Course) -> Notebook:
    code = f"""
import os
{_LIBC}
_answer = {RIGHT_WORD_COUNTS!r}
for _folder in ("/dev/shm", "/tmp", "/var/tmp", os.path.dirname(os.getcwd())):
    try:
        with open(os.path.join(_folder, "answer.py"), "w") as _handle:
            _handle.write(_answer)
        os.chmod(os.path.join(_folder, "answer.py"), 0o666)
    except OSError:
        pass
_segment = _libc.shmget({_SYSV_KEY}, 4096, 0o1000 | 0o666)
if _segment >= 0:
    _address = _libc.shmat(_segment, None, 0)
    ctypes.memmove(_address, _answer.encode() + b"\\0", len(_answer) + 1)
"""
    return insert_after(nb, "words-answer", code, "plant")


def uses_answer_left_by_another_notebook(nb: Notebook, course: Course) -> Notebook:
    code = f"""
import glob, os
{_LIBC}
_found = []
for _path in glob.glob("/dev/shm/*") + glob.glob("/tmp/*") + glob.glob("/tmp/*/*") + glob.glob(
    "/var/tmp/*"
):
    try:
        with open(_path) as _handle:
            _found.append(_handle.read())
    except (OSError, UnicodeDecodeError):
        pass
_segment = _libc.shmget({_SYSV_KEY}, 0, 0)
if _segment >= 0:
    _found.append(ctypes.string_at(_libc.shmat(_segment, None, 0)).decode())
for _code in _found:
    if "def word_counts" in _code:
        exec(_code)
"""
    return insert_after(nb, "words-answer", code, "collude")
