"""Issue 17 item 3: bad numbers and text are refused with 4xx before anything commits,
and every endpoint keeps answering afterwards."""

from __future__ import annotations

import math

import httpx
import pytest

from context_lib.service import BadRequestError, ContextService
from tests.context_lib.service.conftest import TenantKeys, add_tenant


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}


def everything_answers(http: httpx.Client, t: TenantKeys) -> None:
    """Every read endpoint answers 2xx with JSON and the tenant's chain verifies."""
    for path in (
        "/health",
        "/v1/tenant",
        "/v1/audit",
        "/v1/export",
        "/v1/analytics",
        "/v1/keys",
        "/v1/contexts",
        "/v1/contexts/app",
        "/v1/contexts/app/keys",
        "/v1/contexts/app/history",
    ):
        response = http.get(path, headers=auth(t.admin))
        assert response.status_code == 200, (path, response.text)
        response.json()
    assert http.get("/v1/audit", headers=auth(t.admin)).json()["verified"]


def state(service: ContextService, t: TenantKeys) -> tuple[object, ...]:
    p = service.authorize(t.admin, "admin", "test")
    entries, _ = service.backend.read_audit(t.id)
    return (
        service.info(p)["limits"],
        service.get_context(p, "app"),
        len(service.history(p, "app")),
        [e.action for e in entries if e.action not in ("test",)],
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "code"),
    [
        # the case: answered 500 but committed Infinity
        ("PATCH", "/v1/tenant", b'{"retention_days": 1e309}', "invalid_json"),
        ("PATCH", "/v1/tenant", b'{"retention_days": -1e309}', "invalid_json"),
        ("PATCH", "/v1/tenant", b'{"retention_days": 1e300}', "invalid_limit"),
        ("PATCH", "/v1/tenant", b'{"retention_days": 0}', "invalid_limit"),
        ("PATCH", "/v1/tenant", b'{"retention_days": Infinity}', "invalid_json"),
        ("PATCH", "/v1/tenant", b'{"retention_days": ' + b"9" * 5000 + b"}", "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": 1e309}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": 9007199254740992}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": -9007199254740992}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": [' + b"1" * 5000 + b"]}", "invalid_json"),
        # lone surrogates: in a value, a nested key, the key set, who; escaped or raw bytes
        ("PUT", "/v1/contexts/app/values/a", b'{"value": "\\ud800"}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": "x\\udfff"}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": {"\\ud800": 1}}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": "\xed\xa0\x80"}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": 1, "who": "\\ud800"}', "invalid_json"),
        ("PATCH", "/v1/contexts/app", b'{"set": {"\\ud800": 1}}', "invalid_json"),
        ("PATCH", "/v1/contexts/app", b'{"delete": ["\\ud800"]}', "invalid_json"),
        ("PATCH", "/v1/contexts/app", b'{"set": {"a": 2}, "who": "\\udc00"}', "invalid_json"),
        ("POST", "/v1/keys", b'{"role": "read", "name": "\\ud800"}', "invalid_json"),
        # key names and query parameters
        ("PUT", "/v1/contexts/app/values/%ED%A0%80", b'{"value": 1}', "invalid_key"),
        ("GET", "/v1/contexts/app/history?limit=" + "9" * 5000, b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?after=" + "9" * 5000, b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?since=" + "9" * 5000, b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?since=inf", b"", "invalid_query"),
        ("GET", "/v1/analytics?top=" + "9" * 5000, b"", "invalid_query"),
        ("GET", "/v1/analytics?top=0", b"", "invalid_query"),
        ("DELETE", "/v1/contexts/app/values/a?who=" + "w" * 201, b"", "bad_request"),
    ],
)
def test_bad_numbers_and_text_are_refused_before_anything_commits(
    http: httpx.Client,
    shared_service: ContextService,
    method: str,
    path: str,
    body: bytes,
    code: str,
) -> None:
    t = add_tenant(shared_service, "Validated")
    http.put("/v1/contexts/app/values/a", headers=auth(t.write), json={"value": 1})
    before = state(shared_service, t)
    response = http.request(method, path, headers=auth(t.admin), content=body)
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["code"] == code, response.json()
    assert "\n" not in response.json()["message"]
    assert state(shared_service, t) == before  # nothing committed, nothing audited as done
    everything_answers(http, t)


def test_valid_astral_text_and_the_largest_safe_integers_round_trip(
    http: httpx.Client, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Astral")
    value = {"emoji": "\U0001f600", "big": 2**53 - 1, "small": -(2**53 - 1), "f": 1e308}
    put = http.put(
        "/v1/contexts/app/values/a", headers=auth(t.write), json={"value": value, "who": "\u00e9"}
    )
    assert put.status_code == 200, put.text
    got = http.get("/v1/contexts/app/values/a", headers=auth(t.read)).json()
    assert got["value"] == value
    everything_answers(http, t)


def test_admin_changes_commit_and_answer_2xx_or_do_neither(
    http: httpx.Client, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Admin")
    for days in (7, 0.5, 36_500, None):
        response = http.patch("/v1/tenant", headers=auth(t.admin), json={"retention_days": days})
        assert response.status_code == 200 and response.json()["limits"]["retention_days"] == days
    entries, _ = shared_service.backend.read_audit(t.id)
    assert [e.action for e in entries].count("tenant.limits") == 4
    everything_answers(http, t)


def test_direct_callers_get_the_same_refusals(shared_service: ContextService) -> None:
    t = add_tenant(shared_service, "Direct")
    p = shared_service.authorize(t.write, "write", "test")
    for limits in ({"retention_days": math.inf}, {"max_keys": 10**30}, {"rate": math.nan}):
        with pytest.raises(BadRequestError) as caught:
            shared_service.set_limits(t.id, **limits)
        assert caught.value.code == "invalid_limit"
    with pytest.raises(BadRequestError) as caught:
        shared_service.write(p, "app", {"a": 1}, who="\ud800")
    assert caught.value.code == "invalid_text"
    with pytest.raises(BadRequestError) as caught:
        shared_service.write(p, "app", {"a": "\ud800"})
    assert caught.value.code == "invalid_value"
    with pytest.raises(BadRequestError):
        shared_service.create_tenant("\udc00 Corp")
    assert shared_service.keys(p, "app") == []
    assert shared_service.verify_audit(t.id).ok
