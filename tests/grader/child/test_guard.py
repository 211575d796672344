"""The child's guard: test cells arrive without source, and learner hooks are seen.

The guard runs in a fresh interpreter here (its audit hook cannot be removed again, and
arming it refuses every later hook in that process).
"""

from __future__ import annotations

import base64
import json
import linecache
import marshal
import subprocess
import sys
import textwrap
import types

from grader.core.testcode import TEST_FILENAME, compile_test_code

TEST_CELL = 'observe("case folded", word_counts("The the THE cat"))  # a comment\nx = 1\n'


def _codes(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found += _codes(constant)
    return found


def test_a_compiled_test_cell_carries_no_source_and_no_line_text() -> None:
    code = marshal.loads(base64.b64decode(compile_test_code(TEST_CELL)))
    codes = _codes(code)

    assert {c.co_filename for c in codes} == {TEST_FILENAME}
    assert {line for c in codes for _, _, line in c.co_lines() if line} == {1}
    assert linecache.getlines(TEST_FILENAME) == []
    assert b"a comment" not in marshal.dumps(code)


def _run(body: str) -> list[object]:
    """Run ``body`` in a fresh interpreter with the guard armed; its printed JSON lines."""
    program = "import json, sys, threading\nfrom grader.child import guard\nguard.arm()\n"
    done = subprocess.run(
        [sys.executable, "-c", program + textwrap.dedent(body)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_trace_and_profile_functions_are_named_then_cleared() -> None:
    found = _run(
        """
        print(json.dumps(guard.watchers()))
        sys.settrace(lambda *a: None)
        sys.setprofile(lambda *a: None)
        threading.settrace(lambda *a: None)
        threading.setprofile(lambda *a: None)
        print(json.dumps(guard.watchers()))
        guard.clear()
        print(json.dumps(guard.watchers()))
        """
    )
    assert found == [
        [],
        ["sys.settrace", "sys.setprofile", "threading.settrace", "threading.setprofile"],
        [],
    ]


def test_a_learner_audit_hook_is_refused_and_recorded() -> None:
    seen, watchers = _run(
        """
        seen = []
        sys.addaudithook(lambda event, args: seen.append(event))
        exec("1 + 1")
        print(json.dumps(seen))
        print(json.dumps(guard.watchers()))
        """
    )
    assert seen == []  # the learner's hook never ran: it was not added
    assert watchers == ["sys.addaudithook"]


def test_the_graders_audit_hook_cannot_be_rewritten() -> None:
    (outcome,) = _run(
        """
        try:
            guard._audit.__code__ = (lambda event, args: None).__code__
            print(json.dumps("rewritten"))
        except RuntimeError:
            print(json.dumps("refused"))
        """
    )
    assert outcome == "refused"
