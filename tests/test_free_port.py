"""The suite's free ports: never handed out twice, never in the kernel's ephemeral range
(where ``bind(0)`` and outgoing connections could take them before a server binds)."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests import conftest
from tests.conftest import free_port


def _ephemeral_low() -> int:
    return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])


def test_ports_are_unique_and_below_the_ephemeral_range() -> None:
    ports = [free_port() for _ in range(200)]
    assert len(set(ports)) == len(ports)
    assert all(1024 <= port < _ephemeral_low() for port in ports)


def test_a_port_taken_outside_the_session_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    taken = free_port()  # free now; then an outside listener takes it
    with socket.socket() as outside:
        outside.bind(("127.0.0.1", taken))
        outside.listen()
        index = conftest._PORTS.index(taken)
        monkeypatch.setattr(conftest, "_next_port", index)  # free_port tries it next
        port = free_port()
        assert port != taken
        with socket.socket() as ours:
            ours.bind(("127.0.0.1", port))
