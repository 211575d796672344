"""Group commit keeps its promise: ``kill -9`` of a busy service loses no acknowledged write.

The service runs in its own process over SQLite; client threads write distinct keys
(several per batch, so batches really group) and note every write answered 2xx. Once
enough are acknowledged, the server gets SIGKILL with writes still in flight. The
store, reopened, must hold every acknowledged value with its history, and its audit
chain must verify against the witness.
"""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx

from context_lib.service import ContextService, KeyRing, SQLiteBackend
from context_lib.service.witness import Witness
from tests.conftest import free_port, wait_for_port
from tests.context_lib.service.conftest import MASTER, add_tenant

_SERVE = """
import sys
from context_lib.service import open_service, serve
serve(open_service(sys.argv[1]), "127.0.0.1", int(sys.argv[2]), log_level="warning")
"""
ACKNOWLEDGED_BEFORE_KILL = 400
CLIENTS = 12


def _open(tmp_path: Path) -> ContextService:
    keyring = KeyRing(MASTER)
    return ContextService(
        SQLiteBackend(tmp_path / "service.db"),
        keyring,
        witness=Witness(tmp_path / "witness.log", keyring.witness_key),
    )


def test_kill_9_mid_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    service = _open(tmp_path)
    tenant = add_tenant(service, "Durable", max_keys=10**6, rate=1e6, burst=10**6)
    service.close()
    port = free_port()
    env = {
        **os.environ,
        "CONTEXT_SERVICE_MASTER_KEY": base64.urlsafe_b64encode(MASTER).decode(),
        "CONTEXT_SERVICE_AUDIT_WITNESS": str(tmp_path / "witness.log"),
    }
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVE, f"sqlite:///{tmp_path / 'service.db'}", str(port)],
        env=env,
    )
    acknowledged: list[tuple[str, int]] = []
    lock = threading.Lock()
    enough = threading.Event()

    def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {tenant.write}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as http:
            for i in range(10**6):
                key = f"c{n}.k{i}"
                try:
                    answer = http.put(f"/v1/contexts/app/values/{key}", json={"value": i})
                except httpx.HTTPError:
                    return  # the server is gone
                assert answer.status_code == 200, answer.text
                with lock:
                    acknowledged.append((key, i))
                    if len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL:
                        enough.set()

    try:
        wait_for_port(port, process=server)
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        assert enough.wait(timeout=600), "the server did not acknowledge enough writes"
        server.send_signal(signal.SIGKILL)  # writes are in flight: clients are still busy
        assert server.wait(timeout=60) == -signal.SIGKILL
        for thread in threads:
            thread.join(timeout=120)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()

    service = _open(tmp_path)
    try:
        p = service.authorize(tenant.read, "read", "get")
        stored = service.get_context(p, "app")
        lost = [key for key, value in acknowledged if stored.get(key) != value]
        assert len(acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
        assert lost == [], f"{len(lost)} of {len(acknowledged)} acknowledged writes lost"
        changed: set[str] = set()
        after = 0
        while True:  # every page of the history
            page, more = service.history_page(p, "app", after=after)
            changed |= {c["key"] for c in page}
            if not more:
                break
            after = page[-1]["seq"]
        assert {key for key, _ in acknowledged} <= changed
        report = service.verify_audit()
        assert report.ok, report.problems
    finally:
        service.close()
