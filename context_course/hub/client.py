"""Submitting from a learner's own server on the hub (``context-course submit --hub`` and
the notebook's Submit button).

A single-user server started by JupyterHub has the hub API token of its user in
``JUPYTERHUB_API_TOKEN`` and, under ``context-course hub up``, the course service's URL in
``CONTEXT_COURSE_HUB_URL``. The token is the learner's proof of identity: the service
files the notebook under the user the hub says the token belongs to, whatever else the
request says.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from context_course.errors import ContextCourseError

__all__ = ["HubClientError", "HubConnection", "hub_connection", "submit_notebook"]


class HubClientError(ContextCourseError):
    """Submitting to the hub failed; one line saying why."""


@dataclass(frozen=True)
class HubConnection:
    url: str  # the course service, ending in "/"
    token: str


def hub_connection(env: Mapping[str, str] | None = None) -> HubConnection:
    """The course service and this user's token, from the server's environment."""
    env = os.environ if env is None else env
    url = env.get("CONTEXT_COURSE_HUB_URL", "")
    token = env.get("JUPYTERHUB_API_TOKEN", "")
    if not url or not token:
        raise HubClientError(
            "not running on the course hub (CONTEXT_COURSE_HUB_URL and JUPYTERHUB_API_TOKEN "
            "are not set); without a hub, hand in the zip from `context-course submit`"
        )
    return HubConnection(url=url if url.endswith("/") else url + "/", token=token)


def submit_notebook(connection: HubConnection, slug: str, path: Path) -> dict[str, Any]:
    """Send one saved notebook; the service's acknowledgement (queued submission)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise HubClientError(f"cannot read {path}: {exc.strerror}") from None
    try:
        response = httpx.post(
            f"{connection.url}api/submissions",
            params={"notebook": slug},
            content=data,
            headers={"Authorization": f"token {connection.token}"},
            timeout=60,
        )
    except httpx.HTTPError as exc:
        raise HubClientError(f"the course service did not answer: {exc}") from None
    try:
        body = response.json()
    except json.JSONDecodeError:
        body = {}
    if response.status_code != 202:
        reason = body.get("error") if isinstance(body, dict) else None
        raise HubClientError(
            f"{slug}: refused ({response.status_code}): {reason or response.text[:200]}"
        )
    return dict(body)
