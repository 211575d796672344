"""A hub that cannot start says why in one line and leaves no process behind."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from context_course.hub import launch
from context_course.hub.launch import HubError, _why, start_hub
from tests.context_course.hub.conftest import make_course, plan_test_hub
from tests.services import require_binary

pytestmark = [pytest.mark.slow, pytest.mark.hub]


def _plan(tmp_path: Path) -> launch.HubPlan:
    return plan_test_hub(make_course(tmp_path / "course"))


def _proxies_on(port: int) -> list[int]:
    """Processes whose command line names ``port`` (a proxy started for this plan)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue  # not a process, or gone
        if b"configurable-http-proxy" in b" ".join(cmdline) and str(port).encode() in cmdline:
            found.append(int(entry.name))
    return found


def test_a_busy_port_is_named_before_anything_starts(tmp_path: Path) -> None:
    plan = _plan(tmp_path)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", plan.proxy_api_port))
        busy.listen()
        with pytest.raises(HubError, match=rf"port {plan.proxy_api_port} \(the proxy's API\)"):
            start_hub(plan)
    assert not (plan.state_dir / "jupyterhub.log").exists()  # nothing was started


def test_a_hub_that_dies_at_start_reports_its_error_and_leaves_no_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What CI saw: the hub's API port taken between planning and binding. The proxy had
    started; the hub died; the message showed only the proxy's 404 lines."""
    require_binary("chp", "configurable-http-proxy")
    plan = _plan(tmp_path)
    monkeypatch.setattr(launch, "_check_ports_free", lambda plan: None)  # lose the race
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", plan.hub_api_port))
        busy.listen()
        with pytest.raises(HubError) as failed:
            start_hub(plan, ready_timeout=300)
    assert "Address already in use" in str(failed.value)
    assert "\n" not in str(failed.value)
    # killed, or being stopped by the dying hub: gone soon either way (zombies have no
    # command line), never left serving
    deadline = time.monotonic() + 60
    while _proxies_on(plan.proxy_api_port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _proxies_on(plan.proxy_api_port) == []


def test_the_reason_is_the_hubs_exception_not_the_proxys_last_lines(tmp_path: Path) -> None:
    log = tmp_path / "jupyterhub.log"
    log.write_text(
        "[I 2026-12-02 19:14:20.001 JupyterHub proxy:787] Starting proxy\n"
        "[E 2026-12-02 19:14:21.700 JupyterHub app:3917] Failed to bind hub\n"
        "    Traceback (most recent call last):\n"
        '      File "tornado/netutil.py", line 181, in bind_sockets\n'
        "        sock.bind(sockaddr)\n"
        "    OSError: [Errno 98] Address already in use\n"
        "    \n"
        "2026-12-02T19:14:21.755Z [ConfigProxy] error: 404 GET /hub/error/404\n"
        "2026-12-02T19:14:21.760Z [ConfigProxy] error: 404 GET /hub/error/404\n",
        encoding="utf-8",
    )
    assert _why(log) == "OSError: [Errno 98] Address already in use"
    earlier = log.stat().st_size  # the log is appended to: a later run starts here
    with log.open("a", encoding="utf-8") as more:
        more.write("[E 2026-12-02 19:20:00.000 JupyterHub app:1] no config\nbye\n")
    assert _why(log, earlier) == "[E 2026-12-02 19:20:00.000 JupyterHub app:1] no config"
