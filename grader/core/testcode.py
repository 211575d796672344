"""A test cell as the sandboxed child receives it: a code object, never source text.

The parent compiles the rewritten test cell (see :mod:`grader.core.checks`) itself and
sends the child the marshalled code object (the child runs the same interpreter). What
leaves the parent holds no source and no line text: the file name is neutral, every
position is line 1, column 0 (a traceback or a frame points at nothing), and the child
never registers it with ``linecache`` or IPython's history. The comments and the
hidden-test markers are gone with the text. What a code object cannot
hide, its constants and names, is the limit argued in the README ("How grading judges
learners' work"): probe inputs that matter are drawn per grading, and expected values
are never in it.
"""

from __future__ import annotations

import ast
import base64
import functools
import marshal

__all__ = ["TEST_FILENAME", "compile_test_code"]

TEST_FILENAME = "<test>"


@functools.lru_cache(maxsize=256)
def compile_test_code(code: str) -> str:
    """The marshalled code object of ``code`` (trusted, rewritten test code), base64."""
    tree = ast.parse(code, filename=TEST_FILENAME)
    for node in ast.walk(tree):
        if "lineno" in node._attributes:
            node.lineno = node.end_lineno = 1  # type: ignore[attr-defined]
            node.col_offset = node.end_col_offset = 0  # type: ignore[attr-defined]
    compiled = compile(tree, TEST_FILENAME, "exec", dont_inherit=True)
    return base64.b64encode(marshal.dumps(compiled)).decode("ascii")
