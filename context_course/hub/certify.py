"""Certify and revoke from the hub: the same library calls ``context-course certify``
and ``context-course revoke`` make."""

from __future__ import annotations

from typing import Any

from certificates import CertificateError, CertificateSettings, revoke
from context_course.gradebook_scores import certify_gradebook
from grader.pipeline.config import Course

__all__ = ["certify_class", "revoke_certificate"]


def certify_class(course: Course) -> list[dict[str, Any]]:
    """Certify every learner who reached a level; the outcomes as JSON (``ValueError``
    with one line when certificates cannot be issued)."""
    try:
        settings = CertificateSettings.from_course(course)
        outcomes = certify_gradebook(settings, db_url=course.db_url())
    except CertificateError as exc:
        raise ValueError(str(exc)) from None
    return [outcome.to_json() for outcome in outcomes]


def revoke_certificate(course: Course, certificate_id: str, reason: str) -> str:
    """Revoke one certificate by id; ``ValueError`` with one line if that is refused."""
    settings = CertificateSettings.from_course(course)
    try:
        record, _ = revoke(settings, certificate_id, reason=reason)
    except CertificateError as exc:
        raise ValueError(str(exc)) from None
    return str(getattr(record, "certificate_id", certificate_id))
