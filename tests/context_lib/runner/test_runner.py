"""The runner: order, attribution, retries, rollback, write contracts, timeouts."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from context_lib import Context
from context_lib.examples import recipe_path
from context_lib.runner import (
    FunctionScriptlet,
    Recipe,
    RecipeError,
    RunEvent,
    Runner,
    ScriptletRegistry,
    StepContext,
    StepTimeoutError,
    WriteViolationError,
    scriptlet,
)
from tests.context_lib.runner.scriptlets_for_tests import Greeter


def _step(name: str, ref: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "scriptlet": ref, **extra}


class Flaky:
    """Fails its first ``failures`` calls after writing a partial result."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self, ctx: StepContext, params: dict[str, Any]) -> None:
        self.calls += 1
        ctx.set("out.partial", self.calls)
        ctx.delete("keep.me")
        if self.calls <= self.failures:
            raise ValueError(f"boom {self.calls}")
        ctx.set("out.done", True)


def test_steps_run_in_dependency_order_and_changes_are_attributed() -> None:
    order: list[str] = []

    def note(ctx: StepContext, params: dict[str, Any]) -> None:
        order.append(ctx.step)
        ctx.set(f"log.{ctx.step}", params["n"], who="someone-else")

    recipe = [
        _step("c", "note", params={"n": 3}, depends_on=["b"]),
        _step("a", "note", params={"n": 1}),
        _step("b", "note", params={"n": 2}, depends_on=["a"]),
    ]
    result = Runner(registry={"note": note}).run(recipe)
    assert result.ok
    assert order == ["a", "b", "c"]
    assert [s.name for s in result.steps] == ["a", "b", "c"]
    assert [(c.key, c.who) for c in result.context.history] == [
        ("log.a", "a"),
        ("log.b", "b"),
        ("log.c", "c"),
    ]
    assert result.step("b").written == ["log.b"]
    assert result.step("b").status == "ok"


def test_a_failed_attempt_is_rolled_back_and_retried() -> None:
    flaky = Flaky(failures=2)
    ctx = Context({"keep.me": 1})
    events: list[RunEvent] = []
    result = Runner(registry={"flaky": flaky}, on_event=events.append).run(
        [_step("s", "flaky", retries=2)], ctx
    )
    assert result.ok
    assert flaky.calls == 3
    assert result.step("s").attempts == 3
    assert ctx.to_dict() == {"out.partial": 3, "out.done": True}
    # only the successful attempt's changes are in the history
    assert [(c.key, c.op) for c in ctx.history[1:]] == [
        ("out.partial", "set"),
        ("keep.me", "delete"),
        ("out.done", "set"),
    ]
    assert [(e.kind, e.attempt) for e in events] == [
        ("start", 1),
        ("retry", 1),
        ("start", 2),
        ("retry", 2),
        ("start", 3),
        ("done", 3),
    ]
    assert isinstance(events[1].error, ValueError)


def test_a_step_failing_after_its_retries_stops_the_run_with_no_partial_writes() -> None:
    flaky = Flaky(failures=5)
    later: list[str] = []
    registry = {"flaky": flaky, "later": lambda ctx, params: later.append("ran")}
    ctx = Context({"keep.me": 1})
    result = Runner(registry=registry).run(
        [_step("first", "flaky", retries=1), _step("second", "later", depends_on=["first"])],
        ctx,
    )
    assert not result.ok
    assert result.failed_step == "first"
    assert isinstance(result.error, ValueError)
    assert str(result.error) == "boom 2"
    assert result.describe_failure() == "step 'first' failed after 2 attempts: ValueError: boom 2"
    assert result.step("first").status == "failed"
    assert result.step("second").status == "not_run"
    assert later == []
    assert ctx.to_dict() == {"keep.me": 1}
    assert len(ctx.history) == 1


def test_writing_outside_declared_writes_fails_without_retry() -> None:
    reg = ScriptletRegistry()
    calls = []

    @scriptlet("sneaky", writes=["stats.*"], registry=reg)
    def sneaky(ctx: StepContext, params: dict[str, Any]) -> None:
        calls.append(1)
        ctx.set("stats.mean", 1.0)
        ctx.set("secrets.token", "x")

    ctx = Context()
    result = Runner(registry=reg).run([_step("s", "sneaky", retries=3)], ctx)
    assert isinstance(result.error, WriteViolationError)
    assert result.error.key == "secrets.token"
    assert "step 's' wrote key 'secrets.token', outside its declared writes ('stats.*')" in str(
        result.error
    )
    assert calls == [1]  # a contract violation is not retried
    assert ctx.to_dict() == {}


def test_declared_writes_cover_update_delete_and_merge() -> None:
    def writer(ctx: StepContext, params: dict[str, Any]) -> None:
        getattr(ctx, params["how"])(*params["args"])

    reg = ScriptletRegistry({"w": FunctionScriptlet(writer, "w", writes=["ok"])})
    cases = [
        ("update", [{"ok.a": 1, "bad.b": 2}]),
        ("delete", ["bad.x"]),
        ("merge_from", [{"bad.m": 1}]),
    ]
    for how, args in cases:
        ctx = Context({"bad.x": 0})
        result = Runner(registry=reg).run([_step("s", "w", params={"how": how, "args": args})], ctx)
        assert isinstance(result.error, WriteViolationError), how
        assert ctx.to_dict() == {"bad.x": 0}, how


def test_unknown_scriptlets_and_bad_params_are_found_before_anything_runs() -> None:
    ran: list[str] = []
    reg = ScriptletRegistry({"greeter": Greeter, "note": lambda ctx, p: ran.append("x")})
    recipe = [
        _step("one", "note"),
        _step("two", "greter"),
        _step("three", "greeter", params={"who": 5}),
    ]
    with pytest.raises(RecipeError) as info:
        Runner(registry=reg).run(recipe)
    assert ran == []
    assert info.value.problems == [
        "step 'two': unknown scriptlet 'greter'; did you mean 'greeter'? "
        "(registered: greeter, note)",
        "step 'three': params['who']: 5 is not of type 'string'",
    ]


@pytest.mark.slow
def test_a_step_past_its_timeout_is_interrupted_and_undone() -> None:
    def slow(ctx: StepContext, params: dict[str, Any]) -> None:
        ctx.set("half.done", True)
        time.sleep(30)

    ctx = Context()
    result = Runner(registry={"slow": slow}).run([_step("s", "slow", timeout_s=0.2)], ctx)
    # Only an interrupted step fails: one that slept through would have succeeded.
    assert isinstance(result.error, StepTimeoutError)
    assert str(result.error) == "step 's' did not finish within 0.2 s"
    assert ctx.to_dict() == {}


def test_outside_the_main_thread_a_late_step_fails_at_its_next_context_access() -> None:
    def slow(ctx: StepContext, params: dict[str, Any]) -> None:
        ctx.set("a", 1)
        time.sleep(0.3)
        ctx.set("b", 2)  # past the deadline: raises

    outcome: dict[str, Any] = {}

    def run() -> None:
        ctx = Context()
        outcome["result"] = Runner(registry={"slow": slow}).run(
            [_step("s", "slow", timeout_s=0.1, retries=1)], ctx
        )
        outcome["data"] = ctx.to_dict()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(30)
    assert isinstance(outcome["result"].error, StepTimeoutError)
    assert outcome["result"].step("s").attempts == 2
    assert outcome["data"] == {}


def test_params_are_copies() -> None:
    def mutate(ctx: StepContext, params: dict[str, Any]) -> None:
        params["items"].append(99)
        ctx.set("seen", params["items"])

    steps = [_step("s", "m", params={"items": [1]})]
    recipe = Recipe.from_data(steps)
    first = Runner(registry={"m": mutate}).run(recipe)
    assert first.context.get("seen") == [1, 99]
    second = Runner(registry={"m": mutate}).run(recipe)
    assert second.context.get("seen") == [1, 99]
    assert recipe.steps[0].params == {"items": [1]}


def test_step_context_reads_like_a_context() -> None:
    seen: dict[str, Any] = {}

    def reader(ctx: StepContext, params: dict[str, Any]) -> None:
        seen["get"] = ctx.get("cfg.a")
        seen["item"] = ctx["cfg.b"]
        seen["in"] = "cfg.a" in ctx
        seen["len"] = len(ctx)
        seen["keys"] = ctx.keys("cfg")
        seen["ns"] = ctx.namespace("cfg")
        seen["nested"] = ctx.to_nested()
        seen["history"] = len(ctx.history)
        with pytest.raises(RuntimeError), ctx.atomic():
            ctx.set("tmp", 1)
            raise RuntimeError
        seen["written"] = dict(ctx.written)
        ctx["out"] = 1
        del ctx["cfg.b"]

    ctx = Context({"cfg.a": 1, "cfg.b": 2})
    result = Runner(registry={"r": reader}).run([_step("s", "r")], ctx)
    assert result.ok, result.error
    assert seen == {
        "get": 1,
        "item": 2,
        "in": True,
        "len": 2,
        "keys": ["cfg.a", "cfg.b"],
        "ns": {"a": 1, "b": 2},
        "nested": {"cfg": {"a": 1, "b": 2}},
        "history": 2,
        "written": {},
    }
    assert ctx.to_dict() == {"cfg.a": 1, "out": 1}
    assert result.step("s").written == ["out", "cfg.b"]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("numbers", {"stats.count": 20, "stats.sum": 864, "stats.min": 4, "stats.max": 95}),
        ("words", {"words.top": [["the", 4], ["dog", 2], ["fox", 2]], "text.attempt": 2}),
        ("workers", {"metrics.count": 15, "metrics.total": 77}),
    ],
)
def test_example_recipes_run(name: str, expected: dict[str, Any]) -> None:
    result = Runner().run(recipe_path(name))
    assert result.ok, result.describe_failure()
    data = result.context.to_dict()
    assert {k: data[k] for k in expected} == expected


def test_numbers_example_report_and_values() -> None:
    ctx = Runner().run(recipe_path("numbers")).context
    values = ctx["numbers.values"]
    assert len(values) == 20
    assert all(1 <= v <= 100 for v in values)
    assert ctx["stats.sum"] == sum(values)
    assert ctx["stats.mean"] == pytest.approx(sum(values) / 20)
    assert ctx["report.text"].startswith("Number statistics\n=================\ncount: 20")


def test_workers_example_records_where_merged_values_came_from() -> None:
    ctx = Runner().run(recipe_path("workers")).context
    assert ctx["shards.s0"] == [3, 5, 5, 9]
    assert ctx["metrics.total"] == sum(ctx["numbers.values"])
    assert {c.who for c in ctx.get_history(key="metrics.count")} == {"merge"}
