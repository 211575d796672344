"""The course hub end to end: Submit → feedback latency, and a burst against `grade`.

    .venv/bin/python benchmarks/bench_hub.py [--learners 25] [--rounds 2] [--latency 5]

Starts a real JupyterHub + configurable-http-proxy + the course service on loopback for a
temporary copy of this course with ``--learners`` rostered learners, then measures:

1. **Submit → feedback** for one notebook: a learner's hub token POSTs a solved notebook 01,
   and the clock stops when the service reports it graded (the feedback page is written by
   then). ``--latency`` submissions by different learners, one at a time, warm service.
2. **A burst**: every learner submits all eight notebooks at once (16 client threads;
   ``--learners 25`` is 200 submissions, half solved, half blank); the clock stops when all
   are graded. Checked: every acknowledged submission graded, none twice (one gradebook
   row per learner and notebook). The same notebooks, laid out as nbgrader's
   ``submitted/`` folder, are graded by ``context-course grade`` into a fresh gradebook in
   the same run, rounds interleaved (hub, grade, grade, hub, ...). Both sides use the
   course's default worker count.

Goals (issue 18): Submit → feedback ≤ 3 s on an idle machine; burst throughput ≥ 80 % of
``context-course grade``'s. The machine's load is printed with the figures.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.harness import machine_load  # noqa: E402
from context_course.hub.launch import plan_hub, start_hub  # noqa: E402
from grader.pipeline.config import load_course  # noqa: E402
from grader.pipeline.gradebook import GradebookStore  # noqa: E402
from grader.pipeline.roster import import_roster_csv  # noqa: E402
from tests.conftest import free_port  # noqa: E402

SLUGS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def make_course(folder: Path, learners: int, extra: int = 0) -> Path:
    folder.mkdir(parents=True)
    text = (ROOT / "course.toml").read_text(encoding="utf-8")
    text += "\n[hub]\nmax_submissions_per_day = 0\n"
    (folder / "course.toml").write_text(text, encoding="utf-8")
    for name in ("solutions", "exercises"):
        shutil.copytree(ROOT / name, folder / name, ignore=shutil.ignore_patterns(".*"))
    lines = ["id,first_name,last_name,email"]
    lines += [f"l{i:03d},Learner,{i},l{i:03d}@example.org" for i in range(learners)]
    lines += [f"x{i:03d},Latency,{i},x{i:03d}@example.org" for i in range(extra)]
    (folder / "roster.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    course = load_course(folder)
    with GradebookStore(course.db_url(), course_id=course.id) as store:
        import_roster_csv(folder / "roster.csv", store)
    return folder


def notebook_for(learner: int, slug: str) -> Path:
    folder = "solutions" if learner % 2 == 0 else "exercises"
    return ROOT / folder / slug / f"{slug}.ipynb"


def request(url: str, token: str, data: bytes | None = None) -> dict[str, object]:
    req = urllib.request.Request(
        url,
        data=data,
        headers={"Authorization": f"token {token}"},
        method="POST" if data else "GET",
    )
    with urllib.request.urlopen(req, timeout=600) as response:
        return dict(json.load(response))


def run_hub_burst(learners: int, work: Path) -> tuple[float, float, list[float]]:
    course_dir = make_course(work / "hub-course", learners, extra=args.latency + 1)
    course = load_course(course_dir)
    admin = secrets.token_hex(32)
    plan = plan_hub(
        course,
        port=free_port(),
        service_port=free_port(),
        hub_api_port=free_port(),
        proxy_api_port=free_port(),
        instructors=("grace",),
        extra_services=({"name": "tester", "api_token": admin},),
    )
    hub = start_hub(plan, ready_timeout=600)
    try:
        ids = [f"l{i:03d}" for i in range(learners)]
        timers = [f"x{i:03d}" for i in range(args.latency + 1)]
        tokens = {
            user: str(
                request(f"{plan.url}hub/api/users/{user}/tokens", admin, b'{"note": "bench"}')[
                    "token"
                ]
            )
            for user in ids + timers
        }

        def submit(user: str, slug: str) -> int:
            body = notebook_for(int(user[1:]) if user[0] == "l" else 0, slug).read_bytes()
            answer = request(
                f"{plan.service_url}api/submissions?notebook={slug}", tokens[user], body
            )
            return int(answer["submission"]["id"])  # type: ignore[index]

        def states(users: list[str]) -> dict[int, str]:
            seen: dict[int, str] = {}
            for user in users:
                for item in request(f"{plan.service_url}api/submissions", tokens[user])[
                    "submissions"
                ]:  # type: ignore[union-attr]
                    seen[int(item["id"])] = str(item["state"])
            return seen

        # latency: one notebook at a time, warm (the first submission warms the service)
        latencies: list[float] = []
        for user in timers:
            started = time.perf_counter()
            item = submit(user, SLUGS[0])
            while states([user]).get(item) not in ("done", "failed"):
                time.sleep(0.05)
            latencies.append(time.perf_counter() - started)
        latencies = latencies[1:]
        # burst: everything at once, by learners who submitted nothing yet
        pairs = [(user, slug) for user in ids for slug in SLUGS]
        started = time.perf_counter()
        with ThreadPoolExecutor(16) as pool:
            acknowledged = list(pool.map(lambda p: submit(*p), pairs))
        while True:
            seen = states(ids)
            if all(seen.get(i) in ("done", "failed") for i in acknowledged):
                break
            time.sleep(0.2)
        wall = time.perf_counter() - started
        assert all(seen[i] == "done" for i in acknowledged), "a submission was not graded"
        with GradebookStore(course.db_url(), course_id=course.id) as store:
            rows = [(r.learner_id, r.notebook) for r in store.records() if r.learner_id in ids]
        assert len(rows) == len(set(rows)) == len(pairs), "duplicate or missing gradebook rows"
        return wall, len(pairs) / wall, latencies
    finally:
        hub.stop()


def run_cli(learners: int, work: Path) -> float:
    course_dir = make_course(work / "cli-course", learners)
    submitted = work / "submitted"
    for i in range(learners):
        for slug in SLUGS:
            target = submitted / f"l{i:03d}" / slug / f"{slug}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(notebook_for(i, slug), target)
    cli = Path(sys.executable).parent / "context-course"
    started = time.perf_counter()
    subprocess.run(
        [str(cli), "grade", str(submitted), "--course", str(course_dir)],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def main() -> None:
    load = machine_load()
    rows = []
    for round_index in range(args.rounds):
        order = ("hub", "grade") if round_index % 2 == 0 else ("grade", "hub")
        figures: dict[str, object] = {}
        for side in order:
            with tempfile.TemporaryDirectory(prefix="bench-hub-") as tmp:
                if side == "hub":
                    wall, rate, latencies = run_hub_burst(args.learners, Path(tmp))
                    figures.update(hub_wall=wall, hub_rate=rate, latencies=latencies)
                else:
                    figures["grade_wall"] = run_cli(args.learners, Path(tmp))
        rows.append(figures)
        print(json.dumps(figures), flush=True)
    n = args.learners * len(SLUGS)
    latencies = [x for r in rows for x in r["latencies"]]  # type: ignore[attr-defined]
    ratios = [
        (n / float(r["hub_wall"])) / (n / float(r["grade_wall"]))
        for r in rows  # type: ignore[arg-type]
    ]
    print(f"\nmachine load before: {load}; after: {machine_load()}")
    print(
        f"Submit → feedback (one notebook, warm): median {statistics.median(latencies):.2f} s "
        f"(min {min(latencies):.2f}, max {max(latencies):.2f}; goal ≤ 3 s on an idle machine)"
    )
    print(
        f"burst of {n} submissions: hub throughput / `context-course grade` throughput = "
        f"median {statistics.median(ratios):.2f} (range {min(ratios):.2f}–{max(ratios):.2f}; "
        "goal ≥ 0.80)"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--learners", type=int, default=25)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--latency", type=int, default=5)
    args = parser.parse_args()
    main()
