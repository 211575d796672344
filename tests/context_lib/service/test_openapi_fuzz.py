"""Property test over the service's own OpenAPI document (schemathesis), on a live server.

Every operation gets requests generated from its schema (bounded, so the whole module
stays well under a minute); whatever they send, the answer is JSON, never a 5xx, and
afterwards every endpoint still answers and the audit chain still verifies.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from context_lib.service import ContextService
from context_lib.service.openapi import openapi_document
from tests.context_lib.service.conftest import LiveServer, TenantKeys, add_tenant, make_service


class Target:
    def __init__(self, server: LiveServer, service: ContextService, tenant: TenantKeys) -> None:
        self.server = server
        self.service = service
        self.tenant = tenant
        self.http = httpx.Client(
            base_url=server.url,
            headers={"Authorization": f"Bearer {tenant.admin}"},
            timeout=30,
        )


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    service = make_service("sqlite", tmp_path_factory.mktemp("fuzz"))
    tenant = add_tenant(service, "Fuzzed", rate=1e6, burst=10**6)
    with LiveServer(service, max_body=MAX_BODY) as server:
        target = Target(server, service, tenant)
        seed = {"set": {"a": 1, "b.c": {"d": [1.5, "x", None, True]}}, "who": "seed"}
        assert target.http.patch("/v1/contexts/main", json=seed).status_code == 200
        yield target
        target.http.close()
    service.close()


MAX_BODY = 64 * 1024
# The document the live server serves at /openapi.json (a test below checks they match).
schema = schemathesis.openapi.from_dict(openapi_document(MAX_BODY))


@schema.parametrize()
@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_no_request_the_schema_allows_breaks_the_service(
    case: schemathesis.Case, target: Target
) -> None:
    response = case.call(
        base_url=target.server.url,
        headers={"Authorization": f"Bearer {target.tenant.admin}"},
        timeout=30,
    )
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
    body = response.json()  # every answer is JSON
    if response.status_code >= 400:
        assert set(body) == {"code", "message"} and "\n" not in body["message"]
    for path in ("/health", "/v1/audit", "/v1/export"):
        after = target.http.get(path)
        assert after.status_code in (200, 401), (path, after.text[:300])  # 401: erased


def test_the_fuzzed_document_is_the_one_served(target: Target) -> None:
    assert target.http.get("/openapi.json").json() == openapi_document(MAX_BODY)


def test_the_chain_verifies_after_the_fuzzing(target: Target) -> None:
    assert target.service.verify_audit().ok
