"""The Context service against a bare Starlette endpoint doing the same JSON work, under wrk.

    .venv/bin/python benchmarks/bench_service.py [--duration 4] [--rounds 5]
    .venv/bin/python benchmarks/bench_service.py --load open [--rounds 3]   # open loop

Two servers run in their own processes on loopback, each one uvicorn worker:

* **service**: the Context service over SQLite (``open_service`` + ``serve``), with
  authentication (keyed API-key digest), per-tenant AES-GCM encryption, history, the
  keyed audit chain and its witness file, quotas, rate limiting and analytics on;
* **bare**: Starlette on uvicorn that parses the same JSON body, keeps the value in a
  dict and answers the same JSON: the framework's cost with no service work at all.

The load comes from outside: ``wrk`` (installed with apt if missing), 2 threads, 16
and then 64 connections, distinct keys on every write (a fresh key per request, so no
write is a no-op). wrk keeps every connection busy (one request in flight each), so
it is closed-loop per connection; latencies are what wrk measured. The two servers
are measured in interleaved rounds (A B B A ...) by ``benchmarks/harness.py``:

* throughput = requests wrk completed / duration; ``wall`` ratios in the table are
  per-request wall time, i.e. the inverse throughput ratio;
* server CPU per request = utime + stime of the server process (``/proc/PID/stat``, all
  its threads) over the run, divided by the requests completed (the ``cpu`` ratio);
* p50 and p99 latency per round, and their per-round ratios, in the notes.

``--load open`` replaces wrk with ``benchmarks/openloop.py``, an open-loop generator in its
own process (wrk2's model: a fixed schedule of intended send times per connection, latency
measured from the intended time, so a server that falls behind is charged for its queue;
see that file for why it is not wrk2). For each operation and connection count it first
measures each server's closed-loop capacity once (untimed calibration), then offers the
SAME rate to both servers at two levels, each in its own interleaved bench:

* ``sustain``: half the lower of the two capacities, a load both servers keep up with:
  compare p50/p99 and server CPU per request at equal offered load;
* ``overload``: 1.2x the higher capacity: both servers saturated, so the achieved
  throughput is each one's open-loop capacity (the throughput ratio); latencies then
  grow with ``--duration`` (a queue), so read them as a backlog, not a steady state.

The notes add the offered rate, the generator's own CPU per request and its scheduling
lag (how late it sent requests whose connection was idle), and requests never sent.
Results: ``service-open-<op>-<C>c-<level>.json`` / ``.md``.

Goal (issue 17): service write throughput >= 50 % of the bare endpoint's and p99 <= 3x,
at 16 connections. Results go to ``benchmarks/results/service-*.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import Bench, BenchResult, Sample  # noqa: E402

OPENLOOP = Path(__file__).with_name("openloop.py")
OPEN_LEVELS = {"sustain": 0.5, "overload": 1.2}

THROUGHPUT_GOAL = 0.5
P99_GOAL = 3.0
RESULTS = ROOT / "benchmarks" / "results"
_TICKS = os.sysconf("SC_CLK_TCK")

WRK_SCRIPT = r"""
local counter = 0
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  mode, token, round = args[1], args[2], args[3]
  headers = {["Content-Type"] = "application/json"}
  if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
end
function request()
  counter = counter + 1
  if mode == "set" then
    local path = "/v1/contexts/bench/values/r" .. round .. "t" .. tid .. ".k" .. counter
    local body = '{"value":{"n":' .. counter .. ',"tags":["a","b"],"ok":true,"x":1.5}}'
    return wrk.format("PUT", path, headers, body)
  end
  return wrk.format("GET", "/v1/contexts/bench/values/r0t" .. tid .. ".k" .. (counter % 100 + 1),
                    headers)
end
function done(summary, latency, requests)
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"bad":%d,"errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    summary.errors.status, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until ``port`` accepts, as long as the server process lives."""
    while proc.poll() is None:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"the server for port {port} exited with {proc.returncode}")


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    print("installing wrk with apt-get ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=True, stdout=subprocess.DEVNULL)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and apt-get could not install it")
    return found


def bare_app() -> object:
    """Starlette + a dict: the same JSON in and out, no service work."""
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


def serve_bare(port: int) -> None:
    import uvicorn

    uvicorn.run(bare_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)  # type: ignore[arg-type]


def serve_service(port: int, store: str) -> None:
    from context_lib.service import open_service, serve

    serve(open_service(store), "127.0.0.1", port, log_level="warning")


def prefill(urls: list[str], api_key: str) -> None:
    """Write the keys the get runs read, with the same value shape as the set runs."""
    import httpx

    for url in urls:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {api_key}"}) as http:
            for thread in (1, 2):
                for n in range(1, 101):
                    value = {"n": n, "tags": ["a", "b"], "ok": True, "x": 1.5}
                    path = f"/v1/contexts/bench/values/r0t{thread}.k{n}"
                    http.put(path, json={"value": value}).raise_for_status()


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, all threads (``/proc/PID/stat`` fields 14 and 15)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class Latencies:
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)
    rps: list[float] = field(default_factory=list)


class WrkSide:
    """One server driven by wrk for one operation and connection count."""

    def __init__(
        self,
        wrk: str,
        script: Path,
        url: str,
        pid: int,
        token: str,
        op: str,
        args: argparse.Namespace,
    ) -> None:
        self.wrk, self.script, self.url, self.pid = wrk, script, url, pid
        self.token, self.op, self.args = token, op, args
        self.round = 0
        self.latencies = Latencies()

    def __call__(self, connections: int) -> Sample:
        self.round += 1
        cpu0 = cpu_seconds(self.pid)
        done = subprocess.run(
            [
                self.wrk,
                "-t2",
                f"-c{connections}",
                f"-d{self.args.duration}s",
                "--timeout",
                "30s",
                "-s",
                str(self.script),
                self.url,
                "--",
                self.op,
                self.token,
                str(self.round),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        cpu = cpu_seconds(self.pid) - cpu0
        if done.returncode != 0:
            raise RuntimeError(f"wrk failed: {done.stderr.strip() or done.stdout.strip()}")
        line = next(x for x in done.stdout.splitlines() if x.startswith("WRKJSON "))
        stats = json.loads(line.removeprefix("WRKJSON "))
        if stats["bad"] or stats["errors"]:
            raise RuntimeError(
                f"{self.url} {self.op}: {stats['bad']} non-2xx, {stats['errors']} errors"
            )
        seconds = stats["duration_us"] / 1e6
        self.latencies.p50_ms.append(stats["p50_us"] / 1e3)
        self.latencies.p99_ms.append(stats["p99_us"] / 1e3)
        self.latencies.rps.append(stats["requests"] / seconds)
        return Sample(cpu_s=cpu, wall_s=seconds, ops=stats["requests"])


def run_scenario(
    op: str, connections: int, service: WrkSide, bare: WrkSide, rounds: int
) -> tuple[BenchResult, dict[str, object]]:
    service.latencies, bare.latencies = Latencies(), Latencies()
    bench = Bench(f"service-{op}-{connections}c", clock=time.process_time, collect_garbage=False)
    bench.side("service", lambda: service(connections))
    bench.side("bare Starlette", lambda: bare(connections), baseline=True)
    result = bench.run(rounds=rounds, warmup=1)
    # the warm-up round's figures are not part of the result
    s, b = service.latencies, bare.latencies
    s_rounds = Latencies(s.p50_ms[1:], s.p99_ms[1:], s.rps[1:])
    b_rounds = Latencies(b.p50_ms[1:], b.p99_ms[1:], b.rps[1:])
    throughput = [x / y for x, y in zip(s_rounds.rps, b_rounds.rps, strict=True)]
    p99 = [x / y for x, y in zip(s_rounds.p99_ms, b_rounds.p99_ms, strict=True)]
    extra: dict[str, object] = {
        "connections": connections,
        "op": op,
        "service": s_rounds.__dict__,
        "bare": b_rounds.__dict__,
        "throughput_ratio": throughput,
        "p99_ratio": p99,
    }
    for name, lat in (("service", s_rounds), ("bare Starlette", b_rounds)):
        result.notes.append(
            f"{name}: {statistics.median(lat.rps):.0f} req/s "
            f"({min(lat.rps):.0f}–{max(lat.rps):.0f}), "
            f"p50 {statistics.median(lat.p50_ms):.2f} ms, "
            f"p99 {statistics.median(lat.p99_ms):.2f} ms "
            f"({min(lat.p99_ms):.2f}–{max(lat.p99_ms):.2f})"
        )
    result.notes.append(
        f"throughput service/bare: median {statistics.median(throughput):.2f} "
        f"({min(throughput):.2f}–{max(throughput):.2f}); p99 service/bare: median "
        f"{statistics.median(p99):.2f}× ({min(p99):.2f}–{max(p99):.2f}×)"
    )
    return result, extra


class OpenLoopSide:
    """One server driven by ``openloop.py`` (its own process) at a given offered rate."""

    def __init__(self, url: str, pid: int, token: str, op: str, duration: float) -> None:
        self.url, self.pid, self.token, self.op, self.duration = url, pid, token, op, duration
        self.runs = 0
        self.rate = 0.0
        self.latencies = Latencies()
        self.gen_cpu_per_req: list[float] = []
        self.sched_lag_ms: list[float] = []
        self.not_sent: list[int] = []

    def stats(self, connections: int, rate: float) -> dict[str, object]:
        self.runs += 1
        before = resource.getrusage(resource.RUSAGE_CHILDREN)  # servers are never waited for
        done = subprocess.run(
            [
                sys.executable,
                str(OPENLOOP),
                self.url,
                "--rate",
                f"{rate:.1f}",
                "--connections",
                str(connections),
                "--duration",
                str(self.duration),
                "--op",
                self.op,
                "--token",
                self.token,
                "--tag",
                str(self.runs),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if done.returncode != 0:
            raise RuntimeError(f"openloop failed: {done.stderr.strip()[-300:]}")
        line = next(x for x in done.stdout.splitlines() if x.startswith("OPENLOOP "))
        stats: dict[str, object] = json.loads(line.removeprefix("OPENLOOP "))
        if stats["bad"] or stats["errors"]:
            raise RuntimeError(
                f"{self.url} {self.op}: {stats['bad']} non-2xx, {stats['errors']} errors"
            )
        gen_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        stats["generator_process_cpu_s"] = gen_cpu  # with interpreter start; cpu_s without
        return stats

    def __call__(self, connections: int) -> Sample:
        cpu0 = cpu_seconds(self.pid)
        stats = self.stats(connections, self.rate)
        cpu = cpu_seconds(self.pid) - cpu0
        requests = int(stats["requests"])  # type: ignore[call-overload]
        seconds = int(stats["duration_us"]) / 1e6  # type: ignore[call-overload]
        self.latencies.p50_ms.append(int(stats["p50_us"]) / 1e3)  # type: ignore[call-overload]
        self.latencies.p99_ms.append(int(stats["p99_us"]) / 1e3)  # type: ignore[call-overload]
        self.latencies.rps.append(requests / seconds)
        self.gen_cpu_per_req.append(float(stats["cpu_s"]) / max(requests, 1))  # type: ignore[arg-type]
        self.sched_lag_ms.append(int(stats["sched_lag_p99_us"]) / 1e3)  # type: ignore[call-overload]
        self.not_sent.append(int(stats["not_sent"]))  # type: ignore[call-overload]
        return Sample(cpu_s=cpu, wall_s=seconds, ops=requests)


def run_open_scenarios(
    op: str, connections: int, service: OpenLoopSide, bare: OpenLoopSide, rounds: int
) -> list[tuple[BenchResult, dict[str, object]]]:
    """Calibrate each server's closed-loop capacity, then one interleaved bench per level."""
    capacity = {}
    for name, side in (("service", service), ("bare", bare)):
        stats = side.stats(connections, 0.0)
        capacity[name] = int(stats["requests"]) / (int(stats["duration_us"]) / 1e6)  # type: ignore[call-overload]
    out = []
    for level, fraction in OPEN_LEVELS.items():
        pick = min if level == "sustain" else max
        rate = fraction * pick(capacity.values())
        for side in (service, bare):
            side.rate, side.latencies = rate, Latencies()
            side.gen_cpu_per_req, side.sched_lag_ms, side.not_sent = [], [], []
        bench = Bench(
            f"service-open-{op}-{connections}c-{level}",
            clock=time.process_time,
            collect_garbage=False,
        )
        bench.side("service", lambda: service(connections))
        bench.side("bare Starlette", lambda: bare(connections), baseline=True)
        result = bench.run(rounds=rounds, warmup=1)
        sides = {"service": service, "bare Starlette": bare}
        trimmed = {
            name: Latencies(s.latencies.p50_ms[1:], s.latencies.p99_ms[1:], s.latencies.rps[1:])
            for name, s in sides.items()
        }
        s_r, b_r = trimmed["service"], trimmed["bare Starlette"]
        throughput = [x / y for x, y in zip(s_r.rps, b_r.rps, strict=True)]
        p99 = [x / y for x, y in zip(s_r.p99_ms, b_r.p99_ms, strict=True)]
        extra: dict[str, object] = {
            "connections": connections,
            "op": op,
            "load": "open",
            "level": level,
            "offered_rate": rate,
            "closed_loop_capacity": capacity,
            "service": s_r.__dict__,
            "bare": b_r.__dict__,
            "throughput_ratio": throughput,
            "p99_ratio": p99,
            "generator_cpu_per_request_us": {
                name: [x * 1e6 for x in s.gen_cpu_per_req[1:]] for name, s in sides.items()
            },
            "generator_sched_lag_p99_ms": {n: s.sched_lag_ms[1:] for n, s in sides.items()},
            "not_sent": {n: s.not_sent[1:] for n, s in sides.items()},
        }
        result.notes.append(
            f"open loop ({level}): {rate:.0f} req/s offered to both "
            f"(closed-loop capacity: service {capacity['service']:.0f}, "
            f"bare {capacity['bare']:.0f} req/s); latency from the intended send time"
        )
        for name, lat in trimmed.items():
            side = sides[name]
            result.notes.append(
                f"{name}: {statistics.median(lat.rps):.0f} req/s "
                f"({min(lat.rps):.0f}–{max(lat.rps):.0f}), "
                f"p50 {statistics.median(lat.p50_ms):.2f} ms, "
                f"p99 {statistics.median(lat.p99_ms):.2f} ms "
                f"({min(lat.p99_ms):.2f}–{max(lat.p99_ms):.2f}); generator "
                f"{statistics.median(side.gen_cpu_per_req[1:]) * 1e6:.0f} µs CPU/request, "
                f"its scheduling lag p99 {statistics.median(side.sched_lag_ms[1:]):.1f} ms, "
                f"not sent {sum(side.not_sent[1:])}"
            )
        result.notes.append(
            f"throughput service/bare: median {statistics.median(throughput):.2f} "
            f"({min(throughput):.2f}–{max(throughput):.2f}); p99 service/bare: median "
            f"{statistics.median(p99):.2f}× ({min(p99):.2f}–{max(p99):.2f}×)"
        )
        out.append((result, extra))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=4, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--connections", type=int, nargs="+", default=[16, 64])
    parser.add_argument(
        "--ops",
        nargs="+",
        choices=("set", "get"),
        default=["set", "get"],
        help="operations to measure: set (writes), get (reads); both by default",
    )
    parser.add_argument(
        "--load",
        choices=("wrk", "open"),
        default="wrk",
        help="wrk (closed loop, the default) or open (benchmarks/openloop.py, open loop)",
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for JSON + Markdown")
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-service", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare)
        return 0
    if args.serve_service:
        serve_service(int(args.serve_service[0]), args.serve_service[1])
        return 0

    wrk = ensure_wrk() if args.load == "wrk" else ""
    from context_lib.service import new_master_key, open_service

    work = Path(tempfile.mkdtemp(prefix="bench-service-"))
    env = {
        **os.environ,
        "CONTEXT_SERVICE_MASTER_KEY": new_master_key(),
        "CONTEXT_SERVICE_AUDIT_WITNESS": str(work / "witness.log"),
    }
    os.environ.update(env)
    store = f"sqlite:///{work / 'service.db'}"
    service = open_service(store)
    tenant = service.create_tenant("bench", max_keys=10**9, rate=1e6, burst=10**9)
    _, api_key = service.issue_key(tenant.id, "write")
    service.close()
    script = work / "bench.lua"
    script.write_text(WRK_SCRIPT)

    procs: list[subprocess.Popen[bytes]] = []
    summary: list[dict[str, object]] = []
    try:
        ports = free_port(), free_port()
        commands = [
            [sys.executable, __file__, "--serve-service", str(ports[0]), store],
            [sys.executable, __file__, "--serve-bare", str(ports[1])],
        ]
        for command in commands:
            procs.append(subprocess.Popen(command, env=env, cwd=work))
        for port, proc in zip(ports, procs, strict=True):
            wait_for(port, proc)
        urls = [f"http://127.0.0.1:{p}" for p in ports]
        markdown = []
        for op in args.ops:
            svc = WrkSide(wrk, script, urls[0], procs[0].pid, api_key, op, args)
            bare = WrkSide(wrk, script, urls[1], procs[1].pid, "-", op, args)
            o_svc = OpenLoopSide(urls[0], procs[0].pid, api_key, op, args.duration)
            o_bare = OpenLoopSide(urls[1], procs[1].pid, "-", op, args.duration)
            if op == "get":  # the keys wrk reads: r0t<thread>.k1 ... k100 on both servers
                prefill(urls, api_key)
            for connections in args.connections:
                if args.load == "open":
                    runs = run_open_scenarios(op, connections, o_svc, o_bare, args.rounds)
                else:
                    runs = [run_scenario(op, connections, svc, bare, args.rounds)]
                for result, extra in runs:
                    path = result.save(args.out)
                    path.with_suffix(".extra.json").write_text(json.dumps(extra, indent=2) + "\n")
                    markdown.append(result.markdown())
                    summary.append(extra)
                    print(result.markdown(), "\n", flush=True)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    open16 = {
        e["level"]: e
        for e in summary
        if e.get("load") == "open" and e["op"] == "set" and e["connections"] == 16
    }
    if len(open16) == 2:  # open loop: capacity from overload, p99 at the same sustained load
        t = statistics.median(open16["overload"]["throughput_ratio"])  # type: ignore[arg-type]
        p = statistics.median(open16["sustain"]["p99_ratio"])  # type: ignore[arg-type]
        met = t >= THROUGHPUT_GOAL and p <= P99_GOAL
        print(
            f"write path at 16 connections, open loop: {t:.2f} of the bare throughput "
            f"(overload; goal >= {THROUGHPUT_GOAL}), p99 {p:.2f}x at the same sustained "
            f"rate (goal <= {P99_GOAL}): " + ("goal met" if met else "goal NOT met")
        )
    for extra in summary:
        if extra.get("load") != "open" and extra["op"] == "set" and extra["connections"] == 16:
            t = statistics.median(extra["throughput_ratio"])  # type: ignore[arg-type]
            p = statistics.median(extra["p99_ratio"])  # type: ignore[arg-type]
            met = t >= THROUGHPUT_GOAL and p <= P99_GOAL
            print(
                f"write path at 16 connections: {t:.2f} of the bare throughput "
                f"(goal >= {THROUGHPUT_GOAL}), p99 {p:.2f}x (goal <= {P99_GOAL}): "
                + ("goal met" if met else "goal NOT met")
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
