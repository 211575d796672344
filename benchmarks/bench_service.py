"""The Context service over HTTP against its floor and against bare Redis, in one run.

    .venv/bin/python benchmarks/bench_service.py [--clients 8] [--requests 300]

Three targets on loopback, each driven by ``--clients`` concurrent clients (threads
with one keep-alive connection each) doing ``--requests`` sets, then as many gets:

* **service**: ``context-course serve`` over SQLite, with authentication (hashed API
  key), per-tenant AES-GCM encryption, the hash-chained audit log (one entry per
  write), history, quotas, rate limiting and analytics all on;
* **floor**: a bare endpoint of the same framework and server (Starlette on uvicorn)
  that stores into a dict: what the framework costs with no work at all;
* **redis**: bare redis-server driven by redis-py SET/GET, for scale.

Servers run in their own processes; the same client code drives both HTTP targets.
Prints requests/s, p50 and p99 per target and operation, then the ratios. The goal:
service throughput >= 50% of the floor's, and service p99 <= 3x the floor's p99.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

ROOT = Path(__file__).resolve().parents[1]
THROUGHPUT_GOAL = 0.5
P99_GOAL = 3.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing answered on port {port}")


def floor_app() -> object:
    """Starlette + a dict: the same framework with no auth, crypto, audit or storage."""
    import json

    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    data: dict[str, object] = {}

    async def get(request: Request) -> Response:
        key = request.path_params["key"]
        if key not in data:
            return JSONResponse({"code": "key_not_found", "message": key}, status_code=404)
        return JSONResponse({"key": key, "value": data[key]})

    async def put(request: Request) -> Response:
        body = json.loads(await request.body())
        data[request.path_params["key"]] = body["value"]
        return JSONResponse({"changed": [request.path_params["key"]]})

    path = "/v1/contexts/{context}/values/{key}"
    return Starlette(routes=[Route(path, get, methods=["GET"]), Route(path, put, methods=["PUT"])])


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]


def percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


class Result:
    """Latencies and wall time of one target and operation, summed over rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0

    def add(self, latencies: list[float], seconds: float) -> None:
        self.latencies.extend(latencies)
        self.seconds += seconds

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def p50(self) -> float:
        return percentile(sorted(self.latencies), 0.50) * 1e3

    @property
    def p99(self) -> float:
        return percentile(sorted(self.latencies), 0.99) * 1e3


def drive(
    clients: int, requests: int, ops: list[Callable[[int], None]], offset: int
) -> tuple[list[float], float]:
    """Run ``clients`` threads, each calling its op ``requests`` times."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    barrier = threading.Barrier(clients + 1)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        op, mine = ops[n], latencies[n]
        barrier.wait()
        try:
            for i in range(offset, offset + requests):
                start = time.perf_counter()
                op(i)
                mine.append(time.perf_counter() - start)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return [x for per in latencies for x in per], elapsed


def http_ops(url: str, key: str | None) -> tuple[Callable[[int], Callable[[int], None]], ...]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    clients: dict[int, httpx.Client] = {}

    def client(n: int) -> httpx.Client:
        if n not in clients:
            clients[n] = httpx.Client(base_url=url, headers=headers, timeout=30)
        return clients[n]

    def setter(n: int) -> Callable[[int], None]:
        c = client(n)

        def op(i: int) -> None:
            r = c.put(
                f"/v1/contexts/bench/values/c{n}.k{i % 100}", json={"value": {"n": n, "i": i}}
            )
            r.raise_for_status()

        return op

    def getter(n: int) -> Callable[[int], None]:
        c = client(n)

        def op(i: int) -> None:
            c.get(f"/v1/contexts/bench/values/c{n}.k{i % 100}").raise_for_status()

        return op

    return setter, getter


def redis_ops(url: str) -> tuple[Callable[[int], Callable[[int], None]], ...]:
    def setter(n: int) -> Callable[[int], None]:
        r = redis.Redis.from_url(url)
        return lambda i: r.set(f"bench:c{n}.k{i % 100}", f'{{"n": {n}, "i": {i}}}') and None

    def getter(n: int) -> Callable[[int], None]:
        r = redis.Redis.from_url(url)
        return lambda i: r.get(f"bench:c{n}.k{i % 100}") and None

    return setter, getter


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--requests", type=int, default=300, help="per client and operation")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return 0

    from context_lib.service import new_master_key, open_service

    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    env = {**os.environ, "CONTEXT_SERVICE_MASTER_KEY": new_master_key()}
    os.environ["CONTEXT_SERVICE_MASTER_KEY"] = env["CONTEXT_SERVICE_MASTER_KEY"]
    store = f"sqlite:///{work / 'service.db'}"
    service = open_service(store)
    tenant = service.create_tenant("bench", max_keys=100_000, rate=1e9, burst=10**9)
    _, api_key = service.issue_key(tenant.id, "write")
    service.backend.close()

    procs: list[subprocess.Popen[bytes]] = []
    results: dict[tuple[str, str], Result] = {}
    try:
        service_port, floor_port = free_port(), free_port()
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "grader",
                    "serve",
                    "--store",
                    store,
                    "--port",
                    str(service_port),
                ],
                env=env,
                cwd=work,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        procs.append(
            subprocess.Popen(
                [sys.executable, __file__, "--serve-floor", str(floor_port)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        redis_url = None
        binary = shutil.which("redis-server")
        if binary:
            redis_port = free_port()
            procs.append(
                subprocess.Popen(
                    [
                        binary,
                        "--port",
                        str(redis_port),
                        "--bind",
                        "127.0.0.1",
                        "--save",
                        "",
                        "--appendonly",
                        "no",
                        "--dir",
                        str(work),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            wait_for(redis_port)
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
        wait_for(service_port)
        wait_for(floor_port)

        targets = [
            ("service", http_ops(f"http://127.0.0.1:{service_port}", api_key)),
            ("floor", http_ops(f"http://127.0.0.1:{floor_port}", None)),
        ]
        if redis_url:
            targets.append(("redis", redis_ops(redis_url)))
        # Rounds interleave the targets so that load from other processes on the
        # machine hits them alike; each target's figures sum its rounds.
        prepared = {
            (name, op): [make(n) for n in range(args.clients)]
            for name, makers in targets
            for op, make in zip(("set", "get"), makers, strict=True)
        }
        for ops in prepared.values():  # warm up every connection (and fill the keys)
            for call in ops:
                for i in range(100):
                    call(i)
        per_round = max(1, args.requests // args.rounds)
        for round_ in range(args.rounds):
            for target, ops in prepared.items():
                latencies, seconds = drive(args.clients, per_round, ops, round_ * per_round)
                results.setdefault(target, Result()).add(latencies, seconds)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=15)
        shutil.rmtree(work, ignore_errors=True)

    print(
        f"{args.clients} concurrent clients x {args.requests} requests per operation "
        f"({args.rounds} interleaved rounds), loopback"
    )
    print(f"{'target':<8} {'op':<4} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for (name, op), r in results.items():
        print(f"{name:<8} {op:<4} {r.rps:>9.0f} {r.p50:>8.2f} {r.p99:>8.2f}")
    print()
    ok = True
    for op in ("set", "get"):
        svc, floor = results[("service", op)], results[("floor", op)]
        throughput = svc.rps / floor.rps
        tail = svc.p99 / floor.p99
        ok &= throughput >= THROUGHPUT_GOAL and tail <= P99_GOAL
        line = f"{op}: service/floor throughput {throughput:.2f} (goal >= {THROUGHPUT_GOAL}), "
        line += f"p99 {tail:.2f}x the floor's (goal <= {P99_GOAL})"
        if ("redis", op) in results:
            line += (
                f"; bare Redis is {results[('redis', op)].rps / svc.rps:.1f}x the service's req/s"
            )
        print(line)
    print("goal met" if ok else "goal NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
