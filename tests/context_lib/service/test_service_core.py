"""The service's behaviour through its Python API, over SQLite and over Redis."""

from __future__ import annotations

from pathlib import Path

import pytest

from context_lib.service import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ContextService,
    KeyRing,
    NotFoundError,
    PermissionDeniedError,
    QuotaExceededError,
    RateLimitedError,
    SQLiteBackend,
    open_backend,
)
from tests.context_lib.helpers import assert_all_closed, track_sqlite_connections
from tests.context_lib.service.conftest import add_tenant


def test_write_read_history_like_a_context(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Alice")
    w = any_service.authorize(t.write, "write", "set")
    assert any_service.write(w, "main", {"db.host": "h", "db.port": 5432}, who="setup") == [
        "db.host",
        "db.port",
    ]
    assert any_service.write(w, "main", {"db.host": "h"}) == []  # same value: nothing recorded
    assert any_service.write(w, "main", {"db.port": 6543}, ["db.host"], who="ops") == [
        "db.port",
        "db.host",
    ]
    r = any_service.authorize(t.read, "read", "get")
    assert any_service.get(r, "main", "db.port") == 6543
    assert any_service.get_context(r, "main") == {"db.port": 6543}
    assert any_service.keys(r, "main") == ["db.port"]
    assert any_service.contexts(r) == ["main"]
    history = any_service.history(r, "main")
    assert [(h["seq"], h["key"], h["op"], h["before"], h["after"], h["who"]) for h in history] == [
        (1, "db.host", "set", None, "h", "setup"),
        (2, "db.port", "set", None, 5432, "setup"),
        (3, "db.port", "set", 5432, 6543, "ops"),
        (4, "db.host", "delete", "h", None, "ops"),
    ]
    assert [h["seq"] for h in any_service.history(r, "main", key="db.port", limit=1)] == [3]
    with pytest.raises(NotFoundError) as info:
        any_service.get(r, "main", "db.host")
    assert info.value.code == "key_not_found"
    assert any_service.info(r)["usage"] == {"keys": 1}
    assert any_service.verify_audit().ok


def test_roles_and_key_revocation(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Alice")
    with pytest.raises(PermissionDeniedError, match="'read' role"):
        any_service.authorize(t.read, "write", "set")
    with pytest.raises(PermissionDeniedError):
        any_service.authorize(t.write, "admin", "key.create")
    admin = any_service.authorize(t.admin, "admin", "key.create")
    read_id = t.read.split("_")[1]
    any_service.revoke(admin, read_id)
    with pytest.raises(AuthenticationError):
        any_service.authorize(t.read, "read", "get")
    assert [k["revoked"] is not None for k in any_service.api_keys(admin)].count(True) == 1
    for bad in (None, "", "nonsense", "cck_000000000000_guess", t.admin[:-2] + "xx"):
        with pytest.raises(AuthenticationError):
            any_service.authorize(bad, "read", "get")
    any_service.flush_failures()  # failed authentications are audited per window
    trail = any_service.audit_trail(admin)
    assert trail["verified"]
    assert {(e["action"], e["status"]) for e in trail["entries"]} >= {
        ("set", 403),
        ("key.create", 403),
        ("key.revoke", 200),
        ("auth.failed", 401),
    }
    failed = [e["payload"] for e in trail["entries"] if e["action"] == "auth.failed"]
    assert {(f["key_id"], f["count"], f["source"]) for f in failed} == {
        (read_id, 1, "-"),  # the revoked key
        (t.admin.split("_")[1], 1, "-"),  # the admin key with a wrong secret
    }
    assert any_service.verify_audit().ok


def test_key_quota_refuses_the_whole_write(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Small", max_keys=3)
    w = any_service.authorize(t.write, "write", "set")
    any_service.write(w, "a", {"k1": 1, "k2": 2})
    with pytest.raises(QuotaExceededError, match="quota is 3 keys"):
        any_service.write(w, "b", {"k3": 3, "k4": 4})
    assert any_service.get_context(w, "b") == {}
    assert any_service.info(w)["usage"] == {"keys": 2}
    any_service.write(w, "a", {"k1": 10, "k3": 3})  # updates do not count; one new key fits
    assert any_service.write(w, "a", {"k4": 4}, ["k1"]) == ["k4", "k1"]  # swap stays at 3
    assert any_service.info(w)["usage"] == {"keys": 3}
    assert any_service.verify_audit().ok


def test_deleting_a_key_twice_in_one_write_counts_it_once(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Twice", max_keys=2)
    w = any_service.authorize(t.write, "write", "set")
    any_service.write(w, "a", {"k1": 1, "k2": 2})
    assert any_service.write(w, "a", None, ["k1", "k1"]) == ["k1"]
    assert any_service.info(w)["usage"] == {"keys": 1}
    assert [c["op"] for c in any_service.history(w, "a", key="k1")] == ["set", "delete"]
    with pytest.raises(QuotaExceededError):  # the quota still holds: 1 stored + 2 new > 2
        any_service.write(w, "a", {"x": 1, "y": 2})


def test_rate_limit_refuses_with_a_retry_time(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Busy", rate=0.01, burst=3)
    for _ in range(3):
        any_service.authorize(t.read, "read", "get")
    with pytest.raises(RateLimitedError) as info:
        any_service.authorize(t.read, "read", "get")
    assert info.value.status == 429 and info.value.retry_after > 1
    other = add_tenant(any_service, "Calm")
    any_service.authorize(other.read, "read", "get")  # limits are per tenant


def test_invalid_input_changes_nothing(any_service: ContextService) -> None:
    t = add_tenant(any_service, "Alice")
    w = any_service.authorize(t.write, "write", "set")
    cases = [
        ("main", {"good": 1, "bad key": 2}, []),
        ("main", {"good": 1, "nan": float("nan")}, []),
        ("main", {"good": 1, "x": {1, 2}}, []),
        ("bad/context", {"good": 1}, []),
        ("main", {"good": 1}, ["good"]),
        ("main", {"k" * 300: 1}, []),
    ]
    for context, values, delete in cases:
        with pytest.raises(BadRequestError):
            any_service.write(w, context, values, delete)
    assert any_service.contexts(w) == []
    with pytest.raises(NotFoundError):
        any_service.write(w, "main", {"good": 1}, ["absent"], must_exist=True)
    assert any_service.keys(w, "main") == []


def test_export_and_erase(any_service: ContextService) -> None:
    alice = add_tenant(any_service, "Alice")
    bob = add_tenant(any_service, "Bob")
    a = any_service.authorize(alice.admin, "admin", "set")
    b = any_service.authorize(bob.admin, "admin", "set")
    any_service.write(a, "profile", {"user.email": "alice@example.com"}, who="alice")
    any_service.write(b, "profile", {"user.email": "bob@example.com"})
    dump = any_service.export(a)
    assert dump["contexts"]["profile"]["values"] == {"user.email": "alice@example.com"}
    assert dump["contexts"]["profile"]["history"][0]["who"] == "alice"
    assert {k["role"] for k in dump["api_keys"]} == {"admin", "write", "read"}
    assert all("digest" not in k for k in dump["api_keys"])
    assert dump["audit"] and dump["tenant"]["name"] == "Alice"
    assert "bob" not in str(dump)

    any_service.erase(alice.id, actor="operator")
    with pytest.raises(AuthenticationError):
        any_service.authorize(alice.admin, "read", "get")
    with pytest.raises(NotFoundError):
        any_service.tenant(alice.id)
    entries, _ = any_service.backend.read_audit(alice.id)
    assert entries[-1].action == "tenant.erase"
    assert all(e.sealed is None for e in entries)  # personal payloads erased
    assert sum(e.erased is not None for e in entries) > 0
    assert "alice@example.com" not in str(entries)
    report = any_service.verify_audit()
    assert report.ok and report.erased_payloads > 0
    assert any_service.get(b, "profile", "user.email") == "bob@example.com"


def test_retention_purges_old_history_and_audit_payloads(any_service: ContextService) -> None:
    now = [1_000_000.0]
    any_service.clock = lambda: now[0]
    t = add_tenant(any_service, "Alice", retention_days=1)
    keep = add_tenant(any_service, "Forever")
    w = any_service.authorize(t.write, "write", "set")
    k = any_service.authorize(keep.write, "write", "set")
    any_service.write(w, "main", {"a": 1})
    any_service.write(k, "main", {"a": 1})
    now[0] += 2 * 86_400
    any_service.write(w, "main", {"a": 2})
    assert any_service.purge_expired() == {t.id: 1}
    assert [h["after"] for h in any_service.history(w, "main")] == [2]
    assert len(any_service.history(k, "main")) == 1
    assert any_service.get(w, "main", "a") == 2
    report = any_service.verify_audit()
    assert report.ok and report.erased_payloads >= 1


def test_limits_are_validated(any_service: ContextService) -> None:
    for bad in ({"max_keys": 0}, {"burst": 1.5}, {"rate": "fast"}, {"colour": 1}):
        with pytest.raises(BadRequestError):
            any_service.create_tenant("X", **bad)
    with pytest.raises(BadRequestError):
        any_service.create_tenant("  ")
    t = add_tenant(any_service, "Alice")
    assert any_service.set_limits(t.id, max_keys=5).max_keys == 5
    with pytest.raises(BadRequestError, match="unknown role"):
        any_service.issue_key(t.id, "root")
    with pytest.raises(NotFoundError):
        any_service.issue_key("t_nope", "read")


def test_a_different_master_key_is_refused(tmp_path: Path) -> None:
    ContextService(SQLiteBackend(tmp_path / "s.db"), KeyRing(b"a" * 32))
    with pytest.raises(ConfigurationError, match="master key does not match"):
        ContextService(SQLiteBackend(tmp_path / "s.db"), KeyRing(b"b" * 32))


def test_a_file_that_is_not_a_database_is_one_error_and_leaks_no_connection(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = track_sqlite_connections(monkeypatch)
    path = tmp_path / "notes.db"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(ConfigurationError, match="file is not a database"):
        open_backend(f"sqlite:///{path}")
    assert_all_closed(made)
