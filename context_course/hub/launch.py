"""``context-course hub up``: JupyterHub, its proxy and the course service on one machine.

For a small class or a try-out. The hub's state (its database, cookie secret, passwords
and configuration) lives in ``<course>/hub/`` (git-ignored by ``context-course init``).
Learners come from the roster (``context-course roster import``) and log in with the
password in ``hub/initial-passwords.csv``; single-user servers run as local processes
with a home folder each under ``hub/users/``. Stopping ``hub up`` (Ctrl+C) stops
everything it started.

Needs ``configurable-http-proxy`` on PATH (``npm install -g configurable-http-proxy``).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from context_course.errors import ContextCourseError
from context_course.hub.auth import issue_passwords
from context_course.hub.rules import HubRules
from grader.pipeline.config import Course
from grader.pipeline.gradebook import GradebookStore

__all__ = ["HubError", "HubPlan", "RunningHub", "plan_hub", "start_hub", "write_hub_config"]


class HubError(ContextCourseError):
    """The hub cannot start; the message says what to do."""


@dataclass(frozen=True)
class HubPlan:
    course: Course
    state_dir: Path
    port: int
    service_port: int
    hub_api_port: int
    proxy_api_port: int
    learners: tuple[str, ...]
    instructors: tuple[str, ...]
    others: tuple[str, ...] = ()  # hub users who are neither (e.g. staff trying things out)
    spawner_env: tuple[tuple[str, str], ...] = ()  # more environment for learners' servers
    extra_services: tuple[dict[str, object], ...] = field(default_factory=tuple)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def rules(self) -> HubRules:
        return HubRules.from_course_raw(self.course.raw)

    @property
    def service_url(self) -> str:
        return f"{self.url}services/{self.rules.service_name}/"


def plan_hub(
    course: Course,
    *,
    port: int = 8000,
    service_port: int = 10101,
    hub_api_port: int = 8081,
    proxy_api_port: int = 8001,
    instructors: tuple[str, ...] = ("instructor",),
    others: tuple[str, ...] = (),
    spawner_env: dict[str, str] | None = None,
    extra_services: tuple[dict[str, object], ...] = (),
) -> HubPlan:
    """Who can log in and where everything listens; the roster must not be empty."""
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        learners = tuple(sorted(row.id for row in store.students()))
    if not learners:
        raise HubError("the roster is empty: run `context-course roster import roster.csv` first")
    clash = set(learners) & set(instructors)
    if clash:
        raise HubError(f"{sorted(clash)[0]} is both a learner and an instructor")
    return HubPlan(
        course=course,
        state_dir=course.root / "hub",
        port=port,
        service_port=service_port,
        hub_api_port=hub_api_port,
        proxy_api_port=proxy_api_port,
        learners=learners,
        instructors=tuple(instructors),
        others=tuple(others),
        spawner_env=tuple(sorted((spawner_env or {}).items())),
        extra_services=tuple(extra_services),
    )


def write_hub_config(plan: HubPlan) -> Path:
    """Write ``jupyterhub_config.py`` (and issue missing passwords); returns its path."""
    state = plan.state_dir
    (state / "users").mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    issue_passwords(state, [*plan.learners, *plan.instructors, *plan.others])
    rules = plan.rules
    name = rules.service_name
    services: list[dict[str, object]] = [
        {
            "name": name,
            "url": f"http://127.0.0.1:{plan.service_port}",
            "command": [sys.executable, "-m", "context_course.hub.service"],
            "environment": {
                "CONTEXT_COURSE_DIR": str(plan.course.root),
                "PATH": os.environ.get("PATH", ""),
            },
            "oauth_no_confirm": True,
            "display": True,
            "timeout": 300,  # seconds to answer after start: a loaded machine is slow to import
        },
        *plan.extra_services,
    ]
    roles: list[dict[str, object]] = [
        {"name": "user", "scopes": ["self", f"access:services!service={name}"]},
        {
            "name": f"{name}-service",
            "scopes": ["read:users:groups", "read:users:name"],
            "services": [name],
        },
    ]
    for extra in plan.extra_services:
        roles.append(
            {
                "name": f"{extra['name']}-admin",
                "scopes": [
                    "admin:users",
                    "tokens",
                    "admin:groups",
                    "read:users",
                    "servers",
                    "access:services",
                ],
                "services": [extra["name"]],
            }
        )
    groups = {
        rules.instructor_group: {"users": list(plan.instructors)},
    }
    if rules.learner_group:
        groups[rules.learner_group] = {"users": list(plan.learners)}
    settings = {
        "bind_url": plan.url,
        "hub_bind_url": f"http://127.0.0.1:{plan.hub_api_port}",
        "proxy_api_url": f"http://127.0.0.1:{plan.proxy_api_port}",
        "state": str(state),
        "users": [*plan.learners, *plan.instructors, *plan.others],
        "services": services,
        "roles": roles,
        "groups": groups,
        "service_url": plan.service_url,
        "service_name": name,
        "python_bin": str(Path(sys.executable).parent),
        "python": sys.executable,
        "release": str(plan.course.release_dir),
        "spawner_env": dict(plan.spawner_env),
    }
    config = state / "jupyterhub_config.py"
    config.write_text(
        "# Written by `context-course hub up`; edit course.toml instead.\n"
        f"settings = {settings!r}\n" + _CONFIG_BODY,
        encoding="utf-8",
    )
    return config


_CONFIG_BODY = r"""
import os
c = get_config()  # noqa: F821
state = settings["state"]
c.JupyterHub.bind_url = settings["bind_url"]
c.JupyterHub.hub_bind_url = settings["hub_bind_url"]
c.ConfigurableHTTPProxy.api_url = settings["proxy_api_url"]
c.JupyterHub.db_url = "sqlite:///" + os.path.join(state, "jupyterhub.sqlite")
c.JupyterHub.cookie_secret_file = os.path.join(state, "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = os.path.join(state, "jupyterhub.pid")
c.ConfigurableHTTPProxy.pid_file = os.path.join(state, "proxy.pid")
c.JupyterHub.authenticator_class = "context_course.hub.auth.CoursePasswordAuthenticator"
c.CoursePasswordAuthenticator.password_file = os.path.join(state, "passwords.json")
c.Authenticator.allowed_users = set(settings["users"])
c.JupyterHub.spawner_class = "simple"
c.Spawner.home_dir_template = os.path.join(state, "users", "{username}")
c.Spawner.notebook_dir = os.path.join(state, "users", "{username}")
c.Spawner.default_url = "/lab"
# JupyterLab can take a while to start on a busy machine: wait for it
c.Spawner.start_timeout = 300
c.Spawner.http_timeout = 300
c.Spawner.cmd = [settings["python"], "-m", "context_course.hub.singleuser"]
c.Spawner.environment = {
    "CONTEXT_COURSE_HUB_URL": settings["service_url"],
    "CONTEXT_COURSE_RELEASE": settings["release"],
    **settings["spawner_env"],
    "PATH": settings["python_bin"] + os.pathsep + os.environ.get("PATH", ""),
}
c.Spawner.server_token_scopes = [
    "users:activity!user",
    "access:servers!user",
    "access:services!service=" + settings["service_name"],
]
c.JupyterHub.services = settings["services"]
c.JupyterHub.load_roles = settings["roles"]
c.JupyterHub.load_groups = settings["groups"]
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
"""


@dataclass
class RunningHub:
    plan: HubPlan
    process: subprocess.Popen[bytes]
    log_path: Path

    def stop(self, timeout: float = 60.0) -> None:
        """Stop the hub and everything it started: JupyterHub starts the proxy, the course
        service and the learners' servers in sessions of their own, so they are found
        (as descendants) before the hub is asked to stop, and killed if they outlive it."""
        if self.process.poll() is not None:
            return
        family = _descendants(self.process.pid)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        _kill(family)


def _proxy_of(plan: HubPlan) -> set[int]:
    """The proxy JupyterHub started for ``plan``, from the pid file it writes: a hub that
    dies at start can start its proxy after our last look at its children, and leaves it
    running (JupyterHub itself only stops it at the next start)."""
    try:
        pid = int((plan.state_dir / "proxy.pid").read_text().strip())
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return set()
    return {pid} if b"configurable-http-proxy" in command else set()


def _kill(pids: Iterable[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


_PORT_ROLES = {
    "port": "the hub's address",
    "hub_api_port": "the hub's API",
    "proxy_api_port": "the proxy's API",
    "service_port": "the course service",
}


def _check_ports_free(plan: HubPlan) -> None:
    """Refuse, naming the port, before anything starts: JupyterHub would start its proxy,
    then die on the busy port with a traceback deep in its log."""
    for attribute, role in _PORT_ROLES.items():
        port = getattr(plan, attribute)
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                raise HubError(
                    f"port {port} ({role}) is in use: stop what listens there "
                    "or choose another port"
                ) from None


def _why(log_path: Path, start: int = 0) -> str:
    """The hub's own error from its log after byte ``start`` (the log is appended to, so
    earlier runs' errors come before it): the last exception line of a traceback, else
    the last error line (the proxy's 404s for the readiness polls come after it, as noise)."""
    with log_path.open("rb") as log:
        log.seek(start)
        lines = log.read().decode(errors="replace").splitlines()
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line.strip()
    for line in reversed(lines):
        if line.startswith(("[E ", "[C ")):
            return line.strip()
    return lines[-1].strip() if lines else "nothing in its log"


_EXCEPTION_LINE = re.compile(r"\s*[\w.]+(Error|Exception|Exit)(: .*)?$")


def _descendants(root: int) -> list[int]:
    """Every process below ``root``, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return bool(response.status < 400)
    except urllib.error.HTTPError:
        return False
    except (OSError, ValueError):
        return False


def start_hub(plan: HubPlan, *, ready_timeout: float = 180.0) -> RunningHub:
    """Start JupyterHub (which starts the proxy and the course service); wait until the
    hub and the service both answer."""
    if shutil.which("configurable-http-proxy") is None:
        raise HubError(
            "configurable-http-proxy is not installed: npm install -g configurable-http-proxy"
        )
    hub_bin = Path(sys.executable).parent / "jupyterhub"
    if not hub_bin.exists():
        raise HubError("JupyterHub is not installed: pip install 'context-course[hub]'")
    _check_ports_free(plan)
    config = write_hub_config(plan)
    log_path = plan.state_dir / "jupyterhub.log"
    log = open(log_path, "ab")  # noqa: SIM115 - handed to the child process
    log_start = log.tell()  # this run's lines start here
    process = subprocess.Popen(
        [str(hub_bin), "-f", str(config)],
        cwd=plan.state_dir,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    running = RunningHub(plan, process, log_path)
    started: set[int] = set()  # the proxy and service outlive a hub that fails: find them now
    deadline = time.monotonic() + ready_timeout
    while time.monotonic() < deadline:
        started.update(_descendants(process.pid), _proxy_of(plan))
        if process.poll() is not None:
            _kill(started | _proxy_of(plan))
            raise HubError(
                f"JupyterHub exited at start: {_why(log_path, log_start)} (log: {log_path})"
            )
        if _answers(plan.url + "hub/api/") and _answers(plan.service_url + "api/me"):
            return running
        time.sleep(0.25)
    running.stop()
    _kill(started | _proxy_of(plan))
    raise HubError(f"JupyterHub did not answer within {ready_timeout:.0f} s; see {log_path}")


def new_token() -> str:
    return secrets.token_hex(32)
