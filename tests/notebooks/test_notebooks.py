"""Every course notebook, source and learner version: structure, metadata and behaviour.

Parametrised over ``solutions/*/*.ipynb``, so a new notebook is covered as soon as it
exists. Static checks read the JSON; the ``slow`` checks execute notebooks with nbclient
(each source once, each learner version once; a second source run checks determinism).
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from grader.authoring.release import build_release, find_leaks

ROOT = Path(__file__).resolve().parents[2]
SOURCES = sorted(ROOT.glob("solutions/*/*.ipynb"))
IDS = [path.parent.name for path in SOURCES]
by_source = pytest.mark.parametrize("path", SOURCES, ids=IDS)

_GRADE_ID = re.compile(r"[A-Za-z0-9_-]+")
_OBSERVED = re.compile(r"""^observed ('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"): (.*)$""")
_SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
_HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")


# ----------------------------------------------------------------------------- helpers


def read(path: Path) -> Any:
    return nbformat.read(path, as_version=4)


def nbgrader(cell: Any) -> dict[str, Any]:
    meta = cell.metadata.get("nbgrader")
    return meta if isinstance(meta, dict) else {}


def role(cell: Any) -> str:
    """``test``, ``answer``, ``locked``, ``plain`` (or ``manual`` / ``odd`` for mistakes)."""
    meta = nbgrader(cell)
    if not meta:
        return "plain"
    grade, solution = meta.get("grade") is True, meta.get("solution") is True
    if grade and solution:
        return "manual"
    if grade:
        return "test"
    if solution:
        return "answer"
    return "locked" if meta.get("locked") is True else "odd"


def split_regions(source: str, begin: str, end: str) -> tuple[str, str]:
    """(text outside the ``begin``/``end`` regions, text inside them)."""
    outside: list[str] = []
    inside: list[str] = []
    within = False
    for line in source.split("\n"):
        if line.strip() == begin:
            within = True
        elif line.strip() == end:
            within = False
        else:
            (inside if within else outside).append(line)
    return "\n".join(outside), "\n".join(inside)


def graded_cells(nb: Any) -> list[Any]:
    return [cell for cell in nb.cells if role(cell) == "test"]


def observed_labels(cell: Any) -> list[str]:
    """Labels of the ``observe`` lines a cell printed (the author-mode sink prints them)."""
    labels = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream" and output.get("name") == "stdout":
            for line in output.text.splitlines():
                match = _OBSERVED.match(line)
                if match:
                    labels.append(ast.literal_eval(match.group(1)))
    return labels


def observed_lines(cell: Any) -> list[str]:
    return [
        line
        for output in cell.get("outputs", [])
        if output.get("output_type") == "stream"
        for line in output.text.splitlines()
        if _OBSERVED.match(line)
    ]


def execute(path: Path, *, allow_errors: bool) -> Any:
    nb = read(path)
    # The notebook's cell limit is a grading policy; these tests check content, so they
    # wait ten times as long (a loaded machine must not turn into a failing notebook).
    timeout = 10 * nb.metadata.get("context_course", {}).get("cell_timeout", 30)
    client = NotebookClient(
        nb,
        timeout=timeout,
        startup_timeout=300,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


@functools.cache
def executed_source(path: Path) -> Any:
    return execute(path, allow_errors=False)


@functools.cache
def released() -> dict[str, bytes]:
    return build_release(ROOT / "solutions")


def learner_path(path: Path) -> Path:
    return ROOT / "exercises" / path.relative_to(ROOT / "solutions")


# ----------------------------------------------------------------------------- structure


def test_the_course_has_source_notebooks() -> None:
    assert IDS, "no solutions/*/*.ipynb found"
    assert all(path.stem == path.parent.name for path in SOURCES), (
        "each notebook is solutions/NN-slug/NN-slug.ipynb"
    )


@by_source
def test_is_valid_nbformat_45_with_python3_kernel_and_unique_cell_ids(path: Path) -> None:
    nb = read(path)
    nbformat.validate(nb)
    assert (nb.nbformat, nb.nbformat_minor) >= (4, 5)
    assert nb.metadata["kernelspec"]["name"] == "python3"
    ids = [cell.id for cell in nb.cells]
    assert len(ids) == len(set(ids)), f"duplicate cell ids: {sorted(ids)}"


@by_source
def test_no_outputs_are_committed(path: Path) -> None:
    with_outputs = [
        cell.id
        for cell in read(path).cells
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert with_outputs == [], f"clear the outputs of {with_outputs}"


@by_source
def test_points_sum_to_100_over_4_to_6_graded_parts(path: Path) -> None:
    tests = graded_cells(read(path))
    points = [nbgrader(cell).get("points") for cell in tests]
    assert all(isinstance(p, int | float) and p > 0 for p in points), points
    assert sum(points) == 100, f"points {points} sum to {sum(points)}"
    assert 4 <= len(tests) <= 6, f"{len(tests)} graded parts"


@by_source
def test_every_cell_has_the_right_nbgrader_metadata(path: Path) -> None:
    nb = read(path)
    problems: list[str] = []
    grade_ids: list[str] = []
    for cell in nb.cells:
        meta, kind, name = nbgrader(cell), role(cell), cell.id
        has_solution = _SOLUTION[0] in cell.source
        has_hidden = _HIDDEN[0] in cell.source
        if meta:
            grade_id = meta.get("grade_id", "")
            grade_ids.append(grade_id)
            if meta.get("schema_version") != 3:
                problems.append(f"{name}: schema_version must be 3")
            if not _GRADE_ID.fullmatch(str(grade_id)):
                problems.append(f"{name}: bad grade_id {grade_id!r}")
            if not all(isinstance(meta.get(k), bool) for k in ("grade", "solution", "locked")):
                problems.append(f"{name}: grade, solution and locked must be booleans")
            if ("points" in meta) != (kind == "test"):
                problems.append(f"{name}: points belong on test cells only")
        if kind in ("manual", "odd"):
            problems.append(f"{name}: {kind} cell (neither answer, test nor locked)")
        if kind == "answer" and (meta.get("locked") or cell.cell_type != "code"):
            problems.append(f"{name}: answer cells are unlocked code cells")
        if kind == "test" and not (meta.get("locked") and cell.cell_type == "code"):
            problems.append(f"{name}: test cells are locked code cells")
        if has_solution != (kind == "answer"):
            problems.append(f"{name}: solution regions belong in answer cells, and vice versa")
        if has_hidden != (kind == "test"):
            problems.append(f"{name}: hidden tests belong in test cells, and vice versa")
    if len(grade_ids) != len(set(grade_ids)):
        problems.append(f"duplicate grade_ids: {sorted(grade_ids)}")
    setup = next(cell for cell in nb.cells if cell.cell_type == "code")
    if role(setup) != "locked" or nbgrader(setup).get("grade_id") != "setup":
        problems.append("the first code cell is the locked 'setup' cell")
    assert problems == []


@by_source
def test_each_graded_part_is_an_answer_cell_then_its_test_cell(path: Path) -> None:
    kinds = [role(cell) for cell in read(path).cells if role(cell) in ("answer", "test")]
    assert kinds[0] == "answer" and kinds[-1] == "test", kinds
    for before, after in itertools.pairwise(kinds):
        assert (before, after) != ("test", "test"), f"a test cell without an answer: {kinds}"


@by_source
def test_test_cells_have_visible_asserts_with_messages_and_hidden_probes(path: Path) -> None:
    for cell in graded_cells(read(path)):
        visible, hidden = split_regions(cell.source, *_HIDDEN)
        asserts = [n for n in ast.parse(visible).body if isinstance(n, ast.Assert)]
        assert asserts, f"{cell.id}: needs at least one top-level visible assert"
        messages = [n for n in ast.walk(ast.parse(visible)) if isinstance(n, ast.Assert)]
        assert all(n.msg is not None for n in messages), f"{cell.id}: every assert needs a message"
        probes = [
            n
            for n in ast.walk(ast.parse(hidden))
            if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "observe"
        ]
        assert probes, f"{cell.id}: needs at least one hidden observe(...) probe"
        assert "observe(" not in visible, f"{cell.id}: observe belongs in the hidden region"


@by_source
def test_notebook_settings_are_well_formed(path: Path) -> None:
    settings = read(path).metadata.get("context_course", {})
    assert set(settings) <= {"forbidden_imports", "cell_timeout", "float_tolerance", "traps"}, (
        settings
    )
    assert all(isinstance(m, str) for m in settings.get("forbidden_imports", []))
    assert isinstance(settings.get("cell_timeout", 30), int | float)
    assert isinstance(settings.get("float_tolerance", 1e-9), int | float)


@by_source
def test_each_graded_part_ends_with_its_check_panel_and_the_notebook_with_check_notebook(
    path: Path,
) -> None:
    cells = read(path).cells
    problems: list[str] = []
    for index, cell in enumerate(cells):
        if role(cell) != "test":
            continue
        grade_id = nbgrader(cell)["grade_id"]
        after = cells[index + 1] if index + 1 < len(cells) else None
        expected = f'from context_course.checkpanel import check_panel\ncheck_panel("{grade_id}")'
        if after is None or after.source != expected:
            problems.append(f"{grade_id}: the next cell must be {expected!r}")
        elif after.cell_type != "code" or role(after) != "locked" or nbgrader(after).get("grade"):
            problems.append(f"{after.id}: a check cell is a locked, non-graded code cell")
    finals = [cell for cell in cells if "check_notebook(" in cell.source]
    code = [cell for cell in cells if cell.cell_type == "code"]
    if len(finals) != 1 or finals[0] is not code[-1] or role(finals[0]) != "locked":
        problems.append("one locked check_notebook() cell must be the last code cell")
    assert problems == []


@by_source
def test_every_graded_part_has_two_or_three_progressive_hints(path: Path) -> None:
    for cell in graded_cells(read(path)):
        hints = cell.metadata.get("context_course", {}).get("hints")
        assert isinstance(hints, list) and 2 <= len(hints) <= 3, f"{cell.id}: hints {hints!r}"
        assert all(isinstance(h, str) and len(h.strip()) > 20 for h in hints), cell.id
        assert len(set(hints)) == len(hints), f"{cell.id}: repeated hints"


# ----------------------------------------------------------------------------- learner versions


@by_source
def test_learner_version_is_up_to_date(path: Path) -> None:
    rel = path.relative_to(ROOT / "solutions").as_posix()
    target = learner_path(path)
    assert target.is_file(), f"exercises/{rel} is missing; run `context-course release`"
    assert target.read_bytes() == released()[rel], (
        f"exercises/{rel} is out of date; run `context-course release`"
    )


@by_source
def test_learner_version_leaks_no_solution_or_hidden_test(path: Path) -> None:
    target = learner_path(path)
    assert target.is_file(), f"{target} is missing; run `context-course release`"
    assert [str(p) for p in find_leaks(read(path), read(target), str(target))] == []


@by_source
def test_learner_version_keeps_no_trap_or_weight_settings(path: Path) -> None:
    source, learner = read(path), read(learner_path(path))
    weighted = [c.id for c in source.cells if "weights" in c.metadata.get("context_course", {})]
    kept = ["notebook traps"] if "traps" in learner.metadata.get("context_course", {}) else []
    kept += [c.id for c in learner.cells if "weights" in c.metadata.get("context_course", {})]

    assert source.metadata["context_course"]["traps"] and weighted, "the source declares them"
    assert kept == [], "grading configuration stays with the instructor"


# ----------------------------------------------------------------------------- execution


@pytest.mark.slow
@by_source
def test_source_runs_clean_and_probes_are_labelled_uniquely(path: Path) -> None:
    nb = executed_source(path)
    for cell in graded_cells(nb):
        labels = observed_labels(cell)
        visible, _ = split_regions(cell.source, *_HIDDEN)
        asserts = sum(isinstance(n, ast.Assert) for n in ast.parse(visible).body)
        assert labels, f"{cell.id}: the hidden probes observed nothing"
        assert len(labels) == len(set(labels)), f"{cell.id}: duplicate labels {labels}"
        assert len(labels) > asserts, (
            f"{cell.id}: {len(labels)} hidden probes vs {asserts} visible asserts; "
            "hidden checks must be worth most of the points"
        )


@pytest.mark.slow
@by_source
def test_source_observes_the_same_values_on_every_run(path: Path) -> None:
    first = [observed_lines(cell) for cell in graded_cells(executed_source(path))]
    second = [observed_lines(cell) for cell in graded_cells(execute(path, allow_errors=False))]
    assert first == second


@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    [p for p in SOURCES if "tempfile" in p.read_text("utf-8")],
    ids=[p.parent.name for p in SOURCES if "tempfile" in p.read_text("utf-8")],
)
def test_a_run_leaves_no_temporary_folder_behind(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's tempfile.gettempdir()
    execute(path, allow_errors=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.slow
@by_source
def test_learner_version_fails_only_where_learners_write_code(path: Path) -> None:
    assert learner_path(path).is_file(), "run `context-course release`"
    nb = execute(learner_path(path), allow_errors=True)
    seen_answer = False
    unexpected: list[str] = []
    failing_tests: list[str] = []
    for cell in nb.cells:
        kind = role(cell)
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        if kind == "answer":
            seen_answer = True
        if not errors:
            continue
        ename = errors[0].ename
        if kind == "answer" and ename == "NotImplementedError":
            continue
        if kind == "test" and seen_answer:
            failing_tests.append(cell.id)
            continue
        unexpected.append(f"{cell.id} ({kind}) raised {ename}: {errors[0].evalue}")
    assert unexpected == []
    assert failing_tests == [cell.id for cell in graded_cells(nb)], (
        "every test cell must fail until the learner writes code"
    )
