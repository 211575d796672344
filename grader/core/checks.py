"""From a test cell to checks: what the child runs, and what the parent compares.

A graded test cell holds visible asserts and hidden probes. This module rewrites the
cell's code (by AST, never by text substitution) into the code the sandboxed child runs:

- ``assert a == b, msg`` becomes ``__cc_assert__("assert 1", lambda: a)``: the child
  evaluates and reports only ``a``; ``b`` never runs there. (When ``a`` is a literal and
  ``b`` is not, the sides swap: the child observes the side that depends on the learner.)
- any other ``assert expr, msg`` becomes ``__cc_truth__("assert 2", lambda: expr)``: the
  child reports the truth value.
- ``observe(label, value)`` becomes ``__cc_observe__(label, lambda: value)``: errors while
  probing are reported instead of stopping the cell.
- every top-level statement is wrapped so that an exception ends only that statement,
  and reports it with the statement's line (``__cc_statement_error__(e, LINE)``);
- the cell starts by forgetting the names it is about to assign (see
  :func:`names_to_forget`).

Why forget names: a test line such as ``got = settings_with_defaults(...)`` that raises
leaves ``got`` as it was, and the next ``assert got == ...`` would compare whatever an
earlier worked example left under that name ("expected {...}, got ['a', 'b', 'd']"). With
the names the cell assigns cleared first, a value a check sees was produced in this cell
by the learner's code, or the check meets a ``NameError`` that the verdict traces back to
the line that raised (:mod:`grader.core.verdict`). Only names whose first use in the cell
is an assignment are cleared: ``x = f(x)`` still reads the learner's ``x``.

In the reference run (the instructor's solution, :data:`REFERENCE`), ``assert a == b``
additionally reports ``b`` through ``__cc_expect__``: the parent uses the reference's
``b`` as the expected value of the learner's ``a``.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from typing import Literal

from grader.core.errors import GradingError
from grader.core.nbsource import Cell, hidden_line_ranges
from grader.core.results import CheckKind

__all__ = [
    "LEARNER",
    "REFERENCE",
    "AssertCheck",
    "MessagePiece",
    "Mode",
    "TestCellPlan",
    "TestLine",
    "names_to_forget",
    "plan_test_cell",
    "render_message",
]

Mode = Literal["learner", "reference"]
LEARNER: Mode = "learner"
REFERENCE: Mode = "reference"

ASSERT_FN = "__cc_assert__"
TRUTH_FN = "__cc_truth__"
EXPECT_FN = "__cc_expect__"
OBSERVE_FN = "__cc_observe__"
STATEMENT_ERROR_FN = "__cc_statement_error__"


@dataclass(frozen=True)
class MessagePiece:
    """A piece of an author's assert message: literal text or an expression's source."""

    text: str
    is_expression: bool = False


@dataclass(frozen=True)
class AssertCheck:
    """One assert statement of a test cell."""

    key: str  # "assert N", 1-based in source order; stable across runs
    label: str  # what feedback calls it (the assert's own code, or "hidden assert N")
    kind: CheckKind
    compare: Literal["equal", "truth"]
    observed_source: str  # the expression the child evaluates
    message: tuple[MessagePiece, ...] = ()


@dataclass(frozen=True)
class TestLine:
    """A top-level statement of a test cell, as feedback may name it."""

    line: int  # 1-based line in the test cell's source
    source: str  # one line, at most 60 characters
    hidden: bool  # inside a hidden-tests region: never shown to the learner


@dataclass(frozen=True)
class TestCellPlan:
    """A test cell ready to run: its checks and the code for each kind of run."""

    grade_id: str
    points: float
    asserts: tuple[AssertCheck, ...]
    static_probe_labels: tuple[str, ...]  # literal labels of observe(...) calls, in order
    boolean_probe_labels: tuple[str, ...]  # literal labels whose value is plainly boolean
    weights: dict[str, float] = field(default_factory=dict)
    learner_code: str = ""
    reference_code: str = ""
    lines: dict[int, TestLine] = field(default_factory=dict)  # top-level statements by line
    hidden_source: str = ""  # the text of the cell's hidden-tests regions

    def code(self, mode: Mode) -> str:
        """The rewritten cell code for a learner run or the reference run."""
        return self.reference_code if mode == REFERENCE else self.learner_code


def _is_literal(node: ast.expr) -> bool:
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def _message_pieces(node: ast.expr | None) -> tuple[MessagePiece, ...]:
    if node is None:
        return ()
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return (MessagePiece(node.value),)
    if isinstance(node, ast.JoinedStr):
        pieces: list[MessagePiece] = []
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(MessagePiece(value.value))
            elif isinstance(value, ast.FormattedValue):
                pieces.append(MessagePiece(ast.unparse(value.value), is_expression=True))
        return tuple(pieces)
    if _is_literal(node):
        return (MessagePiece(str(ast.literal_eval(node))),)
    return ()


_GOT = re.compile(r"[\s,;:(-]*\bgot\b", re.IGNORECASE)
_CLAUSE_END = re.compile(r"[;.)]\s*")


def _without_got(pieces: tuple[MessagePiece, ...]) -> tuple[MessagePiece, ...]:
    """``pieces`` without their "got …" clause: from the word "got" to the end of the
    clause (the next ``;``, ``.`` or ``)`` after the placeholder that follows it, or the end).
    """
    for index, piece in enumerate(pieces):
        found = None if piece.is_expression else _GOT.search(piece.text)
        if found is None:
            continue
        kept = [*pieces[:index], MessagePiece(piece.text[: found.start()])]
        rest = [MessagePiece(piece.text[found.end() :]), *pieces[index + 1 :]]
        seen_value = False
        for position, later in enumerate(rest):
            if later.is_expression:
                seen_value = True
                continue
            end = _CLAUSE_END.search(later.text) if seen_value or position else None
            if end is not None:
                tail = later.text[end.end() :]
                return (*kept, MessagePiece(" " + tail if tail else ""), *rest[position + 1 :])
        return tuple(kept)
    return pieces


def render_message(
    pieces: tuple[MessagePiece, ...], observed_source: str, got: str, *, drop_got: bool = False
) -> str:
    """The author's message, rendered by the parent (never by the child).

    An f-string placeholder naming the observed expression shows the observed value
    (``got``, already rendered by the parent); any other placeholder shows ``…``. With
    ``drop_got`` the author's own "got …" clause is left out (the verdict's text already
    says what the learner's code gave, or that it gave nothing), so "got" appears once.
    """
    parts = []
    for piece in _without_got(pieces) if drop_got else pieces:
        if not piece.is_expression:
            parts.append(piece.text)
        elif piece.text == observed_source:
            parts.append(got)
        else:
            parts.append("…")
    return " ".join("".join(parts).split()).strip(" ,;:")


def _thunk(expr: ast.expr) -> ast.Lambda:
    return ast.Lambda(
        args=ast.arguments(
            posonlyargs=[],
            args=[],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        ),
        body=expr,
    )


def _call(name: str, *args: ast.expr) -> ast.Expr:
    return ast.Expr(ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=list(args), keywords=[]))


def _observe_args(node: ast.Call) -> tuple[ast.expr, ast.expr] | None:
    func = node.func
    named = (isinstance(func, ast.Name) and func.id == "observe") or (
        isinstance(func, ast.Attribute) and func.attr == "observe"
    )
    if not named:
        return None
    args = list(node.args)
    keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg is not None}
    if len(node.keywords) != len(keywords) or any(isinstance(a, ast.Starred) for a in args):
        return None
    for name in ("label", "value"):
        if name in keywords:
            args.append(keywords.pop(name))
    if keywords or len(args) != 2:
        return None
    return args[0], args[1]


class _Rewriter(ast.NodeTransformer):
    def __init__(self, checks: dict[int, AssertCheck], mode: Mode):
        self.checks = checks
        self.mode = mode

    def visit_Assert(self, node: ast.Assert) -> ast.stmt | list[ast.stmt]:
        check = self.checks[id(node)]
        test = node.test
        if check.compare == "truth":
            return ast.copy_location(_call(TRUTH_FN, ast.Constant(check.key), _thunk(test)), node)
        assert isinstance(test, ast.Compare)
        left, right = test.left, test.comparators[0]
        observed, expected = (right, left) if _swap(left, right) else (left, right)
        statements: list[ast.stmt] = [_call(ASSERT_FN, ast.Constant(check.key), _thunk(observed))]
        if self.mode == REFERENCE:
            statements.append(_call(EXPECT_FN, ast.Constant(check.key), _thunk(expected)))
        return [ast.copy_location(s, node) for s in statements]

    def visit_Call(self, node: ast.Call) -> ast.expr:
        self.generic_visit(node)
        found = _observe_args(node)
        if found is None:
            return node
        label, value = found
        return ast.copy_location(
            ast.Call(
                func=ast.Name(id=OBSERVE_FN, ctx=ast.Load()),
                args=[label, _thunk(value)],
                keywords=[],
            ),
            node,
        )


def _swap(left: ast.expr, right: ast.expr) -> bool:
    return _is_literal(left) and not _is_literal(right)


def _is_equality(test: ast.expr) -> bool:
    return isinstance(test, ast.Compare) and len(test.ops) == 1 and isinstance(test.ops[0], ast.Eq)


def _isolate(statement: ast.stmt) -> ast.stmt:
    """``try: statement`` / ``except BaseException as e: __cc_statement_error__(e, LINE)``."""
    if isinstance(statement, ast.ImportFrom) and statement.module == "__future__":
        return statement
    handler = ast.ExceptHandler(
        type=ast.Name(id="BaseException", ctx=ast.Load()),
        name="__cc_exc__",
        body=[
            _call(
                STATEMENT_ERROR_FN,
                ast.Name(id="__cc_exc__", ctx=ast.Load()),
                ast.Constant(statement.lineno),
            )
        ],
    )
    return ast.copy_location(
        ast.Try(body=[statement], handlers=[handler], orelse=[], finalbody=[]), statement
    )


_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _bound_and_read(statement: ast.stmt) -> tuple[set[str], set[str]]:
    """Names one top-level statement binds in the cell's scope, and every name it reads
    (anywhere, nested scopes included: a lambda may read a name later)."""
    read = {
        node.id
        for node in ast.walk(statement)
        if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Store)
    }
    read |= {
        node.target.id
        for node in ast.walk(statement)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name)
    }
    bound: set[str] = set()
    stack: list[ast.AST] = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
            stack.extend(node.decorator_list)
            continue
        if isinstance(node, (ast.Lambda, *_COMPREHENSIONS)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.Global, ast.Nonlocal)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            bound.add(node.target.id)
        stack.extend(ast.iter_child_nodes(node))
    return bound, read


def names_to_forget(tree: ast.Module) -> list[str]:
    """The names a test cell assigns before it reads them, in first-assigned order.

    These are what the cell clears before it runs: whatever they held came from earlier
    cells (a worked example's ``got``), never from this test's run of the learner's code.
    """
    seen: set[str] = set()
    forget: list[str] = []
    for statement in tree.body:
        bound, read = _bound_and_read(statement)
        forget.extend(sorted(bound - read - seen))
        seen |= bound | read
    return [name for name in forget if not name.startswith("__")]


def _forget(names: list[str]) -> list[ast.stmt]:
    """``globals().pop(NAME, None)`` for each name (no-op when it is not bound)."""
    return [
        ast.Expr(
            ast.Call(
                func=ast.Attribute(
                    value=ast.Call(
                        func=ast.Name(id="globals", ctx=ast.Load()), args=[], keywords=[]
                    ),
                    attr="pop",
                    ctx=ast.Load(),
                ),
                args=[ast.Constant(name), ast.Constant(None)],
                keywords=[],
            )
        )
        for name in names
    ]


def _boolean_value(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return True
    if isinstance(node, (ast.Compare, ast.BoolOp)):
        return True
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return True
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id
        in ("isinstance", "issubclass", "callable", "hasattr", "bool", "all", "any")
    )


def _weights(cell: Cell) -> dict[str, float]:
    course = cell.metadata.get("context_course", {})
    raw = course.get("weights", {}) if isinstance(course, dict) else {}
    if not isinstance(raw, dict):
        raise GradingError(
            f"test cell {cell.grade_id or cell.id}: metadata.context_course.weights must be "
            "an object mapping check labels to positive numbers",
            part=cell.grade_id,
        )
    weights: dict[str, float] = {}
    for key, value in raw.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise GradingError(
                f"test cell {cell.grade_id or cell.id}: weight of {key!r} must be a positive "
                "number",
                part=cell.grade_id,
            )
        weights[str(key)] = float(value)
    return weights


def _single_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plan_test_cell(cell: Cell) -> TestCellPlan:
    """Extract a test cell's checks and rewrite its code for learner and reference runs."""
    name = cell.grade_id or cell.id or f"cell {cell.index + 1}"
    try:
        tree = ast.parse(cell.source)
    except SyntaxError as exc:
        raise GradingError(
            f"test cell {name} is not valid Python (line {exc.lineno}: {exc.msg}); the grader "
            "only runs plain Python in test cells",
            part=cell.grade_id,
        ) from None
    hidden = hidden_line_ranges(cell.source)
    asserts = sorted(
        (node for node in ast.walk(tree) if isinstance(node, ast.Assert)),
        key=lambda n: (n.lineno, n.col_offset),
    )
    checks: dict[int, AssertCheck] = {}
    labels_seen: set[str] = set()
    for number, node in enumerate(asserts, start=1):
        in_hidden = any(lo <= node.lineno <= hi for lo, hi in hidden)
        equal = _is_equality(node.test)
        observed = node.test
        if equal:
            assert isinstance(node.test, ast.Compare)
            left, right = node.test.left, node.test.comparators[0]
            observed = right if _swap(left, right) else left
        if in_hidden:
            label = f"hidden assert {number}"
        else:
            label = _single_line(ast.unparse(node.test))
            if label in labels_seen:
                label = f"{label} (assert {number})"
        labels_seen.add(label)
        checks[id(node)] = AssertCheck(
            key=f"assert {number}",
            label=label,
            kind="hidden" if in_hidden else "visible",
            compare="equal" if equal else "truth",
            observed_source=ast.unparse(observed),
            message=() if in_hidden else _message_pieces(node.msg),
        )
    probe_labels: list[str] = []
    boolean_labels: list[str] = []
    for call in ast.walk(tree):
        if isinstance(call, ast.Call):
            found = _observe_args(call)
            if found and isinstance(found[0], ast.Constant) and isinstance(found[0].value, str):
                probe_labels.append(found[0].value)
                if _boolean_value(found[1]):
                    boolean_labels.append(found[0].value)
    codes: dict[Mode, str] = {}
    for mode in (LEARNER, REFERENCE):
        fresh = ast.parse(cell.source)
        fresh_asserts = sorted(
            (n for n in ast.walk(fresh) if isinstance(n, ast.Assert)),
            key=lambda n: (n.lineno, n.col_offset),
        )
        by_node = {
            id(new): checks[id(old)] for new, old in zip(fresh_asserts, asserts, strict=True)
        }
        forget = _forget(names_to_forget(fresh))
        rewritten = _Rewriter(by_node, mode).visit(fresh)
        assert isinstance(rewritten, ast.Module)
        body = [_isolate(statement) for statement in rewritten.body]
        future = [s for s in body if isinstance(s, ast.ImportFrom) and s.module == "__future__"]
        rewritten.body = [*future, *forget, *(s for s in body if s not in future)]
        codes[mode] = ast.unparse(ast.fix_missing_locations(rewritten))
    lines = {
        statement.lineno: TestLine(
            line=statement.lineno,
            source=_single_line(ast.unparse(statement).splitlines()[0], 60),
            hidden=any(lo <= statement.lineno <= hi for lo, hi in hidden),
        )
        for statement in tree.body
    }
    source_lines = cell.source.splitlines()
    hidden_source = "\n".join("\n".join(source_lines[lo - 1 : hi]) for lo, hi in hidden)
    return TestCellPlan(
        grade_id=cell.grade_id,
        points=cell.points,
        asserts=tuple(checks[id(node)] for node in asserts),
        static_probe_labels=tuple(probe_labels),
        boolean_probe_labels=tuple(boolean_labels),
        weights=_weights(cell),
        learner_code=codes[LEARNER],
        reference_code=codes[REFERENCE],
        lines=lines,
        hidden_source=hidden_source,
    )
