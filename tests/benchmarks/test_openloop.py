"""The open-loop generator charges a stalled server for the requests that queued behind it."""

from __future__ import annotations

import argparse
import asyncio

from benchmarks.openloop import percentile, run


def _args(port: int, rate: float, duration: float) -> argparse.Namespace:
    return argparse.Namespace(
        url=f"http://127.0.0.1:{port}",
        rate=rate,
        connections=1,
        duration=duration,
        op="get",
        token="-",
        tag="t",
    )


async def _drive(stall_s: float, rate: float, status: int = 200) -> dict[str, object]:
    """A server whose FIRST response is held for ``stall_s``; the rest answer at once."""
    served = 0

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                served += 1
                if served == 1:
                    await asyncio.sleep(stall_s)  # the stall being simulated, not a wait
                body = b"{}"
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        return await run(_args(port, rate, duration=1.0))


def test_latency_counts_from_the_intended_send_time() -> None:
    # 100 req/s on one connection, the first answer held 0.5 s: the ~50 requests intended
    # during the stall are sent late, and each is charged from its intended time. A
    # closed-loop client would record one slow request of 100, so its p99 would be fast;
    # here at least a quarter of the requests waited >= 0.25 s, whatever the machine's load.
    stats = asyncio.run(_drive(stall_s=0.5, rate=100))
    assert stats["requests"] == 100
    assert stats["bad"] == stats["errors"] == stats["not_sent"] == 0
    assert int(stats["p99_us"]) >= 400_000  # type: ignore[call-overload]
    assert int(stats["max_us"]) >= 500_000  # type: ignore[call-overload]


def test_closed_loop_sends_on_answer_and_counts_non_2xx() -> None:
    stats = asyncio.run(_drive(stall_s=0.0, rate=0, status=503))
    assert int(stats["requests"]) > 0  # type: ignore[call-overload]
    assert stats["bad"] == stats["requests"]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0
