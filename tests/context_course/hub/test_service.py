"""The course service behind a real JupyterHub: who may call what, and that identity is the
hub's, never the request's.

Every route in ``ROUTES``, with every HTTP method its handler answers, must appear in
``AUTHORISATION`` (a route or method without an authorisation test fails the suite), and
every row is exercised for every role.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tornado.web import RequestHandler

from context_course.hub.service import HANDLERS, ROUTES
from tests.context_course.hub.conftest import ROOT, Hub

pytestmark = [pytest.mark.slow, pytest.mark.hub]

SOLVED = ROOT / "solutions" / "01-basic-operations" / "01-basic-operations.ipynb"
BLANK = ROOT / "exercises" / "01-basic-operations" / "01-basic-operations.ipynb"

# nobody, a hub user off the roster, a learner (bob never submits a valid notebook), instructor
ROLES = ("anonymous", "mallory", "bob", "grace")

# route -> (method, path as called, {role: expected status}); a route answering more than
# one method has one row per method, keyed "route METHOD"
LEARNER_ONLY = {"anonymous": 302, "mallory": 403, "bob": 200, "grace": 403}
INSTRUCTOR_ONLY = {"anonymous": 302, "mallory": 403, "bob": 403, "grace": 200}
AUTHORISATION: dict[str, tuple[str, str, dict[str, int | tuple[int, ...]]]] = {
    r"": ("GET", "", {"anonymous": 302, "mallory": 200, "bob": 200, "grace": 200}),
    r"oauth_callback": ("GET", "oauth_callback", dict.fromkeys(ROLES, 400)),
    r"api/me": ("GET", "api/me", {"anonymous": 302, "mallory": 200, "bob": 200, "grace": 200}),
    r"api/notebooks": ("GET", "api/notebooks", LEARNER_ONLY),
    r"api/notebooks/(?P<slug>[^/]+)\.ipynb": (
        "GET",
        "api/notebooks/01-basic-operations.ipynb",
        LEARNER_ONLY,
    ),
    r"api/submissions": ("GET", "api/submissions", LEARNER_ONLY),
    # bob names no notebook: 400 after authorisation, and nothing is queued
    r"api/submissions POST": (
        "POST",
        "api/submissions",
        {"anonymous": 403, "mallory": 403, "bob": 400, "grace": 403},
    ),
    r"feedback/(?P<name>[^/]*)": (
        "GET",
        "feedback/",
        {"anonymous": 302, "mallory": 403, "bob": 404, "grace": 403},
    ),
    r"certificate/(?P<name>[^/]+)": (
        "GET",
        "certificate/certificate.pdf",
        {"anonymous": 302, "mallory": 403, "bob": 404, "grace": 403},
    ),
    r"instructor": ("GET", "instructor", INSTRUCTOR_ONLY),
    r"api/class": ("GET", "api/class", INSTRUCTOR_ONLY),
    r"api/grades.csv": (
        "GET",
        "api/grades.csv",
        {"anonymous": 302, "mallory": 403, "bob": 403, "grace": (200, 404)},
    ),
    r"api/regrade": ("POST", "api/regrade", {**INSTRUCTOR_ONLY, "anonymous": 403}),
    r"api/feedback/release": (
        "POST",
        "api/feedback/release",
        {**INSTRUCTOR_ONLY, "anonymous": 403},
    ),
    r"api/certify": ("POST", "api/certify", {**INSTRUCTOR_ONLY, "anonymous": 403}),
    r"api/revoke": (
        "POST",
        "api/revoke",
        {"anonymous": 403, "mallory": 403, "bob": 403, "grace": 400},
    ),
}


def _answered_methods(handler: type[RequestHandler]) -> list[str]:
    verbs = ("get", "post", "put", "patch", "delete")
    return [v.upper() for v in verbs if getattr(handler, v) is not getattr(RequestHandler, v)]


def test_every_route_and_method_has_an_authorisation_test() -> None:
    assert set(HANDLERS) == set(ROUTES)
    expected: dict[str, str] = {}  # AUTHORISATION key -> the method it must call
    for route, handler in HANDLERS.items():
        first, *others = _answered_methods(handler)
        expected[route] = first
        expected.update({f"{route} {method}": method for method in others})
    assert {key: row[0] for key, row in AUTHORISATION.items()} == expected


@pytest.fixture(scope="module")
def tokens(hub: Hub) -> dict[str, str]:
    return {user: hub.token_for(user) for user in ("mallory", "ada", "bob", "grace")}


def call(hub: Hub, method: str, path: str, token: str | None, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"token {token}"} if token else {}
    return httpx.request(
        method,
        hub.service + path,
        headers=headers,
        follow_redirects=False,
        timeout=120,
        **kwargs,
    )


@pytest.mark.parametrize("route", sorted(AUTHORISATION))
def test_each_route_answers_each_role_as_specified(
    hub: Hub, tokens: dict[str, str], route: str
) -> None:
    method, path, expected = AUTHORISATION[route]
    for role in ROLES:
        response = call(hub, method, path, tokens.get(role))
        allowed = expected[role]
        allowed = allowed if isinstance(allowed, tuple) else (allowed,)
        assert response.status_code in allowed, (role, path, response.text[:200])


def wait_done(hub: Hub, token: str, count: int, timeout: float = 600) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        items = call(hub, "GET", "api/submissions", token).json()["submissions"]
        finished = [i for i in items if i["state"] in ("done", "failed")]
        if len(finished) >= count:
            return items
        assert time.monotonic() < deadline, f"not graded in time: {items}"
        time.sleep(0.5)


def test_a_learner_submits_and_sees_only_their_own_work(hub: Hub, tokens: dict[str, str]) -> None:
    answer = call(
        hub,
        "POST",
        "api/submissions?notebook=01-basic-operations&learner=bob",  # a forged field: ignored
        tokens["ada"],
        content=SOLVED.read_bytes(),
    )
    assert answer.status_code == 202, answer.text
    items = wait_done(hub, tokens["ada"], 1)
    assert items[-1]["state"] == "done" and items[-1]["score"] == items[-1]["max_score"] > 0
    # bob sees nothing of ada's: no submission, no feedback page
    assert call(hub, "GET", "api/submissions", tokens["bob"]).json() == {"submissions": []}
    assert call(hub, "GET", "feedback/", tokens["bob"]).status_code == 404
    own = call(hub, "GET", "feedback/", tokens["ada"])
    assert own.status_code == 200 and "01" in own.text
    # the instructor sees ada's score on the class table
    table = call(hub, "GET", "api/class", tokens["grace"]).json()
    ada = next(row for row in table["learners"] if row["learner"] == "ada")
    first = ada["notebooks"][0]
    assert first["notebook"] == "01-basic-operations" and first["score"] == first["max_score"]
    bob = next(row for row in table["learners"] if row["learner"] == "bob")
    assert all(cell["score"] is None for cell in bob["notebooks"])
    # and the dashboard page lists both learners, ada's notebook 01 with its score
    page = call(hub, "GET", "instructor", tokens["grace"]).text
    assert ">ada<" in page and ">bob<" in page and f">{first['score']:g}<" in page


def test_a_cookie_of_another_service_or_a_forged_token_is_no_identity(hub: Hub) -> None:
    for headers in (
        {"Authorization": "token not-a-real-token"},
        {"Cookie": "jupyterhub-services-course=forged"},
        {"Cookie": "jupyterhub-session-id=forged", "X-Forwarded-User": "ada"},
    ):
        response = httpx.get(hub.service + "api/submissions", headers=headers, timeout=60)
        assert response.status_code in (302, 403), response.text[:200]
        post = httpx.post(
            hub.service + "api/submissions?notebook=01-basic-operations",
            headers=headers,
            content=SOLVED.read_bytes(),
            timeout=60,
        )
        assert post.status_code == 403


def test_bad_submissions_are_refused_with_one_line_and_queue_nothing(
    hub: Hub, tokens: dict[str, str]
) -> None:
    before = call(hub, "GET", "api/submissions", tokens["bob"]).json()["submissions"]
    cases = [
        ("api/submissions?notebook=99-nothing", BLANK.read_bytes(), 400),
        ("api/submissions?notebook=../../etc", BLANK.read_bytes(), 400),
        ("api/submissions?notebook=01-basic-operations", b"{not json", 400),
        ("api/submissions?notebook=01-basic-operations", b"[" * 100_000 + b"]" * 100_000, 400),
    ]
    for path, body, status in cases:
        response = call(hub, "POST", path, tokens["bob"], content=body)
        assert response.status_code == status, (path, response.text[:200])
        assert "\n" not in response.json()["error"]
    after = call(hub, "GET", "api/submissions", tokens["bob"]).json()["submissions"]
    assert after == before


def test_learner_files_cannot_escape_their_folder(hub: Hub, tokens: dict[str, str]) -> None:
    secret = (Path(hub.plan.course.root) / "course.toml").read_text()
    for name in ("..%2F..%2Fcourse.toml", ".hidden", "%2e%2e", "index.html%00", "..%5ccourse.toml"):
        response = call(hub, "GET", f"feedback/{name}", tokens["ada"])
        # 404, or a URL the proxy normalised to another page of the service: never a file
        # outside the learner's own folder
        assert response.status_code in (404, 200), (name, response.status_code)
        assert "[course]" not in response.text and secret[:200] not in response.text
        if response.status_code == 200:
            assert "Signed in as" in response.text, name  # the service's home page


def test_the_release_notebook_is_the_learner_version(hub: Hub, tokens: dict[str, str]) -> None:
    response = call(hub, "GET", "api/notebooks/01-basic-operations.ipynb", tokens["ada"])
    assert response.status_code == 200
    text = response.text
    assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text
    assert json.loads(text)["cells"]
    assert Path(BLANK).read_bytes() == response.content
