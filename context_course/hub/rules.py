"""Course rules the hub service enforces, read from ``[hub]`` in ``course.toml``.

.. code-block:: toml

    [hub]
    service_name = "course"            # the JupyterHub service name (its URL is /services/<name>/)
    learner_group = "learners"         # hub group whose members are learners ("" = roster only)
    instructor_group = "instructors"   # hub group whose members see the class dashboard
    late_policy = "penalty"            # "penalty" (percent of the notebook per day) or "refuse"
    penalty_per_day = 10               # percent of the notebook's points per started day late
    max_submissions_per_day = 20       # per learner, per notebook, per UTC day (0 = no limit)
    feedback = "immediate"             # "immediate" or "held" (until released or release_at)
    feedback_release_at = ""           # ISO 8601 time when held feedback is shown to learners

    [hub.due]
    "01-basic-operations" = "2026-12-20T23:59:00+00:00"

Everything has a default, so a course without ``[hub]`` runs with no deadlines, no
limit beyond 20 submissions a day and immediate feedback.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from context_course.errors import ContextCourseError

__all__ = ["HubRules", "HubRulesError", "LateDecision", "late_decision"]


class HubRulesError(ContextCourseError, ValueError):
    """``[hub]`` in ``course.toml`` is invalid; the message names the setting."""


LatePolicy = Literal["penalty", "refuse"]
FeedbackMode = Literal["immediate", "held"]


def _time(value: object, what: str) -> datetime:
    if not isinstance(value, str) or not value:
        raise HubRulesError(f"[hub] {what} must be an ISO 8601 time like 2026-12-20T23:59:00Z")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise HubRulesError(f"[hub] {what} is not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise HubRulesError(f"[hub] {what} needs a time zone (e.g. Z or +01:00): {value!r}")
    return parsed.astimezone(UTC)


def _group(raw: dict[str, Any], key: str, default: str) -> str:
    value = raw.get(key, default)
    if not isinstance(value, str) or len(value) > 64:
        raise HubRulesError(f"[hub] {key} must be a group name (a string of up to 64 characters)")
    return value


@dataclass(frozen=True)
class HubRules:
    service_name: str = "course"
    learner_group: str = "learners"
    instructor_group: str = "instructors"
    late_policy: LatePolicy = "penalty"
    penalty_per_day: float = 10.0
    max_submissions_per_day: int = 20
    feedback: FeedbackMode = "immediate"
    feedback_release_at: datetime | None = None
    due: dict[str, datetime] = field(default_factory=dict)

    @classmethod
    def from_course_raw(cls, raw: dict[str, Any]) -> HubRules:
        """Read ``[hub]`` from a parsed ``course.toml``; raises :class:`HubRulesError`."""
        section = raw.get("hub", {})
        if not isinstance(section, dict):
            raise HubRulesError("[hub] must be a table")
        name = section.get("service_name", "course")
        if not isinstance(name, str) or not name.isidentifier():
            raise HubRulesError("[hub] service_name must be a short name like 'course'")
        policy = section.get("late_policy", "penalty")
        if policy not in ("penalty", "refuse"):
            raise HubRulesError("[hub] late_policy must be 'penalty' or 'refuse'")
        penalty = section.get("penalty_per_day", 10)
        if (
            isinstance(penalty, bool)
            or not isinstance(penalty, int | float)
            or not 0 <= penalty <= 100
        ):
            raise HubRulesError("[hub] penalty_per_day must be a percentage from 0 to 100")
        limit = section.get("max_submissions_per_day", 20)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 <= limit <= 10_000:
            raise HubRulesError("[hub] max_submissions_per_day must be a whole number, 0 to 10000")
        feedback = section.get("feedback", "immediate")
        if feedback not in ("immediate", "held"):
            raise HubRulesError("[hub] feedback must be 'immediate' or 'held'")
        release = section.get("feedback_release_at", "")
        due_raw = section.get("due", {})
        if not isinstance(due_raw, dict):
            raise HubRulesError("[hub.due] must map notebook names to times")
        return cls(
            service_name=name,
            learner_group=_group(section, "learner_group", "learners"),
            instructor_group=_group(section, "instructor_group", "instructors") or "instructors",
            late_policy=policy,
            penalty_per_day=float(penalty),
            max_submissions_per_day=limit,
            feedback=feedback,
            feedback_release_at=_time(release, "feedback_release_at") if release else None,
            due={str(k): _time(v, f"due.{k}") for k, v in due_raw.items()},
        )

    def feedback_visible(self, *, released: bool, now: datetime) -> bool:
        """Whether learners see their feedback now (instructor release wins)."""
        if self.feedback == "immediate" or released:
            return True
        return self.feedback_release_at is not None and now >= self.feedback_release_at


@dataclass(frozen=True)
class LateDecision:
    accepted: bool
    days_late: int
    penalty_percent: float
    message: str


def late_decision(rules: HubRules, notebook: str, received: datetime) -> LateDecision:
    """What the late policy says about ``notebook`` received at ``received``."""
    due = rules.due.get(notebook)
    if due is None or received <= due:
        return LateDecision(True, 0, 0.0, "on time")
    days = math.ceil((received - due).total_seconds() / 86_400)
    if rules.late_policy == "refuse":
        return LateDecision(
            False, days, 0.0, f"{notebook} was due {due:%Y-%m-%d %H:%M} UTC; late work is refused"
        )
    penalty = min(100.0, days * rules.penalty_per_day)
    return LateDecision(
        True, days, penalty, f"{days} day(s) late: {penalty:g} % of the notebook's points deducted"
    )
