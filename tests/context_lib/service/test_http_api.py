"""The live HTTP API: JSON errors, bad input, size limits, OpenAPI, health."""

from __future__ import annotations

import httpx

from context_lib.service import ContextService, create_app
from tests.context_lib.service.conftest import add_tenant


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_set_get_delete_round_trip(http: httpx.Client, shared_service: ContextService) -> None:
    t = add_tenant(shared_service, "Alice")
    put = http.put("/v1/contexts/app/values/db.port", headers=auth(t.write), json={"value": 5432})
    assert put.status_code == 200 and put.json() == {"changed": ["db.port"]}
    got = http.get("/v1/contexts/app/values/db.port", headers={"X-API-Key": t.read})
    assert got.json() == {"key": "db.port", "value": 5432}
    batch = http.patch(
        "/v1/contexts/app",
        headers=auth(t.write),
        json={
            "set": {"db.host": "h", "db.opts": {"ssl": True}},
            "delete": ["db.port"],
            "who": "ops",
        },
    )
    assert batch.json() == {"changed": ["db.host", "db.opts", "db.port"]}
    whole = http.get("/v1/contexts/app", params={"prefix": "db"}, headers=auth(t.read)).json()
    assert whole == {"context": "app", "values": {"db.host": "h", "db.opts": {"ssl": True}}}
    gone = http.delete("/v1/contexts/app/values/db.port", headers=auth(t.write))
    assert gone.status_code == 404 and gone.json()["code"] == "key_not_found"
    assert http.delete("/v1/contexts/app", headers=auth(t.write)).json() == {
        "changed": ["db.host", "db.opts"]
    }
    assert http.get("/v1/contexts", headers=auth(t.read)).json() == {"contexts": []}


def test_bad_input_gets_a_4xx_json_error_and_changes_nothing(
    http: httpx.Client, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Alice")
    h = auth(t.write)
    http.put("/v1/contexts/app/values/a", headers=h, json={"value": 1})
    cases = [
        ("PUT", "/v1/contexts/app/values/a", b"{not json", "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": NaN}', "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b"[1, 2]", "invalid_json"),
        ("PUT", "/v1/contexts/app/values/a", b'{"val": 2}', "bad_request"),
        ("PUT", "/v1/contexts/app/values/a", b'{"value": 2, "who": 5}', "bad_request"),
        ("PUT", "/v1/contexts/app/values/bad..key", b'{"value": 2}', "invalid_key"),
        ("PUT", "/v1/contexts/b%20d/values/a", b'{"value": 2}', "invalid_context"),
        ("PATCH", "/v1/contexts/app", b'{"set": [1]}', "bad_request"),
        ("PATCH", "/v1/contexts/app", b'{"set": {"a": 2, "b c": 3}}', "invalid_key"),
        ("PATCH", "/v1/contexts/app", b'{"delete": "a"}', "bad_request"),
        ("PATCH", "/v1/contexts/app", b'{"sets": {}}', "bad_request"),
        ("GET", "/v1/contexts/app/history?limit=abc", b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?since=yesterday", b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?since=nan", b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?limit=5000", b"", "invalid_query"),
        ("GET", "/v1/contexts/app/history?limit=%C2%B2", b"", "invalid_query"),  # "²": was a 500
        ("GET", "/v1/analytics?top=%C2%B2", b"", "invalid_query"),
    ]
    for method, path, body, code in cases:
        response = http.request(
            method, path, headers={**h, "Content-Type": "application/json"}, content=body
        )
        assert 400 <= response.status_code < 500, (path, body, response.text)
        assert response.json()["code"] == code, (path, body, response.json())
        assert response.json()["message"]
    values = http.get("/v1/contexts/app", headers=h).json()["values"]
    assert values == {"a": 1}
    assert len(http.get("/v1/contexts/app/history", headers=h).json()["history"]) == 1


def test_oversize_bodies_get_413_and_change_nothing(
    http: httpx.Client, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Alice")
    h = auth(t.write)
    big = {"value": "x" * (70 * 1024)}  # the test server's limit is 64 KiB
    declared = http.put("/v1/contexts/app/values/a", headers=h, json=big)
    assert declared.status_code == 413 and declared.json()["code"] == "body_too_large"

    def chunks() -> object:
        for _ in range(80):
            yield b" " * 1024  # streamed without a Content-Length

    streamed = http.put("/v1/contexts/app/values/a", headers=h, content=chunks())  # type: ignore[arg-type]
    assert streamed.status_code == 413
    assert http.get("/v1/contexts/app/keys", headers=h).json() == {"keys": []}


def test_quota_and_rate_limit_over_http(http: httpx.Client, shared_service: ContextService) -> None:
    t = add_tenant(shared_service, "Small", max_keys=2)
    h = auth(t.write)
    too_many = http.patch("/v1/contexts/app", headers=h, json={"set": {"a": 1, "b": 2, "c": 3}})
    assert too_many.status_code == 413 and too_many.json()["code"] == "quota_exceeded"
    assert http.get("/v1/contexts/app/keys", headers=h).json() == {"keys": []}
    slow = add_tenant(shared_service, "Slow", rate=0.001, burst=2)
    statuses = [http.get("/v1/tenant", headers=auth(slow.read)) for _ in range(3)]
    assert [r.status_code for r in statuses] == [200, 200, 429]
    assert statuses[2].json()["code"] == "rate_limited"
    assert int(statuses[2].headers["retry-after"]) >= 1


def test_unknown_routes_and_methods_answer_json(http: httpx.Client) -> None:
    missing = http.get("/v2/nothing")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = http.post("/v1/contexts")
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    assert http.get("/health").json() == {"status": "ok"}


def test_openapi_document_lists_every_route(
    http: httpx.Client, shared_service: ContextService
) -> None:
    doc = http.get("/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    app = create_app(shared_service, purge_interval=None)
    for route in app.routes:
        for method in (getattr(route, "methods", None) or set()) - {"HEAD"}:
            assert method.lower() in doc["paths"][route.path], (method, route.path)  # type: ignore[attr-defined]


def test_key_management_tenant_settings_export_audit_and_erase(
    http: httpx.Client, shared_service: ContextService
) -> None:
    t = add_tenant(shared_service, "Alice")
    admin = auth(t.admin)
    made = http.post("/v1/keys", headers=admin, json={"role": "write", "name": "ci"})
    assert made.status_code == 201 and made.json()["api_key"].startswith("cck_")
    new_key = made.json()["api_key"]
    assert (
        http.put("/v1/contexts/c/values/k", headers=auth(new_key), json={"value": "v"}).status_code
        == 200
    )
    listed = http.get("/v1/keys", headers=admin).json()["keys"]
    assert {k["name"] for k in listed} >= {"ci"} and all("digest" not in k for k in listed)
    assert http.delete(f"/v1/keys/{made.json()['key_id']}", headers=admin).status_code == 200
    assert http.get("/v1/tenant", headers=auth(new_key)).status_code == 401
    patched = http.patch("/v1/tenant", headers=admin, json={"retention_days": 7})
    assert patched.json()["limits"]["retention_days"] == 7
    assert http.patch("/v1/tenant", headers=admin, json={"max_keys": 10**9}).status_code == 400
    export = http.get("/v1/export", headers=admin).json()
    assert export["contexts"]["c"]["values"] == {"k": "v"}
    audit = http.get("/v1/audit", headers=admin).json()
    assert audit["verified"] and {e["action"] for e in audit["entries"]} >= {
        "key.create",
        "write",
        "key.revoke",
    }
    analytics = http.get("/v1/analytics", headers=admin).json()
    assert analytics["operations"]["set"]["count"] == 1
    assert analytics["top_written_keys"] == [{"key": "c/k", "writes": 1}]
    refused = http.delete("/v1/tenant", headers=admin)
    assert refused.status_code == 400 and refused.json()["code"] == "confirmation_required"
    erased = http.delete("/v1/tenant", params={"confirm": t.id}, headers=admin)
    assert erased.json() == {"erased": t.id}
    assert http.get("/v1/tenant", headers=admin).status_code == 401
    assert shared_service.verify_audit(t.id).ok
