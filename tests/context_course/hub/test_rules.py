"""[hub] rules: due dates, the late policy, daily limits and held feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from context_course.hub.rules import HubRules, HubRulesError, late_decision

DUE = "2026-12-20T23:59:00Z"


def rules(**section: object) -> HubRules:
    return HubRules.from_course_raw({"hub": section})


def test_defaults_need_no_section() -> None:
    plain = HubRules.from_course_raw({})
    assert plain.late_policy == "penalty" and plain.feedback == "immediate"
    assert plain.max_submissions_per_day == 20 and plain.due == {}


def test_on_time_and_no_deadline_cost_nothing() -> None:
    r = rules(due={"01-a": DUE})
    due = r.due["01-a"]
    assert late_decision(r, "01-a", due).penalty_percent == 0
    assert late_decision(r, "02-b", due + timedelta(days=400)).accepted


def test_each_started_day_late_costs_the_penalty_and_never_more_than_everything() -> None:
    r = rules(due={"01-a": DUE}, penalty_per_day=15)
    due = r.due["01-a"]
    one_minute = late_decision(r, "01-a", due + timedelta(minutes=1))
    assert (one_minute.days_late, one_minute.penalty_percent) == (1, 15)
    assert late_decision(r, "01-a", due + timedelta(days=2, seconds=1)).penalty_percent == 45
    assert late_decision(r, "01-a", due + timedelta(days=30)).penalty_percent == 100


def test_refuse_policy_refuses_late_work_with_a_reason() -> None:
    r = rules(due={"01-a": DUE}, late_policy="refuse")
    decision = late_decision(r, "01-a", r.due["01-a"] + timedelta(seconds=1))
    assert not decision.accepted and "refused" in decision.message


def test_held_feedback_shows_after_release_or_release_time() -> None:
    r = rules(feedback="held", feedback_release_at="2026-12-21T09:00:00+01:00")
    before = datetime(2026, 12, 21, 7, 59, tzinfo=UTC)
    assert not r.feedback_visible(released=False, now=before)
    assert r.feedback_visible(released=True, now=before)
    assert r.feedback_visible(released=False, now=before + timedelta(minutes=1))


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"late_policy": "maybe"}, "late_policy"),
        ({"penalty_per_day": 150}, "penalty_per_day"),
        ({"penalty_per_day": True}, "penalty_per_day"),
        ({"max_submissions_per_day": -1}, "max_submissions_per_day"),
        ({"feedback": "later"}, "feedback"),
        ({"due": {"01-a": "next tuesday"}}, "due.01-a"),
        ({"due": {"01-a": "2026-12-20T23:59:00"}}, "time zone"),
        ({"service_name": "my course"}, "service_name"),
        ({"instructor_group": ["a"]}, "instructor_group"),
    ],
)
def test_invalid_settings_name_the_setting(section: dict[str, object], message: str) -> None:
    with pytest.raises(HubRulesError, match=message):
        rules(**section)
