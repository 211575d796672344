"""Checkpoints after every step, and resuming a run (also after a real crash)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest

from context_lib import Context
from context_lib.examples import recipe_path
from context_lib.persistence import (
    BatchStore,
    MemoryStore,
    Store,
    StoreError,
    load,
    open_store,
)
from context_lib.persistence._common import BackendStore
from context_lib.runner import ResumeError, Runner, StepContext

ROOT = Path(__file__).resolve().parents[3]
REF = "tests.context_lib.runner.scriptlets_for_tests"


class Switch:
    """A scriptlet that fails while ``broken`` is set, and counts its calls."""

    def __init__(self) -> None:
        self.broken = True
        self.calls = 0

    def __call__(self, ctx: StepContext, params: dict[str, Any]) -> None:
        self.calls += 1
        if self.broken:
            raise RuntimeError("service down")
        ctx.set(f"log.{ctx.step}", "ok")


def _recipe() -> list[dict[str, Any]]:
    return [
        {"name": "a", "scriptlet": "count"},
        {"name": "b", "scriptlet": "switch", "depends_on": ["a"]},
        {"name": "c", "scriptlet": "count", "depends_on": ["b"]},
    ]


def test_checkpoints_after_each_step_and_resume_after_the_failed_one() -> None:
    store = MemoryStore()
    switch = Switch()
    counted: list[str] = []

    def count(ctx: StepContext, params: dict[str, Any]) -> None:
        counted.append(ctx.step)
        ctx.set(f"log.{ctx.step}", "ok")

    registry = {"count": count, "switch": switch}
    first = Runner(store, registry=registry).run(_recipe(), Context({"input": 1}))
    assert first.failed_step == "b"
    stored = load(store).to_dict()
    assert stored == {
        "input": 1,
        "log.a": "ok",
        "_runner.recipe": "recipe",
        "_runner.completed": ["a"],
    }

    switch.broken = False
    second = Runner.resume(_recipe(), store, registry=registry)
    assert second.ok
    assert counted == ["a", "c"]  # "a" was not run again
    assert [(s.name, s.status) for s in second.steps] == [
        ("a", "already_done"),
        ("b", "ok"),
        ("c", "ok"),
    ]
    assert load(store).to_dict() == second.context.to_dict()
    assert second.context["_runner.completed"] == ["a", "b", "c"]
    # the audit trail spans both runs
    trail = [(c.key, c.who) for c in load(store, with_history=True).history]
    assert ("log.a", "a") in trail
    assert ("log.c", "c") in trail

    third = Runner.resume(_recipe(), store, registry=registry)
    assert [s.status for s in third.steps] == ["already_done"] * 3
    assert counted == ["a", "c"]


def test_a_run_with_a_store_starts_from_its_own_context() -> None:
    store = MemoryStore()
    store.put_many({"left.over": 1})
    Runner(store, registry={"count": lambda c, p: None, "switch": Switch()}).run(_recipe())
    assert store.keys() == sorted(["_runner.completed", "_runner.recipe"])


def test_resume_refuses_stores_without_a_matching_run() -> None:
    registry = {"count": lambda c, p: None, "switch": Switch()}
    with pytest.raises(ResumeError, match="holds no checkpointed run"):
        Runner.resume(_recipe(), MemoryStore(), registry=registry)
    store = MemoryStore()
    Runner(store).run(recipe_path("numbers"))
    with pytest.raises(ResumeError, match="holds a run of recipe 'numbers', not 'recipe'"):
        Runner.resume(_recipe(), store, registry=registry)
    store.put_many({"_runner.recipe": "recipe", "_runner.completed": ["zzz"]})
    with pytest.raises(ResumeError, match="was the recipe changed"):
        Runner.resume(_recipe(), store, registry=registry)


def test_resume_refuses_a_recipe_whose_done_steps_now_depend_on_new_ones() -> None:
    registry = {"count": lambda c, p: None, "switch": Switch()}
    store = MemoryStore()
    assert Runner(store, registry=registry).run(_recipe()).failed_step == "b"
    changed = [{"name": "setup", "scriptlet": "count"}, *_recipe()]
    changed[1] = {**changed[1], "depends_on": ["setup"]}  # "a" ran without "setup"
    with pytest.raises(ResumeError, match="step 'a' is checkpointed as done but now depends on"):
        Runner.resume(changed, store, registry=registry)
    # A step added after the completed ones is fine: it simply runs.
    extended = [*_recipe(), {"name": "d", "scriptlet": "count", "depends_on": ["c"]}]
    registry["switch"].broken = False
    result = Runner.resume(extended, store, registry=registry)
    assert [(s.name, s.status) for s in result.steps] == [
        ("a", "already_done"),
        ("b", "ok"),
        ("c", "ok"),
        ("d", "ok"),
    ]


class _BrokenStore(MemoryStore):
    def __init__(self) -> None:
        super().__init__()
        self.writes = 0

    def _write(self, *args: Any) -> None:
        self.writes += 1
        if self.writes > 1:  # the first (full) save works, checkpoints fail
            raise OSError("disk full")
        super()._write(*args)


def test_a_failing_checkpoint_stops_the_run() -> None:
    store = _BrokenStore()
    result = Runner(store).run(recipe_path("numbers"))
    assert result.failed_step == "load"
    assert isinstance(result.error, OSError)
    assert result.step("stats").status == "not_run"
    # The context agrees with the store: "load" is not marked as completed.
    assert result.context.get("_runner.completed") == []
    assert load(store).get("_runner.completed") == []


@pytest.mark.slow
def test_resume_after_the_process_was_killed_mid_step(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/run.db?name=crash"
    recipe = tmp_path / "crash.yaml"
    recipe.write_text(
        "name: crash\nsteps:\n"
        f"  - {{name: one, scriptlet: '{REF}:die_if_asked'}}\n"
        f"  - {{name: two, scriptlet: '{REF}:die_if_asked', depends_on: [one]}}\n"
        f"  - {{name: three, scriptlet: '{REF}:die_if_asked', depends_on: [two]}}\n"
    )
    script = (
        "import sys\n"
        "from context_lib.persistence import open_store\n"
        "from context_lib.runner import Runner\n"
        "with open_store(sys.argv[1]) as store:\n"
        "    Runner(store).run(sys.argv[2])\n"
    )
    env = {**os.environ, "CRASH_STEP": "two"}
    proc = subprocess.run(
        [sys.executable, "-c", script, url, str(recipe)], cwd=ROOT, env=env, check=False
    )
    assert proc.returncode == -signal.SIGKILL
    with open_store(url) as store:
        assert isinstance(store, BackendStore)
        crashed = load(store).to_dict()
        assert crashed["_runner.completed"] == ["one"]
        assert crashed["log.one"] == "finished"
        assert "log.two" not in crashed  # the killed step left nothing behind
        result = Runner.resume(recipe, store)
    assert result.ok, result.describe_failure()
    assert [s.status for s in result.steps] == ["already_done", "ok", "ok"]
    assert result.context["log.three"] == "finished"


class _PlainStore:
    """Only the five methods of the Store protocol (like a cache or shard wrapper)."""

    def __init__(self) -> None:
        self.data: dict[str, Any] = {}
        self.transactions = 0

    def get(self, key: str) -> Any:
        return self.data[key]

    def put_many(self, items: Mapping[str, Any]) -> int:
        self.transactions += 1
        self.data.update(items)
        return len(items)

    def delete_many(self, keys: Iterable[str]) -> None:
        self.transactions += 1
        for key in keys:
            self.data.pop(key, None)

    def keys(self, prefix: str | None = None) -> list[str]:
        return sorted(k for k in self.data if prefix is None or k.startswith(prefix + "."))

    def close(self) -> None:
        pass

    def __enter__(self) -> _PlainStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def test_a_plain_store_gets_checkpoints_without_history() -> None:
    store = _PlainStore()
    assert isinstance(store, Store)
    assert not isinstance(store, BatchStore)
    result = Runner(store).run(recipe_path("numbers"))
    assert result.ok
    assert store.data["_runner.completed"] == ["load", "stats", "report"]
    assert store.data["stats.count"] == 20
    store.data["_runner.completed"] = ["load"]
    again = Runner.resume(recipe_path("numbers"), store)
    assert [s.status for s in again.steps] == ["already_done", "ok", "ok"]
    with pytest.raises(StoreError, match="cannot persist history"):
        Runner(store, history=True).run(recipe_path("numbers"))
