"""Loading recipes from YAML and JSON, and the errors for recipes that cannot run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from context_lib.examples import EXAMPLES, recipe_path
from context_lib.runner import Recipe, RecipeError, Step, load_recipe, parse_recipe

YAML = """
name: demo
description: three steps
steps:
  - name: load
    scriptlet: load_numbers
    params: {count: 3}
  - name: report
    scriptlet: write_report
    depends_on: stats
  - name: stats
    scriptlet: compute_stats
    depends_on: [load]
    retries: 2
    timeout_s: 1.5
"""


def test_yaml_recipe_fields() -> None:
    recipe = parse_recipe(YAML)
    assert recipe.name == "demo"
    assert recipe.description == "three steps"
    assert recipe.step("stats") == Step(
        name="stats",
        scriptlet="compute_stats",
        params={},
        depends_on=("load",),
        retries=2,
        timeout_s=1.5,
    )
    assert recipe.step("report").depends_on == ("stats",)  # a single name is a list of one
    assert recipe.step("load").params == {"count": 3}


def test_dependency_order_keeps_recipe_order_for_ties() -> None:
    assert [s.name for s in parse_recipe(YAML).order()] == ["load", "stats", "report"]
    recipe = Recipe.from_data(
        [
            {"name": "c", "scriptlet": "x", "depends_on": ["a"]},
            {"name": "b", "scriptlet": "x"},
            {"name": "a", "scriptlet": "x"},
            {"name": "d", "scriptlet": "x", "depends_on": ["b", "c"]},
        ]
    )
    assert [s.name for s in recipe.order()] == ["b", "a", "c", "d"]


def test_json_recipe_and_list_form(tmp_path: Path) -> None:
    path = tmp_path / "flow.json"
    path.write_text(json.dumps([{"name": "only", "scriptlet": "s", "params": {"n": [1, 2]}}]))
    recipe = load_recipe(path)
    assert recipe.name == "flow"  # named after the file
    assert recipe.source == str(path)
    assert recipe.steps[0].params == {"n": [1, 2]}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_example_recipes_load(name: str) -> None:
    recipe = load_recipe(recipe_path(name))
    assert recipe.name == name
    assert len(recipe.steps) == 3


def test_unknown_example() -> None:
    with pytest.raises(KeyError, match="the examples are numbers, words, workers"):
        recipe_path("nope")


def _problems(data: object) -> list[str]:
    with pytest.raises(RecipeError) as info:
        Recipe.from_data(data, source="r.yaml")
    assert str(info.value).startswith("r.yaml: recipe has")
    return info.value.problems


def test_cycle_is_named() -> None:
    problems = _problems(
        [
            {"name": "a", "scriptlet": "x", "depends_on": ["c"]},
            {"name": "b", "scriptlet": "x", "depends_on": ["a"]},
            {"name": "c", "scriptlet": "x", "depends_on": ["b"]},
            {"name": "d", "scriptlet": "x"},
        ]
    )
    assert problems == ["cycle in depends_on: a -> c -> b -> a"]


def test_duplicates_unknown_and_self_dependencies_are_all_reported() -> None:
    problems = _problems(
        [
            {"name": "load", "scriptlet": "x"},
            {"name": "load", "scriptlet": "y"},
            {"name": "stats", "scriptlet": "x", "depends_on": ["laod", "stats"]},
        ]
    )
    assert problems == [
        "duplicate step name 'load'",
        "step 'stats' depends on unknown step 'laod' (did you mean 'load'?)",
        "step 'stats' depends on itself",
    ]


@pytest.mark.parametrize(
    ("step", "problem"),
    [
        ({"scriptlet": "x"}, "steps[0]: missing 'name'"),
        ({"name": "a b", "scriptlet": "x"}, "'name' must be letters, digits"),
        ({"name": "a"}, "steps[0] (a): 'scriptlet' must name a scriptlet, not None"),
        (
            {"name": "a", "scriptlet": "x", "retry": 2},
            "unknown field 'retry' (did you mean 'retries'?)",
        ),
        ({"name": "a", "scriptlet": "x", "retries": -1}, "'retries' must be a whole number >= 0"),
        ({"name": "a", "scriptlet": "x", "retries": True}, "'retries' must be a whole number"),
        (
            {"name": "a", "scriptlet": "x", "timeout_s": 0},
            "'timeout_s' must be a number of seconds > 0",
        ),
        ({"name": "a", "scriptlet": "x", "timeout_s": "5"}, "'timeout_s' must be a number"),
        ({"name": "a", "scriptlet": "x", "params": [1]}, "'params' must be a mapping, not a list"),
        ({"name": "a", "scriptlet": "x", "depends_on": [1]}, "'depends_on' must be a step name"),
        ("just text", "steps[0]: a step is a mapping, not a string"),
    ],
)
def test_bad_steps(step: object, problem: str) -> None:
    problems = _problems({"steps": [step]})
    assert any(problem in p for p in problems), problems


def test_params_must_be_json() -> None:
    with pytest.raises(RecipeError, match=r"params\['when'\]"):
        Recipe.from_data([{"name": "a", "scriptlet": "x", "params": {"when": {1, 2}}}])


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"name": "r"}, "no 'steps' list"),
        ({"steps": []}, "'steps' is empty"),
        ({"steps": {"a": 1}}, "'steps' must be a list, not a mapping"),
        ({"stesp": [], "steps": [{"name": "a", "scriptlet": "x"}]}, "unknown field 'stesp'"),
        ({"name": 3, "steps": [{"name": "a", "scriptlet": "x"}]}, "'name' must be a non-empty"),
        (42, "a recipe is a mapping with 'steps' or a list of steps, not int"),
        (None, "not nothing"),
    ],
)
def test_bad_recipe_shapes(data: object, problem: str) -> None:
    with pytest.raises(RecipeError) as info:
        Recipe.from_data(data)
    assert problem in str(info.value)


def test_invalid_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("steps:\n  - name: a\n    params: {unclosed: [\n")
    with pytest.raises(RecipeError, match=r"bad.yaml: .*not valid YAML \(line \d+, column \d+\)"):
        load_recipe(path)


def test_invalid_json_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text('{"steps": [\n  {"name": "a",}\n]}')
    with pytest.raises(RecipeError, match=r"not valid JSON \(line 2, column \d+\)"):
        load_recipe(path)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(RecipeError, match="no such file"):
        load_recipe(tmp_path / "missing.yaml")
    with pytest.raises(RecipeError, match="folder"):
        load_recipe(tmp_path)


def test_unknown_format() -> None:
    with pytest.raises(RecipeError, match="unknown recipe format 'toml'"):
        parse_recipe("", format="toml")


def test_recipes_are_immutable_values() -> None:
    recipe = parse_recipe(YAML)
    with pytest.raises(AttributeError):
        recipe.name = "other"  # type: ignore[misc]
    assert parse_recipe(YAML) == recipe
