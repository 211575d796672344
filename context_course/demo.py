"""``context-course demo``: the whole instructor journey on the course that ships with the code.

In a fresh folder (default ``./context-course-demo/``) the demo:

1. writes a ``course.toml`` that points at the shipped course's notebooks, with short
   timeouts, a SQLite gradebook and demo issuer keys *inside the folder* (never the
   instructor's real keys);
2. makes four synthetic learners' submission zips with the same
   :func:`~grader.pipeline.manifest.build_submission_zip` that ``context-course submit`` uses:
   **ada** solved everything (the reference answers), **grace** solved half the course,
   **alan** handed in the notebooks untouched, **mallory** is hostile (an object that
   claims to equal anything, and an early exit of the process);
3. grades them with the real pipeline (:func:`~grader.pipeline.batch.grade_submissions`: intake,
   sandbox, verdict, gradebook, feedback pages, ``grades.csv``) and writes the class
   report;
4. issues the certificates they earned
   (:func:`~context_course.gradebook_scores.certify_gradebook`: PDF, HTML, baked PNG and
   SVG, credential JSON and VC-JWT) and publishes the issuer site
   (:func:`~certificates.site.publish_site`: DID document, profile, revocation list);
5. verifies one certificate against the published site, as anyone would.

The folder is then an ordinary course folder: ``context-course report --course DIR``,
``certify --course DIR`` and ``verify`` work on it.
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
from rich.console import Console
from rich.markup import escape

from certificates.check import verify_against_site
from certificates.errors import CertificateError
from certificates.issue import Outcome
from certificates.render import renderer_problem
from certificates.settings import PLACEHOLDER_ISSUER_URL, CertificateSettings
from certificates.site import publish_site
from certificates.verify import Verdict
from context_course.errors import ContextCourseError
from context_course.gradebook_scores import certify_gradebook
from context_course.workspace import shipped_course_root
from grader.pipeline.batch import BatchSummary, grade_submissions
from grader.pipeline.catalog import load_catalog
from grader.pipeline.config import COURSE_FILE, Course, CourseConfigError, load_course
from grader.pipeline.errors import PipelineError
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.manifest import LearnerInfo, build_submission_zip
from grader.pipeline.report import write_class_report

__all__ = [
    "DEFAULT_OUT",
    "LEARNERS",
    "DemoError",
    "DemoLearner",
    "DemoResult",
    "learner_notebook",
    "run_demo",
    "write_submissions",
]

DEFAULT_OUT = "context-course-demo"
_MARKER = ".context-course-demo"
_STUB = re.compile(r"^(?P<indent>[ \t]*)raise NotImplementedError\(\)[ \t]*$", re.MULTILINE)

HOSTILE_PRELUDE = '''\
class AlwaysEqual:
    """Claims to equal anything: the oldest trick against assert-based graders."""

    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False

    def __hash__(self):
        return 0

'''


class DemoError(ContextCourseError):
    """The demo cannot run (no instructor course shipped, an unusable output folder)."""


@dataclass(frozen=True)
class DemoLearner:
    """A synthetic learner: who they are and how they answer a notebook."""

    info: LearnerInfo
    story: str
    answers: Callable[[int, int], str]  # (notebook number, part index) -> "solve"|"skip"|"hostile"


def _all(_nb: int, _part: int) -> str:
    return "solve"


def _none(_nb: int, _part: int) -> str:
    return "skip"


def _half(nb: int, part: int) -> str:
    return "solve" if nb <= 4 or (nb == 5 and part == 0) else "skip"


def _hostile(_nb: int, _part: int) -> str:
    return "hostile"


LEARNERS: tuple[DemoLearner, ...] = (
    DemoLearner(LearnerInfo("ada", "Ada Lovelace", "ada@example.org"), "solved everything", _all),
    DemoLearner(
        LearnerInfo("grace", "Grace Hopper", "grace@example.org"),
        "solved notebooks 01–04 and part of 05",
        _half,
    ),
    DemoLearner(
        LearnerInfo("alan", "Alan Turing", "alan@example.org"),
        "handed in the notebooks untouched",
        _none,
    ),
    DemoLearner(
        LearnerInfo("mallory", "Mallory Hostile", "mallory@example.org"),
        "hostile: always-equal objects and an early exit",
        _hostile,
    ),
)


@dataclass
class DemoResult:
    """Where everything went, and what happened."""

    out: Path
    summary: BatchSummary
    outcomes: list[Outcome]
    verdict: Verdict | None
    verified: Path | None
    seconds: float
    paths: dict[str, Path] = field(default_factory=dict)

    def scores(self) -> dict[str, float]:
        """Each learner's total score (graded notebooks)."""
        totals: dict[str, float] = {}
        for item in self.summary.items:
            totals[item.learner_id] = totals.get(item.learner_id, 0.0) + item.score
        return totals


# --------------------------------------------------------------------------- course folder


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise DemoError(f"cannot write {type(value).__name__} to course.toml")


def _issuer_url(section: Mapping[str, Any]) -> str:
    return str(section.get("issuer_url") or section.get("issuer_id") or PLACEHOLDER_ISSUER_URL)


def _course_toml(shipped: Course, *, cell_timeout: float, notebook_timeout: float) -> str:
    section = shipped.raw.get("certificates", {})
    section = section if isinstance(section, Mapping) else {}
    lines = [
        "# Written by `context-course demo`: a course folder over the shipped notebooks.",
        "[course]",
        f"id = {_toml_value(shipped.id)}",
        f"name = {_toml_value(shipped.name)}",
        f"version = {_toml_value(shipped.version)}",
        f"source = {_toml_value(str(shipped.source_dir))}",
        f"release = {_toml_value(str(shipped.release_dir))}",
        "",
        "[grader]",
        'db_url = "sqlite:///gradebook.db"',
        f"cell_timeout = {_toml_value(float(cell_timeout))}",
        f"notebook_timeout = {_toml_value(float(notebook_timeout))}",
        'output = "output"',
        "",
        "[certificates]",
        f"issuer_url = {_toml_value(_issuer_url(section))}",
        f"issuer_name = {_toml_value(str(section.get('issuer_name') or 'Context Course'))}",
        'key_dir = "issuer-keys"  # demo keys, kept in this folder',
        "demo = true  # the placeholder issuer URL is accepted here only",
    ]
    levels = section.get("levels")
    if isinstance(levels, Mapping):
        lines += ["", "[certificates.levels]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in levels.items()]
    return "\n".join(lines) + "\n"


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DemoError(f"{out} is a file; choose another --out folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / _MARKER).is_file():
            raise DemoError(
                f"{out} is not empty and was not made by the demo; choose another --out folder"
            )
        shutil.rmtree(out)  # a previous demo run: start afresh
    out.mkdir(parents=True, exist_ok=True)
    (out / _MARKER).write_text("made by `context-course demo`; safe to delete\n")


def _shipped_course(course_dir: Path | None) -> Course:
    root = course_dir or shipped_course_root()
    if root is None:
        raise DemoError(
            "this installation has no instructor course (solutions/; a wheel never carries "
            "them): in a clone of the course repository, pip install -e '.[instructor]'"
        )
    try:
        course = load_course(root)
    except CourseConfigError as exc:
        raise DemoError(str(exc)) from None
    if not course.source_dir.is_dir() or not course.release_dir.is_dir():
        raise DemoError(
            f"{root} lacks {course.source_dir.name}/ or {course.release_dir.name}/; the demo "
            "needs the instructor notebooks and the learner notebooks"
        )
    return course


# --------------------------------------------------------------------------- learners


def _answer_cells(nb: Any) -> list[Any]:
    return [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("solution")]


def _hostile_source(source: str, *, first: bool, last: bool, number: int) -> str:
    def replace(match: re.Match[str]) -> str:
        indent = match.group("indent")
        return f"{indent}return AlwaysEqual()" if indent else "result = AlwaysEqual()"

    body = _STUB.sub(replace, source)
    if first:
        body = HOSTILE_PRELUDE + body
    if last:
        exit_call = "os._exit(0)" if number % 2 else "raise SystemExit(0)"
        body += f"\n\nimport os\n{exit_call}  # leave before the tests can run\n"
    return body


def learner_notebook(exercise: Path, solution: Path, learner: DemoLearner, number: int) -> Any:
    """The learner notebook ``learner`` would hand in for one exercise."""
    nb = nbformat.read(str(exercise), as_version=4)  # type: ignore[no-untyped-call]
    reference = nbformat.read(str(solution), as_version=4)  # type: ignore[no-untyped-call]
    solved = {c.metadata["nbgrader"].get("grade_id"): c.source for c in _answer_cells(reference)}
    cells = _answer_cells(nb)
    for index, cell in enumerate(cells):
        choice = learner.answers(number, index)
        grade_id = cell.metadata["nbgrader"].get("grade_id")
        if choice == "solve" and grade_id in solved:
            cell.source = solved[grade_id]
        elif choice == "hostile":
            cell.source = _hostile_source(
                cell.source, first=index == 0, last=index == len(cells) - 1, number=number
            )
    return nb


def write_submissions(course: Course, out: Path) -> list[Path]:
    """Every demo learner's notebooks and submission zip; returns the zips."""
    catalog = load_catalog(course.source_dir)
    zips: list[Path] = []
    for learner in LEARNERS:
        notebooks: dict[str, Path] = {}
        for slug, source in catalog.items():
            exercise = course.release_dir / source.assignment / f"{slug}.ipynb"
            if not exercise.is_file():
                continue
            number = int(slug.split("-", 1)[0]) if slug[:2].isdigit() else 0
            nb = learner_notebook(exercise, source.path, learner, number)
            path = out / "learners" / learner.info.id / slug / f"{slug}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, str(path))  # type: ignore[no-untyped-call]
            notebooks[slug] = path
        target = out / "submissions" / f"{learner.info.id}.zip"
        build_submission_zip(
            notebooks,
            learner=learner.info,
            course_id=course.id,
            course_version=course.version,
            output=target,
            generator="context-course demo",
        )
        zips.append(target)
    return zips


# --------------------------------------------------------------------------- the demo


def run_demo(
    out: Path,
    *,
    console: Console | None = None,
    course_dir: Path | None = None,
    cell_timeout: float = 10.0,
    notebook_timeout: float = 60.0,
    workers: int | None = None,
    show_progress: bool = True,
) -> DemoResult:
    """Run the whole demo in ``out``; see the module docstring.

    Raises :class:`DemoError` for a problem found before anything runs (no instructor
    course, an output folder that holds something else) or when grading or issuing fails
    as a whole; one learner's broken notebook is part of the demo, not an error.
    """
    started = time.monotonic()
    console = console or Console(stderr=True)
    shipped = _shipped_course(course_dir)
    out = Path(out).resolve()
    _prepare_out(out)

    def step(number: int, text: str) -> None:
        console.print(f"[bold cyan][{number}/5][/] {text}")

    step(1, f"course folder {out} (over the notebooks in {shipped.root})")
    (out / COURSE_FILE).write_text(
        _course_toml(shipped, cell_timeout=cell_timeout, notebook_timeout=notebook_timeout),
        encoding="utf-8",
    )
    course = load_course(out)
    step(2, "writing submissions: " + "; ".join(f"{who.info.id} {who.story}" for who in LEARNERS))
    try:
        zips = write_submissions(course, out)
    except PipelineError as exc:
        raise DemoError(f"cannot build the demo submissions: {exc}") from None
    step(3, f"grading {len(zips)} submissions in the sandbox (timeouts {cell_timeout:g} s/cell)")
    try:
        summary = grade_submissions(
            [out / "submissions"],
            course=course,
            workers=workers,
            console=console,
            show_progress=show_progress,
        )
        catalog = load_catalog(course.source_dir)
        report = course.output_dir / "report.html"
        with GradebookStore(course.db_url(), course_id=course.id) as store:
            write_class_report(store, catalog, course_name=course.name, path=report)
    except PipelineError as exc:
        raise DemoError(f"grading failed: {exc}") from None
    step(4, "issuing the certificates they earned and publishing the issuer site")
    no_pdf = renderer_problem()
    if no_pdf is not None:
        console.print(f"  PDF and PNG skipped, HTML and credentials only: {escape(no_pdf)}")
    try:
        settings = CertificateSettings.from_course(course)
        outcomes = certify_gradebook(settings, db_url=course.db_url(), pdf=no_pdf is None)
        site = publish_site(settings)
    except CertificateError as exc:
        raise DemoError(f"issuing certificates failed: {exc}") from None
    certificates = settings.output_dir
    verdict: Verdict | None = None
    verified: Path | None = None
    issued = [o for o in outcomes if o.folder is not None and o.action in ("issued", "upgraded")]
    if issued and issued[0].folder is not None:
        verified = issued[0].folder / ("certificate.html" if no_pdf else "certificate.pdf")
        step(5, f"verifying {verified.relative_to(out)} against the published issuer site")
        try:
            verdict = verify_against_site(verified, issuer=site)
        except CertificateError as exc:
            raise DemoError(f"the issuer site cannot be read: {exc}") from None
    else:
        step(5, "no certificate to verify (nobody reached a level)")
    return DemoResult(
        out=out,
        summary=summary,
        outcomes=outcomes,
        verdict=verdict,
        verified=verified,
        seconds=time.monotonic() - started,
        paths={
            "course.toml": out / COURSE_FILE,
            "submissions": out / "submissions",
            "gradebook": out / "gradebook.db",
            "grades.csv": course.output_dir / "grades.csv",
            "feedback pages": course.output_dir / "feedback",
            "class report": report,
            "certificates": certificates,
            "issuer site": site,
        },
    )
