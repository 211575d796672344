""" "Check my work" in the notebook: visible tests against the live kernel, instantly.

A course notebook ends each graded part with one locked cell::

    from context_course.checkpanel import check_panel
    check_panel()

and may end with ``check_notebook()`` for the whole notebook and the course progress.
``check_panel()`` covers the graded parts between the previous check cell and itself
(``check_panel("part1-tests")`` names a part explicitly; with no part to cover it checks
the whole notebook). Pressing **Check my work** runs those parts' visible tests against
the learner's live kernel with the grader's own check definitions and verdict
(:mod:`grader.core.localcheck`) and shows a per-part table (✓/✗ and the message); hints
(``context_course.hints`` in the test cell's metadata) unlock one at a time; a progress
line shows the parts passing across the course and the certificate level within reach.
Results are saved in the workspace's progress file.

Displaying the panel runs nothing. Where no frontend draws widgets (nbclient, the
grader's sandbox, a terminal) the panel is a plain-text summary (:func:`grader.child.widgets.show`).
"""

from __future__ import annotations

import contextlib
import html
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets  # type: ignore[import-untyped]

from context_course.progress import course_progress, hints_unlocked, record_results, unlock_hint
from context_course.workspace import STATE_DIR, WorkspaceError, notebook_number, open_workspace
from grader.child.widgets import show
from grader.core.errors import GradingError
from grader.core.localcheck import HIDDEN_NOTE, LocalChecks, PartInfo, load_checks, run_part_live
from grader.core.results import CheckResult, PartResult

__all__ = ["BUTTON_LABEL", "CheckPanel", "check_notebook", "check_panel", "locate_notebook"]

#: The button's text (the browser test and the docs refer to it).
BUTTON_LABEL = "Check my work"
SUBMIT_LABEL = "Submit"
_CHECK_CALLS = ("check_panel(", "check_notebook(")


@dataclass(frozen=True)
class NotebookPlace:
    """Where the running notebook is: its file, its checks and its workspace (if any)."""

    slug: str
    path: Path
    checks: LocalChecks
    workspace_root: Path | None


def _workspace_of(folder: Path) -> Path | None:
    for candidate in (folder, *folder.parents):
        if (candidate / STATE_DIR / "workspace.json").is_file():
            return candidate
    return None


def _notebook_file(notebook: str | Path | None) -> Path | None:
    if notebook is not None:
        path = Path(notebook)
        if path.suffix != ".ipynb":
            path = Path.cwd() / f"{path.name}.ipynb"
        return path.resolve()
    session = os.environ.get("JPY_SESSION_NAME", "")
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session).resolve()
    here = Path.cwd()
    own = here / f"{here.name}.ipynb"
    if own.is_file():
        return own.resolve()
    found = sorted(here.glob("*.ipynb"))
    return found[0].resolve() if len(found) == 1 else None


def locate_notebook(notebook: str | Path | None = None) -> NotebookPlace:
    """Find the running notebook and load its visible checks.

    ``notebook`` may name it (a path or a slug); otherwise JupyterLab's
    ``JPY_SESSION_NAME``, then the kernel's working folder, tell. In a workspace the
    checks come from the untouched release copy, so they cannot be edited away.
    Raises :class:`WorkspaceError` when the notebook cannot be found or read.
    """
    path = _notebook_file(notebook)
    if path is None or not path.is_file():
        raise WorkspaceError(
            "cannot tell which notebook this is; call check_panel(notebook='NN-slug.ipynb')"
        )
    slug = path.stem
    root = _workspace_of(path.parent)
    definitions = path
    if root is not None:
        try:
            pristine = open_workspace(root).pristine_path(slug)
        except WorkspaceError:
            pristine = path
        definitions = pristine if pristine.is_file() else path
    try:
        checks = load_checks(definitions)
    except GradingError as exc:
        raise WorkspaceError(f"cannot read the checks of {slug}: {exc.message}") from None
    return NotebookPlace(slug=slug, path=path, checks=checks, workspace_root=root)


def _calling_cell_id() -> str | None:
    """The id of the cell being executed, as JupyterLab sends it (``metadata.cellId``)."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython ships with ipykernel
        return None
    shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    get_parent = getattr(kernel, "get_parent", None)
    if get_parent is None:
        return None
    try:
        parent = get_parent("shell")
    except TypeError:
        parent = get_parent()
    metadata = parent.get("metadata", {}) if isinstance(parent, dict) else {}
    cell_id = metadata.get("cellId") if isinstance(metadata, dict) else None
    return cell_id if isinstance(cell_id, str) else None


def parts_for_cell(checks: LocalChecks, cell_id: str | None) -> list[str]:
    """The parts a ``check_panel()`` in cell ``cell_id`` covers (all if it cannot tell)."""
    ids = [cell.id for cell in checks.plan.cells]
    if cell_id is None or cell_id not in ids:
        return list(checks.parts)
    here = ids.index(cell_id)
    previous = None
    for cell in reversed(checks.plan.cells[:here]):
        if cell.cell_type == "code" and any(call in cell.source for call in _CHECK_CALLS):
            previous = cell.id
            break
    return checks.parts_between(previous, cell_id) or list(checks.parts)


# --------------------------------------------------------------------------- rendering


def _mark(passed: bool) -> str:
    return "✓" if passed else "✗"


def _part_passed(result: PartResult) -> bool:
    return bool(result.checks) and all(check.passed for check in result.checks)


def _check_row(check: CheckResult) -> str:
    colour = "#1a7f37" if check.passed else "#cf222e"
    message = html.escape(check.message) if check.message else ("passed" if check.passed else "")
    return (
        f'<tr><td style="color:{colour};font-weight:bold;padding:2px 8px">{_mark(check.passed)}'
        f'</td><td style="padding:2px 8px"><code>{html.escape(check.label)}</code></td>'
        f'<td style="padding:2px 8px">{message}</td></tr>'
    )


def render_results(parts: Mapping[str, PartInfo], results: Sequence[PartResult]) -> str:
    """The per-part table as HTML."""
    blocks: list[str] = []
    for result in results:
        info = parts.get(result.grade_id)
        title = html.escape(info.title if info else result.grade_id)
        passed = _part_passed(result)
        count = sum(c.passed for c in result.checks)
        colour = "#1a7f37" if passed else "#cf222e"
        head = (
            f'<div style="margin-top:6px"><b style="color:{colour}">{_mark(passed)} {title}</b>'
            f" — {count} of {len(result.checks)} visible checks passed"
        )
        if result.message:
            head += f"<br><i>{html.escape(result.message)}</i>"
        rows = "".join(_check_row(check) for check in result.checks)
        blocks.append(f'{head}</div><table style="border-collapse:collapse">{rows}</table>')
    blocks.append(f'<div style="margin-top:6px;color:#57606a">{html.escape(HIDDEN_NOTE)}</div>')
    return "".join(blocks)


def results_text(parts: Mapping[str, PartInfo], results: Sequence[PartResult]) -> str:
    """The per-part table as plain text."""
    lines: list[str] = []
    for result in results:
        info = parts.get(result.grade_id)
        count = sum(c.passed for c in result.checks)
        lines.append(
            f"{_mark(_part_passed(result))} {info.title if info else result.grade_id}: "
            f"{count} of {len(result.checks)} visible checks passed"
        )
        lines.extend(
            f"  {_mark(c.passed)} {c.label}" + (f" — {c.message}" if c.message else "")
            for c in result.checks
        )
    lines.append(HIDDEN_NOTE)
    return "\n".join(lines)


def _error_result(grade_id: str, message: str) -> PartResult:
    return PartResult(
        grade_id=grade_id, points=0.0, max_points=0.0, status="error", message=message
    )


# --------------------------------------------------------------------------- the widget


class CheckPanel:
    """The widget: a button, the results table, hints and the progress line.

    ``namespace`` returns the variables the tests run against (the live kernel's).
    """

    def __init__(
        self,
        place: NotebookPlace,
        grade_ids: Sequence[str],
        namespace: Callable[[], Mapping[str, Any]],
        *,
        show_progress: bool = False,
    ) -> None:
        self.place = place
        self.grade_ids = list(grade_ids)
        self.namespace = namespace
        self.show_progress = show_progress
        self.last: list[PartResult] = []
        parts = [place.checks.parts[gid] for gid in self.grade_ids]
        names = ", ".join(part.title for part in parts) or "this notebook"
        self.header = ipywidgets.HTML(
            f"<b>{html.escape(names)}</b> · visible tests run here, against your live code"
        )
        self.button = ipywidgets.Button(
            description=BUTTON_LABEL, button_style="primary", tooltip=HIDDEN_NOTE
        )
        self.button.on_click(lambda _button: self.run())
        self.results = ipywidgets.HTML("")
        self.results.add_class("cc-check-results")
        self.hint_boxes: dict[str, ipywidgets.HTML] = {}
        hint_rows = []
        for part in parts:
            if not part.hints:
                continue
            box = ipywidgets.HTML(self._hints_html(part))
            hint_button = ipywidgets.Button(description="Show a hint")
            hint_button.on_click(lambda _button, gid=part.grade_id: self.next_hint(gid))
            self.hint_boxes[part.grade_id] = box
            hint_rows.append(ipywidgets.VBox([hint_button, box]))
        buttons = [self.button]
        self.submitted = ipywidgets.HTML("")
        self.submitted.add_class("cc-submit-status")
        if on_course_hub():
            # On the course hub the notebook's saved file goes to the course service with
            # this server's hub token: the hub, not the notebook, says who submits.
            submit = ipywidgets.Button(
                description=SUBMIT_LABEL,
                button_style="success",
                tooltip="Send the saved notebook for grading (save first: Ctrl+S)",
            )
            submit.on_click(lambda _button: self.submit())
            buttons.append(submit)
        self.progress = ipywidgets.HTML(self._progress_html() if show_progress else "")
        self.progress.add_class("cc-check-progress")
        self.widget = ipywidgets.VBox(
            [
                self.header,
                ipywidgets.HBox(buttons),
                self.results,
                self.submitted,
                *hint_rows,
                self.progress,
            ],
            layout=ipywidgets.Layout(
                border="1px solid #d0d7de", padding="6px 10px", margin="4px 0"
            ),
        )

    # -- actions -------------------------------------------------------------------
    def run(self) -> list[PartResult]:
        """Run the visible tests of the panel's parts and show the table."""
        self.results.value = "<i>running the visible tests…</i>"
        results: list[PartResult] = []
        try:
            scope = self.namespace()
            for gid in self.grade_ids:
                try:
                    results.append(run_part_live(self.place.checks, gid, scope))
                except GradingError as exc:
                    results.append(_error_result(gid, exc.message))
        except KeyboardInterrupt:
            self.results.value = "<i>interrupted</i>"
            raise
        self.last = results
        self.results.value = render_results(self.place.checks.parts, results)
        if self.place.workspace_root is not None:
            with contextlib.suppress(OSError):  # progress is a convenience; the verdict is shown
                record_results(self.place.workspace_root, self.place.slug, results, how="widget")
            self.progress.value = self._progress_html()
        return results

    def submit(self) -> str:
        """Send the saved notebook to the course hub; the service's answer, in words."""
        from context_course.hub.client import HubClientError, hub_connection, submit_notebook

        try:
            connection = hub_connection()
            answer = submit_notebook(connection, self.place.slug, self.place.path)
        except HubClientError as exc:
            message = f"not submitted: {exc}"
        else:
            late = answer.get("late", "on time")
            message = (
                f"submitted ({late}); grading takes a few seconds: see your results at "
                f'<a href="{html.escape(connection.url)}" target="_blank">the course page</a>'
            )
            self.submitted.value = message
            return message
        self.submitted.value = html.escape(message)
        return message

    def next_hint(self, grade_id: str) -> int:
        """Unlock the next hint of a part; return how many are unlocked."""
        part = self.place.checks.parts[grade_id]
        if self.place.workspace_root is not None:
            try:
                count = unlock_hint(
                    self.place.workspace_root, self.place.slug, grade_id, len(part.hints)
                )
            except OSError:
                count = min(self._shown_hints(grade_id) + 1, len(part.hints))
        else:
            count = min(self._shown_hints(grade_id) + 1, len(part.hints))
        self.hint_boxes[grade_id].value = self._hints_html(part, count)
        return count

    # -- pieces --------------------------------------------------------------------
    def _shown_hints(self, grade_id: str) -> int:
        return int(str(self.hint_boxes[grade_id].value).count("<li>"))

    def _hints_html(self, part: PartInfo, count: int | None = None) -> str:
        if count is None:
            root = self.place.workspace_root
            count = hints_unlocked(root, self.place.slug, part.grade_id) if root else 0
        shown = part.hints[:count]
        items = "".join(f"<li>{html.escape(hint)}</li>" for hint in shown)
        left = len(part.hints) - len(shown)
        more = f"{left} more hint(s) for {html.escape(part.title)}" if left else "no more hints"
        return f"<ol>{items}</ol><small>{more}</small>" if shown else f"<small>{more}</small>"

    def _progress_html(self) -> str:
        if self.place.workspace_root is None:
            return ""
        try:
            progress = course_progress(open_workspace(self.place.workspace_root))
        except WorkspaceError:
            return ""
        text = html.escape(progress.summary())
        needs = f" · {html.escape(progress.next_needs)}" if progress.next_needs else ""
        return (
            f'<div style="margin-top:6px;color:#57606a">Course progress: {text}{needs} '
            "(if the hidden tests agree). <code>context-course progress</code> shows it all."
            "</div>"
        )

    def summary(self) -> str:
        """What a reader without widgets sees."""
        parts = ", ".join(self.place.checks.parts[gid].title for gid in self.grade_ids)
        number = notebook_number(self.place.slug)
        command = f"context-course check {number if number is not None else self.place.slug}"
        return (
            f"Check my work ({parts or 'this notebook'}): press the button in JupyterLab, "
            f"or run `{command}`. {HIDDEN_NOTE}"
        )


def on_course_hub() -> bool:
    """Whether this kernel runs in a learner's server on the course hub."""
    return bool(os.environ.get("CONTEXT_COURSE_HUB_URL") and os.environ.get("JUPYTERHUB_API_TOKEN"))


def _live_namespace() -> Mapping[str, Any]:
    from IPython import get_ipython

    shell = get_ipython()
    return shell.user_ns if shell is not None else {}


def _show_problem(message: str) -> None:
    box = ipywidgets.HTML(f"<b>Check my work is unavailable:</b> {html.escape(message)}")
    show(box, f"Check my work is unavailable: {message}")


def check_panel(part: str | None = None, *, notebook: str | Path | None = None) -> None:
    """Show a "Check my work" panel for ``part`` (default: the parts just above)."""
    try:
        place = locate_notebook(notebook)
    except WorkspaceError as exc:
        _show_problem(str(exc))
        return
    if part is not None and part not in place.checks.parts:
        known = ", ".join(place.checks.parts) or "none"
        _show_problem(f"{place.slug} has no graded part {part!r} (its parts: {known})")
        return
    grade_ids = [part] if part is not None else parts_for_cell(place.checks, _calling_cell_id())
    whole = part is None and len(grade_ids) == len(place.checks.parts)
    panel = CheckPanel(place, grade_ids, _live_namespace, show_progress=whole)
    show(panel.widget, panel.summary())


def check_notebook(*, notebook: str | Path | None = None) -> None:
    """Show a panel for every graded part of the notebook, with the course progress."""
    try:
        place = locate_notebook(notebook)
    except WorkspaceError as exc:
        _show_problem(str(exc))
        return
    panel = CheckPanel(place, list(place.checks.parts), _live_namespace, show_progress=True)
    show(panel.widget, panel.summary())
