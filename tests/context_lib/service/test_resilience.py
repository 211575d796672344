"""Issue 17 items 4, 6, 7 and 8: a locked store, long histories, login floods, data at rest."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from context_lib.service import ContextService, KeyRing, SQLiteBackend
from context_lib.service.audit import open_payload
from context_lib.service.witness import Witness
from tests.context_lib.service.conftest import MASTER, LiveServer, add_tenant, make_service

_HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
db.execute("ROLLBACK")
"""


def sqlite_service(tmp_path: Path, busy_timeout: float) -> ContextService:
    keyring = KeyRing(MASTER)
    return ContextService(
        SQLiteBackend(tmp_path / "service.db", busy_timeout=busy_timeout),
        keyring,
        witness=Witness(tmp_path / "witness.log", keyring.witness_key),
    )


class LockHolder:
    """Another process holding the SQLite write lock until released."""

    def __init__(self, db: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _HOLD_LOCK, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def __enter__(self) -> LockHolder:
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "locked"  # waits for the event
        return self

    def release(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if not self.proc.stdin.closed:
            self.proc.stdin.write("\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=60)
            self.proc.stdout.close()

    def __exit__(self, *exc: object) -> None:
        self.release()


@pytest.fixture
def slow_lock_service(tmp_path: Path) -> Iterator[ContextService]:
    service = sqlite_service(tmp_path, busy_timeout=60.0)
    yield service
    service.close()


def test_a_locked_store_stalls_only_the_writes_waiting_for_it(
    slow_lock_service: ContextService, tmp_path: Path
) -> None:
    service = slow_lock_service
    t = add_tenant(service, "Busy")
    entered = threading.Event()
    backend = service.backend
    assert isinstance(backend, SQLiteBackend)
    group = backend.group

    def watched_group() -> Any:
        entered.set()  # the writer is about to wait for the write lock
        return group()

    backend.group = watched_group  # type: ignore[method-assign]
    headers = {"Authorization": f"Bearer {t.write}"}
    with LiveServer(service) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        http.put("/v1/contexts/app/values/before", headers=headers, json={"value": 1})
        results: list[httpx.Response] = []
        with LockHolder(tmp_path / "service.db") as holder:
            entered.clear()
            writer = threading.Thread(
                target=lambda: results.append(
                    http.put("/v1/contexts/app/values/x", headers=headers, json={"value": 2})
                )
            )
            writer.start()
            assert entered.wait(60)  # the write is in the store, waiting for the lock
            with httpx.Client(base_url=server.url, timeout=30) as other:
                assert other.get("/health").json() == {"status": "ok"}
                read = other.get("/v1/contexts/app/values/before", headers=headers)
                assert read.json()["value"] == 1  # reads do not wait for the writer
            assert writer.is_alive() and not results  # still waiting: nothing answered it
            holder.release()
            writer.join(60)
        assert results[0].status_code == 200  # acknowledged once it could commit
        assert http.get("/v1/contexts/app/values/x", headers=headers).json()["value"] == 2


def test_a_write_that_cannot_get_the_lock_gets_503_with_retry_after(tmp_path: Path) -> None:
    service = sqlite_service(tmp_path, busy_timeout=0.2)
    t = add_tenant(service, "Busy")
    headers = {"Authorization": f"Bearer {t.write}"}
    try:
        with LiveServer(service) as server, httpx.Client(base_url=server.url, timeout=60) as http:
            with LockHolder(tmp_path / "service.db"):
                refused = http.put("/v1/contexts/app/values/x", headers=headers, json={"value": 1})
                assert refused.status_code == 503
                assert refused.json()["code"] == "unavailable"
                assert int(refused.headers["retry-after"]) >= 1
                assert http.get("/health").status_code == 200
            missing = http.get("/v1/contexts/app/values/x", headers=headers)
            assert missing.status_code == 404  # nothing was written
            again = http.put("/v1/contexts/app/values/x", headers=headers, json={"value": 1})
            assert again.status_code == 200
        assert service.verify_audit().ok
    finally:
        service.close()


def test_history_and_export_reach_every_one_of_more_than_1000_changes(
    service: ContextService,
) -> None:
    t = add_tenant(service, "Chatty")
    p = service.authorize(t.write, "write", "set")
    total = 1205
    for i in range(total):
        service.write(p, "log", {"counter": i, **({"odd": i} if i % 2 else {})})
    expected = total + total // 2
    headers = {"Authorization": f"Bearer {t.admin}"}
    with LiveServer(service) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        newest = http.get("/v1/contexts/log/history", headers=headers).json()
        assert len(newest["history"]) == 1000 and newest["history"][-1]["seq"] == expected
        seen: list[int] = []
        params: dict[str, Any] = {"since": 0, "limit": 400}
        while True:
            page = http.get("/v1/contexts/log/history", headers=headers, params=params).json()
            seen += [c["seq"] for c in page["history"]]
            if page["next_after"] is None:
                break
            params = {"after": page["next_after"], "limit": 400}
        assert seen == list(range(1, expected + 1))
        only_odd = http.get(
            "/v1/contexts/log/history", headers=headers, params={"key": "odd", "after": 0}
        ).json()
        assert [c["after"] for c in only_odd["history"]] == list(range(1, total, 2))
        with http.stream("GET", "/v1/export", headers=headers) as response:
            assert response.headers.get("transfer-encoding") == "chunked"  # streamed
            dump = json.loads(response.read())
    history = dump["contexts"]["log"]["history"]
    assert [c["seq"] for c in history] == list(range(1, expected + 1))
    assert history[0]["after"] == 0 and history[-1]["key"] in ("counter", "odd")


def test_a_flood_of_bad_keys_costs_a_bounded_number_of_audit_rows(tmp_path: Path) -> None:
    service = make_service("sqlite", tmp_path, clock=lambda: 1_000_000.0)  # no refills
    t = add_tenant(service, "Target")
    db = tmp_path / "service.db"

    def rows() -> int:
        with sqlite3.connect(db) as conn:
            return int(conn.execute("SELECT COUNT(*) FROM audit").fetchone()[0])

    before = rows()
    statuses: dict[int, int] = {}
    with LiveServer(service) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        for i in range(2000):
            key = [None, "garbage", f"cck_{i:012d}_guess", t.admin[:-3] + "xyz"][i % 4]
            headers = {"Authorization": f"Bearer {key}"} if key else {}
            status = http.get("/v1/contexts/app", headers=headers).status_code
            statuses[status] = statuses.get(status, 0) + 1
        # The flooding source is throttled, whatever key it sends next.
        throttled = http.get("/v1/contexts/app", headers={"X-API-Key": t.read})
        assert throttled.status_code == 429 and int(throttled.headers["retry-after"]) >= 1
    service.flush_failures()
    burst = service.auth_failures.burst
    assert statuses == {401: burst, 429: 2000 - burst}
    grown = rows() - before
    bound = service.auth_failures.max_groups + 2  # + one overflow group per chain
    assert 0 < grown <= bound, grown
    counted = 0
    for chain in service.backend.audit_chains():
        trail_keys = service.keyring.audit_keys(chain)
        for entry in service.backend.read_audit(chain)[0]:
            if entry.action == "auth.failed":
                payload = open_payload(trail_keys, entry)
                assert payload is not None and payload["source"] in ("127.0.0.1", "*")
                counted += payload["count"]
    assert counted == 2001  # every refusal is counted, none has a row of its own
    assert service.verify_audit().ok
    service.close()


def test_personal_data_is_encrypted_at_rest_and_deleted_rows_are_zeroed(
    service: ContextService, tmp_path: Path
) -> None:
    email = "alice.unique@example.com"
    t = add_tenant(service, "Zebulon Unique Corp")
    p = service.authorize(t.write, "write", "set")
    service.write(p, "profile", {"user.email": email}, who=email)
    service.write(p, "profile", {"user.email": "changed"}, who=email)
    headers = {"Authorization": f"Bearer {email}"}  # a failed login carrying the e-mail
    with LiveServer(service) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/tenant", headers=headers).status_code == 401
        assert http.get("/v1/tenant", headers={"Authorization": f"Bearer {t.read}"}).is_success
    service.flush_failures()

    def stored() -> bytes:
        with sqlite3.connect(tmp_path / "service.db") as conn:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return b"".join(f.read_bytes() for f in tmp_path.iterdir() if f.is_file())

    data = stored()
    assert email.encode() not in data  # values, history, audit payloads: all encrypted
    assert b"Zebulon Unique Corp" in data  # the tenant's name is kept until erasure
    service.erase(t.id)
    assert b"Zebulon Unique Corp" not in stored()  # secure_delete zeroed the old row
    assert service.verify_audit().ok
