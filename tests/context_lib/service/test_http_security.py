"""Authentication, roles and tenant isolation on every endpoint of the live HTTP API."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Route

from context_lib.service import ContextService, create_app
from tests.context_lib.service.conftest import TenantKeys, add_tenant

# (method, path, needed role, JSON body) for every authenticated endpoint.
ENDPOINTS: list[tuple[str, str, str, Any]] = [
    ("GET", "/v1/tenant", "read", None),
    ("PATCH", "/v1/tenant", "admin", {"retention_days": 30}),
    ("DELETE", "/v1/tenant?confirm=wrong", "admin", None),
    ("GET", "/v1/export", "admin", None),
    ("GET", "/v1/audit", "admin", None),
    ("GET", "/v1/analytics", "read", None),
    ("GET", "/v1/keys", "admin", None),
    ("POST", "/v1/keys", "admin", {"role": "read"}),
    ("DELETE", "/v1/keys/000000000000", "admin", None),
    ("GET", "/v1/contexts", "read", None),
    ("GET", "/v1/contexts/main", "read", None),
    ("PATCH", "/v1/contexts/main", "write", {"set": {"x": 1}}),
    ("DELETE", "/v1/contexts/main", "write", None),
    ("GET", "/v1/contexts/main/keys", "read", None),
    ("GET", "/v1/contexts/main/history", "read", None),
    ("GET", "/v1/contexts/main/values/secret.plan", "read", None),
    ("PUT", "/v1/contexts/main/values/secret.plan", "write", {"value": 1}),
    ("DELETE", "/v1/contexts/main/values/secret.plan", "write", None),
]
ROLES = ("read", "write", "admin")


def _template(path: str) -> str:
    path = path.split("?")[0]
    for concrete, template in (
        ("/v1/keys/000000000000", "/v1/keys/{key_id}"),
        ("/values/secret.plan", "/values/{key}"),
        ("/v1/contexts/main", "/v1/contexts/{context}"),
    ):
        path = path.replace(concrete, template)
    return path


def test_the_table_covers_every_authenticated_route(shared_service: ContextService) -> None:
    app = create_app(shared_service, purge_interval=None)
    served = {
        (method, route.path)
        for route in app.routes
        if isinstance(route, Route) and route.path not in ("/health", "/openapi.json")
        for method in (route.methods or ()) - {"HEAD"}
    }
    assert served == {(m, _template(p)) for m, p, _, _ in ENDPOINTS}


def send(http: httpx.Client, method: str, path: str, key: str | None, body: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return http.request(method, path, headers=headers, json=body)


@pytest.mark.parametrize(("method", "path", "role", "body"), ENDPOINTS)
def test_every_endpoint_refuses_missing_unknown_and_revoked_keys(
    http: httpx.Client,
    shared_service: ContextService,
    method: str,
    path: str,
    role: str,
    body: Any,
) -> None:
    t = add_tenant(shared_service, "Victim")
    send(http, "PUT", "/v1/contexts/main/values/secret.plan", t.write, {"value": "launch"})
    revoked = shared_service.issue_key(t.id, "admin")[1]
    shared_service.revoke(shared_service.authorize(t.admin, "admin", "x"), revoked.split("_")[1])
    forged = t.admin[:-4] + ("AAAA" if not t.admin.endswith("AAAA") else "BBBB")
    for key in (None, "Bearer-less", "garbage", forged, revoked):
        response = send(http, method, path, key, body)
        assert response.status_code == 401, (key, response.text)
        assert response.json()["code"] == "unauthenticated"
        assert "launch" not in response.text
    for weak in ROLES[: ROLES.index(role)]:
        response = send(http, method, path, getattr(t, weak), body)
        assert response.status_code == 403 and response.json()["code"] == "forbidden"
    # Nothing the refused requests sent was applied.
    read = shared_service.authorize(t.read, "read", "get")
    assert shared_service.get_context(read, "main") == {"secret.plan": "launch"}
    assert shared_service.info(read)["limits"]["retention_days"] is None
    assert len(shared_service.api_keys(shared_service.authorize(t.admin, "admin", "x"))) == 4
    assert shared_service.verify_audit(t.id).ok


def _snapshot(service: ContextService, t: TenantKeys) -> dict[str, Any]:
    p = service.authorize(t.admin, "admin", "snapshot")
    return {
        "values": {c: service.get_context(p, c) for c in service.contexts(p)},
        "history": {c: service.history(p, c) for c in service.contexts(p)},
        "keys": [(k["key_id"], k["revoked"]) for k in service.api_keys(p)],
        "info": service.info(p),
    }


@pytest.mark.parametrize(("method", "path", "role", "body"), ENDPOINTS)
def test_no_endpoint_lets_one_tenant_read_change_or_infer_another(
    http: httpx.Client,
    shared_service: ContextService,
    method: str,
    path: str,
    role: str,
    body: Any,
) -> None:
    bob = add_tenant(shared_service, "Bob")
    alice = add_tenant(shared_service, "Alice")
    secret = "bob-launch-code-7731"
    send(http, "PUT", "/v1/contexts/main/values/secret.plan", bob.write, {"value": secret})
    bob_key_id = bob.read.split("_")[1]
    before = _snapshot(shared_service, bob)

    concrete = path.replace("000000000000", bob_key_id)
    response = send(http, method, concrete, alice.admin, body)
    assert secret not in response.text
    assert bob.id not in response.text and "Bob" not in response.text
    assert bob_key_id not in response.text or method == "DELETE"
    if method == "GET" and "/values/" in path:
        # Bob's key and a key nobody has answer identically: nothing to infer.
        nowhere = send(http, "GET", "/v1/contexts/main/values/never.set", alice.admin, None)
        assert response.status_code == nowhere.status_code == 404
        assert response.json()["code"] == nowhere.json()["code"] == "key_not_found"
    if path.startswith("/v1/keys/"):
        assert response.status_code == 404
    assert _snapshot(shared_service, bob) == before
    bob_view = send(http, "GET", "/v1/contexts/main/values/secret.plan", bob.read, None)
    assert bob_view.json()["value"] == secret
