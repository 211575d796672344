"""Scriptlets, the registry, the decorator and declared key patterns."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from context_lib.runner import (
    FunctionScriptlet,
    Scriptlet,
    ScriptletError,
    ScriptletRegistry,
    StepContext,
    matches_pattern,
    scriptlet,
)
from tests.context_lib.runner.scriptlets_for_tests import Greeter, record


def test_decorator_registers_functions_with_their_contract() -> None:
    reg = ScriptletRegistry()

    @scriptlet("load", reads=["cfg.*"], writes=["data"], params={"type": "object"}, registry=reg)
    def load(ctx: StepContext, params: dict[str, Any]) -> None:
        """Load the data."""

    item = reg.get_scriptlet("load")
    assert isinstance(item, FunctionScriptlet)
    assert item.fn is load  # the decorator returns the function unchanged
    assert (item.name, item.reads, item.writes) == ("load", ("cfg.*",), ("data",))
    assert item.__doc__ == "Load the data."


def test_bare_decorator_uses_the_function_name() -> None:
    reg = ScriptletRegistry()

    @scriptlet(registry=reg)
    def tidy(ctx: StepContext, params: dict[str, Any]) -> None:
        """Tidy up."""

    assert list(reg) == ["tidy"]
    assert reg["tidy"].writes is None


def test_class_scriptlets_and_dict_registries() -> None:
    reg = ScriptletRegistry({"greet": Greeter, "rec": record, "inst": Greeter()})
    assert isinstance(reg["greet"], Greeter)
    assert reg["rec"].name == "rec"
    assert len(reg) == 3


def test_registering_a_different_scriptlet_under_a_taken_name_is_refused() -> None:
    reg = ScriptletRegistry({"x": record})
    reg.register(record, "x")  # the same function again (a notebook cell re-run): fine

    def other(ctx: StepContext, params: dict[str, Any]) -> None:
        """Another."""

    with pytest.raises(ScriptletError, match="already registered; pass replace=True"):
        reg.register(other, "x")
    reg.register(other, "x", replace=True)
    assert isinstance(reg["x"], FunctionScriptlet)
    assert reg["x"].fn is other


@pytest.mark.parametrize("bad", ["", "has space", "1abc", 7])
def test_bad_names(bad: object) -> None:
    with pytest.raises(ScriptletError, match="is not valid"):
        ScriptletRegistry().register(record, bad)  # type: ignore[arg-type]


def test_things_that_are_not_scriptlets() -> None:
    with pytest.raises(ScriptletError, match="is not a scriptlet"):
        ScriptletRegistry().register(42, "x")
    with pytest.raises(ScriptletError, match="patterns must be non-empty"):
        FunctionScriptlet(record, writes=[""])


def test_unknown_name_suggests_a_close_one() -> None:
    reg = ScriptletRegistry({"load_numbers": record})
    with pytest.raises(ScriptletError, match="unknown scriptlet 'load_number'; did you mean"):
        reg.get_scriptlet("load_number")


def test_import_references() -> None:
    reg = ScriptletRegistry()
    item = reg.get_scriptlet("tests.context_lib.runner.scriptlets_for_tests:Greeter")
    assert isinstance(item, Greeter)
    fn = reg.get_scriptlet("tests.context_lib.runner.scriptlets_for_tests:record")
    assert isinstance(fn, FunctionScriptlet)
    assert fn.fn is record
    with pytest.raises(ScriptletError, match="cannot import scriptlet 'no_such_mod:x'"):
        reg.get_scriptlet("no_such_mod:x")
    with pytest.raises(ScriptletError, match="has no 'missing'"):
        reg.get_scriptlet("tests.context_lib.runner.scriptlets_for_tests:missing")


def test_a_module_that_fails_to_import_is_a_scriptlet_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_scriptlets_mod.py").write_text("raise RuntimeError('no config')\n")
    (tmp_path / "typo_scriptlets_mod.py").write_text("def f(ctx, params:\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    reg = ScriptletRegistry()
    with pytest.raises(ScriptletError, match="raised RuntimeError: no config"):
        reg.get_scriptlet("broken_scriptlets_mod:f")
    with pytest.raises(ScriptletError, match="raised SyntaxError"):
        reg.get_scriptlet("typo_scriptlets_mod:f")


def test_a_subclass_with_a_broken_schema_reports_it_as_a_problem() -> None:
    class Broken(Scriptlet):
        name = "broken"
        params_schema = {"type": 12}  # noqa: RUF012 - what a careless subclass writes

        def run(self, ctx: Any, params: dict[str, Any]) -> None:
            """Never runs."""

    [problem] = Broken().check_params({})
    assert problem.startswith(
        "params schema of scriptlet 'broken' is not a valid JSON Schema: 12 is not"
    )


def test_params_schema_problems_are_listed() -> None:
    assert Greeter().check_params({"who": "x"}) == []
    assert Greeter().check_params({}) == ["params: 'who' is a required property"]
    assert Greeter().check_params({"who": 3}) == ["params['who']: 3 is not of type 'string'"]


def test_a_bad_schema_is_refused_when_declared() -> None:
    with pytest.raises(
        ScriptletError, match="params schema of scriptlet 'record' is not a valid JSON Schema"
    ):
        FunctionScriptlet(record, params={"type": 12})


@pytest.mark.parametrize(
    ("key", "pattern", "expected"),
    [
        ("stats.mean", "stats.*", True),
        ("stats.mean", "stats", True),
        ("stats", "stats", True),
        ("statsx.mean", "stats", False),
        ("a.count", "*.count", True),
        ("report.text", "report.text", True),
        ("report.textual", "report.text", False),
        ("other", "stats.*", False),
    ],
)
def test_patterns(key: str, pattern: str, expected: bool) -> None:
    assert matches_pattern(key, pattern) is expected


def test_scriptlet_base_class_is_abstract() -> None:
    with pytest.raises(TypeError):
        Scriptlet()  # type: ignore[abstract]
