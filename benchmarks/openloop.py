"""An open-loop HTTP load generator with latency measured from the intended send time.

    .venv/bin/python benchmarks/openloop.py URL --rate 800 --connections 16 --duration 4 \
        [--op set|get] [--token KEY] [--tag R1]

Why this exists: wrk (what apt has) is closed-loop: each connection sends its next request
only after the previous answer, so a slow server is sent less work and its queueing delay
never shows in the latencies ("coordinated omission"). wrk2, which fixes that, is not
packaged for Debian, nor on PyPI or npm, and no Go toolchain recent enough for vegeta is
installed here. This generator follows wrk2's model, in its own process so that its CPU is
accounted apart from the servers':

* ``--connections`` keep-alive HTTP/1.1 connections, each with one request in flight, and
  a fixed schedule: request j of connection k is *intended* at ``t0 + (j*C + k) / rate``,
  i.e. the connections together offer ``rate`` requests per second at evenly spaced times.
* a request is sent at its intended time, or at once if its connection is still busy with
  an earlier one (then it is late); its latency is measured from the **intended** time to
  the end of the response, so a server that falls behind is charged for the wait.
* every request scheduled in ``[t0, t0 + duration)`` is sent; if the server is so far
  behind that some are still unsent at ``t0 + 3 * duration``, they are counted as
  ``not_sent`` and enter the percentiles with the latency they had reached by then (a
  lower bound, flagged in the output).
* ``--rate 0`` is closed-loop (send on answer, as wrk does), used only to calibrate.

Output: one line ``OPENLOOP {json}`` with requests completed, duration (t0 to the last
response), p50/p99/max latency in µs, non-2xx and errors, ``cpu_s`` (this process's CPU
while sending, interpreter start excluded), and ``sched_lag_p99_us``: how late
the generator itself sent requests whose connection was idle (its own scheduling delay,
which would otherwise hide in the latencies; it should stay far below the p50).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

MAX_LAG_FACTOR = 3.0  # stop sending at t0 + 3 * duration


@dataclass
class Tally:
    latencies_us: list[float] = field(default_factory=list)
    sched_lag_us: list[float] = field(default_factory=list)
    bad: int = 0
    errors: int = 0
    not_sent: int = 0
    last_done: float = 0.0


def request_bytes(op: str, host: str, token: str, tag: str, conn: int, j: int) -> bytes:
    """The same requests as the wrk script: a fresh key per write, 100 keys read back."""
    auth = f"Authorization: Bearer {token}\r\n" if token != "-" else ""
    if op == "set":
        path = f"/v1/contexts/bench/values/o{tag}c{conn}.k{j}"
        body = f'{{"value":{{"n":{j},"tags":["a","b"],"ok":true,"x":1.5}}}}'.encode()
        head = (
            f"PUT {path} HTTP/1.1\r\nHost: {host}\r\n{auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body
    path = f"/v1/contexts/bench/values/r0t{conn % 2 + 1}.k{j % 100 + 1}"
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode()


async def read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response with a Content-Length body; return its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def connection(k: int, args: argparse.Namespace, t0: float, tally: Tally) -> None:
    url = urlsplit(args.url)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    reader, writer = await asyncio.open_connection(host, port)
    interval = args.connections / args.rate if args.rate > 0 else 0.0
    end = t0 + args.duration
    stop = t0 + MAX_LAG_FACTOR * args.duration
    loop = asyncio.get_running_loop()
    j = 0
    try:
        while True:
            now = loop.time()
            intended = t0 + (j * args.connections + k) / args.rate if interval else now
            if intended >= end or (not interval and now >= end):
                break
            if now >= stop:  # hopelessly behind: count what was never sent
                tally.not_sent += 1
                tally.latencies_us.append((now - intended) * 1e6)
                j += 1
                continue
            if intended > now:
                await asyncio.sleep(intended - now)
                tally.sched_lag_us.append((loop.time() - intended) * 1e6)
            writer.write(request_bytes(args.op, url.netloc, args.token, args.tag, k, j))
            try:
                status = await read_response(reader)
            except (asyncio.IncompleteReadError, ConnectionError, ValueError):
                tally.errors += 1
                break
            done = loop.time()
            tally.latencies_us.append((done - intended) * 1e6)
            tally.last_done = max(tally.last_done, done)
            if not 200 <= status < 300:
                tally.bad += 1
            j += 1
    finally:
        writer.close()


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (exact, from all samples)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, int(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


async def run(args: argparse.Namespace) -> dict[str, object]:
    tally = Tally()
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.05  # connections open before the first intended send
    cpu0 = time.process_time()
    await asyncio.gather(*(connection(k, args, t0, tally) for k in range(args.connections)))
    cpu = time.process_time() - cpu0
    completed = len(tally.latencies_us) - tally.not_sent
    duration = max(tally.last_done - t0, 1e-9)
    return {
        "requests": completed,
        "duration_us": round(duration * 1e6),
        "offered_rate": args.rate,
        "p50_us": round(percentile(tally.latencies_us, 50)),
        "p99_us": round(percentile(tally.latencies_us, 99)),
        "max_us": round(max(tally.latencies_us, default=0.0)),
        "bad": tally.bad,
        "errors": tally.errors,
        "not_sent": tally.not_sent,
        "sched_lag_p99_us": round(percentile(tally.sched_lag_us, 99)),
        "cpu_s": cpu,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="http://127.0.0.1:PORT")
    parser.add_argument("--rate", type=float, required=True, help="requests/s offered; 0 = closed")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds of schedule")
    parser.add_argument("--op", choices=("set", "get"), default="set")
    parser.add_argument("--token", default="-", help="bearer token, '-' for none")
    parser.add_argument("--tag", default="0", help="key prefix, distinct per run")
    args = parser.parse_args(argv)
    if args.rate < 0 or args.connections < 1 or args.duration <= 0:
        parser.error("rate >= 0, connections >= 1 and duration > 0")
    stats = asyncio.run(run(args))
    print("OPENLOOP " + json.dumps(stats), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
