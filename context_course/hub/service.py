"""The course service: a JupyterHub service (Hub OAuth) in front of the grading pipeline.

Identity comes only from the hub: the OAuth cookie of a browser that logged in, or the
``Authorization: token …`` header of a hub API token (a learner's single-user server has
one in ``JUPYTERHUB_API_TOKEN``; ``context-course submit --hub`` and the notebook's Submit
button send it). No request parameter names a learner for the learner routes: they act on
the caller. Groups are looked up by the service itself with its own hub token.

Started by JupyterHub as a managed service (``context-course hub up`` writes that
configuration), with the standard service environment (``JUPYTERHUB_API_TOKEN``,
``JUPYTERHUB_SERVICE_PREFIX``, ``JUPYTERHUB_SERVICE_URL`` …) plus
``CONTEXT_COURSE_DIR`` naming the course folder::

    python -m context_course.hub.service

Every route and who may use it is listed in :data:`ROUTES`; a test fails if a route has
no authorisation test.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from jupyterhub.services.auth import (  # type: ignore[import-untyped]
    HubOAuthCallbackHandler,
    HubOAuthenticated,
)
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.ioloop import IOLoop
from tornado.web import Application, HTTPError, RequestHandler, authenticated

from context_course.hub import pages
from context_course.hub.queue import SubmissionQueue
from context_course.hub.rules import HubRules, late_decision
from context_course.hub.worker import GradingWorker
from grader.pipeline.catalog import Catalog, load_catalog
from grader.pipeline.config import Course, load_course
from grader.pipeline.errors import IntakeError
from grader.pipeline.gradebook import GradebookStore
from grader.pipeline.identity import learner_dir
from grader.pipeline.manifest import IntakeLimits, check_notebook_bytes, validate_learner_id

__all__ = ["ROUTES", "CourseHub", "main", "make_app"]

#: route pattern (after the service prefix) → who may call it
ROUTES: dict[str, str] = {
    r"": "any signed-in hub user (learners see their course, instructors a link)",
    r"oauth_callback": "the hub's OAuth redirect",
    r"api/me": "any signed-in hub user",
    r"api/notebooks": "learner",
    r"api/notebooks/(?P<slug>[^/]+)\.ipynb": "learner",
    r"api/submissions": "learner",
    r"feedback/(?P<name>[^/]*)": "learner (own pages, once released)",
    r"certificate/(?P<name>[^/]+)": "learner (own certificate)",
    r"instructor": "instructor",
    r"api/class": "instructor",
    r"api/grades.csv": "instructor",
    r"api/regrade": "instructor",
    r"api/feedback/release": "instructor",
    r"api/certify": "instructor",
    r"api/revoke": "instructor",
}

_FILE_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")


class CourseHub:
    """What every handler shares: the course, its rules, the queue and the worker."""

    def __init__(self, course: Course, *, start_worker: bool = True) -> None:
        self.course = course
        self.rules = HubRules.from_course_raw(course.raw)
        self.catalog: Catalog = load_catalog(course.source_dir)
        self.queue = SubmissionQueue(course.db_url(), course.root / "hub" / "incoming")
        self.worker = GradingWorker(self.queue, course)
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._roster: tuple[float, frozenset[str]] = (0.0, frozenset())
        if start_worker:
            self.worker.start()

    def close(self) -> None:
        self.worker.stop()
        self.queue.close()

    def roster(self) -> frozenset[str]:
        stamp, ids = self._roster
        if time.monotonic() - stamp > 10:
            with GradebookStore(self.course.db_url(), course_id=self.course.id) as store:
                ids = frozenset(row.id for row in store.students())
            self._roster = (time.monotonic(), ids)
        return ids

    async def groups_of(self, name: str) -> frozenset[str]:
        """The user's hub groups, asked of the hub with the service's own token."""
        cached = self._groups.get(name)
        if cached and time.monotonic() - cached[0] < 10:
            return cached[1]
        api = os.environ["JUPYTERHUB_API_URL"].rstrip("/")
        request = HTTPRequest(
            f"{api}/users/{name}",
            headers={"Authorization": f"token {os.environ['JUPYTERHUB_API_TOKEN']}"},
        )
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        groups: frozenset[str] = frozenset()
        if response.code == 200:
            groups = frozenset(json.loads(response.body).get("groups") or ())
        self._groups[name] = (time.monotonic(), groups)
        return groups

    def learner_files(self, kind: str, learner: str) -> Path:
        """The folder of a learner's feedback pages or certificate (``kind``), through the
        same functions that write them (a learner id never names a path by itself)."""
        learner = validate_learner_id(learner)
        if kind == "feedback":
            return learner_dir(self.course.output_dir / "feedback", learner)
        from certificates.issue import learner_folder

        return learner_folder(self.course.output_dir / "certificates", learner)


class BaseHandler(HubOAuthenticated, RequestHandler):  # type: ignore[misc]
    hub: CourseHub

    def initialize(self, hub: CourseHub) -> None:
        self.hub = hub

    def check_xsrf_cookie(self) -> None:
        # Tornado checks XSRF before anything resolves the user; resolve it first, so a
        # request authenticated by a hub token (no cookie, no CSRF risk) is recognised.
        _ = self.current_user
        super().check_xsrf_cookie()

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        reason = self._reason
        exc = kwargs.get("exc_info", (None, None))[1]
        if isinstance(exc, HTTPError) and exc.log_message:
            reason = exc.log_message
        self.finish({"error": reason, "status": status_code})

    @property
    def user_name(self) -> str:
        user = self.current_user
        if not user or user.get("kind", "user") != "user":
            raise HTTPError(403, "only hub users may use the course service")
        return str(user["name"])

    async def is_instructor(self) -> bool:
        groups = await self.hub.groups_of(self.user_name)
        return self.hub.rules.instructor_group in groups

    async def require_learner(self) -> str:
        name = self.user_name
        try:
            validate_learner_id(name)
        except IntakeError:
            raise HTTPError(403, "this hub user name cannot be a learner id") from None
        if name not in self.hub.roster():
            raise HTTPError(403, f"{name} is not on this course's roster")
        group = self.hub.rules.learner_group
        if group and group not in await self.hub.groups_of(name):
            raise HTTPError(403, f"{name} is not in the hub group {group!r}")
        return name

    async def require_instructor(self) -> str:
        if not await self.is_instructor():
            raise HTTPError(403, "instructors only")
        return self.user_name


class HomeHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        name = self.user_name
        instructor = await self.is_instructor()
        learner_ok = name in self.hub.roster()
        rows = notebook_rows(self.hub, name) if learner_ok else []
        self.finish(
            pages.home(
                course_name=self.hub.course.name,
                user=name,
                instructor=instructor,
                learner=learner_ok,
                rows=rows,
                feedback_visible=feedback_visible(self.hub),
                prefix=self.hub_auth.base_url,
                xsrf=self.xsrf_form_html(),
            )
        )


class MeHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        name = self.user_name
        self.finish(
            {
                "name": name,
                "learner": name in self.hub.roster(),
                "instructor": await self.is_instructor(),
            }
        )


def feedback_visible(hub: CourseHub) -> bool:
    released = hub.queue.flag("feedback_released") == "yes"
    return hub.rules.feedback_visible(released=released, now=datetime.now(UTC))


def gradebook_scores(hub: CourseHub, learner: str | None = None) -> dict[tuple[str, str], Any]:
    """The gradebook's scores (:meth:`GradebookStore.scores`: manual wins, the late penalty
    subtracted once) by learner and notebook: what every page of the hub shows."""
    with GradebookStore(hub.course.db_url(), course_id=hub.course.id) as store:
        return {
            (s.learner_id, s.notebook): s
            for s in store.scores()
            if learner is None or s.learner_id == learner
        }


def notebook_rows(hub: CourseHub, learner: str) -> list[dict[str, Any]]:
    latest = {item.notebook: item for item in hub.queue.items(learner)}
    scores = gradebook_scores(hub, learner)
    rows = []
    for slug, source in hub.catalog.items():
        newest = latest.get(slug)
        due = hub.rules.due.get(slug)
        score = scores.get((learner, slug))
        rows.append(
            {
                "slug": slug,
                "title": source.title,
                "due": due.isoformat() if due else None,
                "latest": newest.to_json() if newest else None,
                # the recorded grade of this notebook (JSON numbers for the page)
                "score": float(score.score) if score else None,
                "max_score": float(score.max_score) if score else None,
                "late_penalty": float(score.late_penalty) if score else 0.0,
            }
        )
    return rows


class NotebooksHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        learner = await self.require_learner()
        self.finish({"notebooks": notebook_rows(self.hub, learner)})


class NotebookDownloadHandler(BaseHandler):
    @authenticated
    async def get(self, slug: str) -> None:
        await self.require_learner()
        if slug not in self.hub.catalog:
            raise HTTPError(404, "no such notebook")
        path = self.hub.course.release_dir / slug / f"{slug}.ipynb"
        if not path.is_file():
            raise HTTPError(404, "this notebook has not been released")
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.finish(path.read_bytes())


class SubmissionsHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        learner = await self.require_learner()
        self.finish({"submissions": [i.to_json() for i in self.hub.queue.items(learner)]})

    @authenticated
    async def post(self) -> None:
        learner = await self.require_learner()
        slug = self.get_query_argument("notebook", "")
        if slug not in self.hub.catalog:
            raise HTTPError(400, f"unknown notebook; this course has {self.hub.catalog.describe()}")
        data = self.request.body
        limits = IntakeLimits()
        if len(data) > limits.max_notebook_bytes:
            raise HTTPError(413, "the notebook is larger than the course accepts")
        try:
            check_notebook_bytes(data, max_cells=limits.max_cells)
        except IntakeError as exc:
            raise HTTPError(400, f"not a notebook the grader can read: {exc.reason}") from None
        now = datetime.now(UTC)
        decision = late_decision(self.hub.rules, slug, now)
        if not decision.accepted:
            raise HTTPError(422, decision.message)
        limit = self.hub.rules.max_submissions_per_day
        if limit and self.hub.queue.count_today(learner, slug, now) >= limit:
            self.set_header("Retry-After", str(_seconds_to_midnight(now)))
            raise HTTPError(429, f"at most {limit} submissions of {slug} per day")
        item = await asyncio.get_running_loop().run_in_executor(
            None,
            lambda: self.hub.queue.enqueue(
                learner_id=learner,
                notebook=slug,
                data=data,
                sha256=hashlib.sha256(data).hexdigest(),
                received_at=now,
                days_late=decision.days_late,
                penalty_percent=decision.penalty_percent,
            ),
        )
        self.hub.worker.wake()
        self.set_status(202)
        self.finish({"submission": item.to_json(), "late": decision.message})


def _seconds_to_midnight(now: datetime) -> int:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + 86_400
    return max(1, int(midnight - now.timestamp()))


def _safe_name(name: str) -> str:
    if not name or name.startswith(".") or not set(name) <= _FILE_NAME_CHARS:
        raise HTTPError(404, "no such file")
    return name


class LearnerFileHandler(BaseHandler):
    kind = "feedback"

    @authenticated
    async def get(self, name: str) -> None:
        learner = await self.require_learner()
        if self.kind == "feedback" and not feedback_visible(self.hub):
            raise HTTPError(404, "your instructor has not released feedback yet")
        folder = self.hub.learner_files(self.kind, learner)
        path = folder / _safe_name(name or "index.html")
        if path.is_symlink() or not path.is_file():
            raise HTTPError(404, "no such file")
        types = {
            ".html": "text/html; charset=utf-8",
            ".pdf": "application/pdf",
            ".png": "image/png",
            ".svg": "image/svg+xml",
            ".json": "application/json",
            ".jwt": "text/plain",
        }
        self.set_header("Content-Type", types.get(path.suffix, "application/octet-stream"))
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:",
        )
        self.set_header("X-Content-Type-Options", "nosniff")
        self.finish(path.read_bytes())


class CertificateFileHandler(LearnerFileHandler):
    kind = "certificate"


class InstructorHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        await self.require_instructor()
        self.finish(
            pages.dashboard(
                course_name=self.hub.course.name,
                table=class_table(self.hub),
                prefix=self.hub_auth.base_url,
                xsrf=self.xsrf_form_html(),
                feedback_visible=feedback_visible(self.hub),
                formgrader=os.environ.get("CONTEXT_COURSE_FORMGRADER_URL", ""),
            )
        )


def class_table(hub: CourseHub) -> dict[str, Any]:
    """Per learner and notebook: newest submission state, recorded score, certificate."""
    learners = sorted(hub.roster())
    latest = {(item.learner_id, item.notebook): item for item in hub.queue.items()}
    scores = gradebook_scores(hub)
    rows = []
    for learner in learners:
        cells = []
        for slug in hub.catalog:
            newest = latest.get((learner, slug))
            score = scores.get((learner, slug))
            cells.append(
                {
                    "notebook": slug,
                    "state": newest.state if newest else None,
                    "late_days": newest.days_late if newest else 0,
                    "penalty_percent": newest.penalty_percent if newest else 0.0,
                    # the gradebook's exact scores (late penalty subtracted), as JSON numbers
                    "score": float(score.score) if score else None,
                    "late_penalty": float(score.late_penalty) if score else 0.0,
                    "max_score": float(score.max_score) if score else None,
                }
            )
        certificate = hub.learner_files("certificate", learner) / "credential.json"
        rows.append({"learner": learner, "notebooks": cells, "certified": certificate.is_file()})
    return {"notebooks": list(hub.catalog), "learners": rows, "pending": hub.queue.pending()}


class ClassHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        await self.require_instructor()
        self.finish(class_table(self.hub))


class GradesCsvHandler(BaseHandler):
    @authenticated
    async def get(self) -> None:
        await self.require_instructor()
        path = self.hub.course.output_dir / "grades.csv"
        if not path.is_file():
            raise HTTPError(404, "nothing has been graded yet")
        self.set_header("Content-Type", "text/csv; charset=utf-8")
        self.set_header("Content-Disposition", 'attachment; filename="grades.csv"')
        self.finish(path.read_bytes())


def _json_body(handler: RequestHandler) -> dict[str, Any]:
    if not handler.request.body:
        return {}
    if len(handler.request.body) > 10_000:
        raise HTTPError(413, "request body too large")
    try:
        data = json.loads(handler.request.body)
    except ValueError:
        data = {k: v[0].decode() for k, v in handler.request.body_arguments.items()}
    if not isinstance(data, dict):
        raise HTTPError(400, "expected a JSON object")
    return data


class RegradeHandler(BaseHandler):
    @authenticated
    async def post(self) -> None:
        await self.require_instructor()
        body = _json_body(self)
        learner = body.get("learner") or None
        if learner is not None:
            try:
                learner = validate_learner_id(learner)
            except IntakeError as exc:
                raise HTTPError(400, exc.reason) from None
        count = self.hub.queue.requeue_learner(learner)
        self.hub.worker.wake()
        self.finish({"requeued": count})


class ReleaseFeedbackHandler(BaseHandler):
    @authenticated
    async def post(self) -> None:
        await self.require_instructor()
        self.hub.queue.set_flag("feedback_released", "yes")
        self.finish({"released": True})


class CertifyHandler(BaseHandler):
    @authenticated
    async def post(self) -> None:
        await self.require_instructor()
        from context_course.hub.certify import certify_class

        try:
            outcomes = await asyncio.get_running_loop().run_in_executor(
                None, certify_class, self.hub.course
            )
        except ValueError as exc:
            raise HTTPError(400, str(exc)) from None
        self.finish({"outcomes": outcomes})


class RevokeHandler(BaseHandler):
    @authenticated
    async def post(self) -> None:
        await self.require_instructor()
        from context_course.hub.certify import revoke_certificate

        body = _json_body(self)
        certificate_id = str(body.get("certificate_id", ""))
        reason = str(body.get("reason", ""))[:500]
        try:
            revoked = await asyncio.get_running_loop().run_in_executor(
                None, revoke_certificate, self.hub.course, certificate_id, reason
            )
        except ValueError as exc:
            raise HTTPError(400, str(exc)) from None
        self.finish({"revoked": revoked})


HANDLERS: dict[str, type[RequestHandler]] = {
    r"": HomeHandler,
    r"oauth_callback": HubOAuthCallbackHandler,
    r"api/me": MeHandler,
    r"api/notebooks": NotebooksHandler,
    r"api/notebooks/(?P<slug>[^/]+)\.ipynb": NotebookDownloadHandler,
    r"api/submissions": SubmissionsHandler,
    r"feedback/(?P<name>[^/]*)": LearnerFileHandler,
    r"certificate/(?P<name>[^/]+)": CertificateFileHandler,
    r"instructor": InstructorHandler,
    r"api/class": ClassHandler,
    r"api/grades.csv": GradesCsvHandler,
    r"api/regrade": RegradeHandler,
    r"api/feedback/release": ReleaseFeedbackHandler,
    r"api/certify": CertifyHandler,
    r"api/revoke": RevokeHandler,
}


def make_app(hub: CourseHub, prefix: str) -> Application:
    prefix = "/" + prefix.strip("/") + "/"
    routes = []
    for pattern, handler in HANDLERS.items():
        args = {} if handler is HubOAuthCallbackHandler else {"hub": hub}
        routes.append((prefix + pattern + "$", handler, args))
    secret = hashlib.sha256(os.environ.get("JUPYTERHUB_API_TOKEN", "").encode()).digest()
    return Application(
        routes,
        cookie_secret=secret,
        xsrf_cookies=True,
        max_body_size=IntakeLimits().max_notebook_bytes + 1024,
    )


def main() -> None:  # pragma: no cover - started by JupyterHub as a subprocess
    course = load_course(Path(os.environ["CONTEXT_COURSE_DIR"]))
    hub = CourseHub(course)
    prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/services/course/")
    url = urlparse(os.environ.get("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101"))
    app = make_app(hub, prefix)
    app.listen(url.port or 80, url.hostname or "127.0.0.1")
    loop = IOLoop.current()
    for number in (signal.SIGINT, signal.SIGTERM):  # JupyterHub stops services with these
        signal.signal(number, lambda *_: loop.add_callback_from_signal(loop.stop))
    try:
        loop.start()
    finally:
        hub.close()  # rows being graded go back to the queue at the next start


if __name__ == "__main__":  # pragma: no cover
    main()
