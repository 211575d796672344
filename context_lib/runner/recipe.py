"""Recipes: steps to run, loaded from YAML or JSON and checked before anything runs.

.. code-block:: yaml

    name: numbers
    description: load numbers, compute statistics, write a report
    steps:
      - name: load
        scriptlet: load_numbers
        params: {count: 20, seed: 7}
      - name: stats
        scriptlet: compute_stats
        depends_on: [load]
        retries: 2
        timeout_s: 10

A recipe may also be just the list of steps. Every problem found (unknown fields,
bad types, duplicate step names, unknown or cyclic ``depends_on``) is reported at once
in one :class:`~context_lib.runner.RecipeError`.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from context_lib.errors import NotSerializableError
from context_lib.runner.errors import RecipeError
from context_lib.values import MAX_DEPTH, own

__all__ = ["Recipe", "Step", "load_recipe", "parse_recipe"]

_STEP_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_STEP_FIELDS = ("name", "scriptlet", "params", "depends_on", "retries", "timeout_s")
_RECIPE_FIELDS = ("name", "description", "steps")


@dataclass(frozen=True)
class Step:
    """One step of a recipe: run ``scriptlet`` with ``params`` after ``depends_on``.

    ``retries`` is how many more attempts a failing step gets; ``timeout_s`` bounds
    each attempt.
    """

    name: str
    scriptlet: str
    params: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    retries: int = 0
    timeout_s: float | None = None


@dataclass(frozen=True)
class Recipe:
    """A named list of steps, already checked for structure and dependency cycles.

    Build one with :func:`load_recipe` (a file), :func:`parse_recipe` (text) or
    :meth:`Recipe.from_data` (parsed YAML/JSON); the constructor checks the steps too.
    """

    name: str
    steps: tuple[Step, ...]
    description: str = ""
    source: str | None = None

    def __post_init__(self) -> None:
        problems = _check_graph(self.steps)
        if problems:
            raise RecipeError(problems, self.source)

    @property
    def step_names(self) -> list[str]:
        """The step names in recipe order."""
        return [s.name for s in self.steps]

    def step(self, name: str) -> Step:
        """The step called ``name`` (``KeyError`` if there is none)."""
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def order(self) -> list[Step]:
        """The steps in dependency order; ties keep the order of the recipe."""
        position = {s.name: i for i, s in enumerate(self.steps)}
        done: set[str] = set()
        ordered: list[Step] = []
        remaining = list(self.steps)
        while remaining:
            ready = [s for s in remaining if all(d in done for d in s.depends_on)]
            first = min(ready, key=lambda s: position[s.name])  # acyclic: never empty
            ordered.append(first)
            done.add(first.name)
            remaining.remove(first)
        return ordered

    @classmethod
    def from_data(cls, data: object, *, source: str | None = None, name: str = "recipe") -> Recipe:
        """A recipe from parsed YAML/JSON: a mapping with ``steps`` or a list of steps."""
        problems: list[str] = []
        description = ""
        if isinstance(data, Mapping):
            for key in data:
                if key not in _RECIPE_FIELDS:
                    problems.append(f"unknown field {key!r}{_did_you_mean(key, _RECIPE_FIELDS)}")
            raw_name = data.get("name", name)
            if not isinstance(raw_name, str) or not raw_name.strip():
                problems.append("'name' must be a non-empty string")
            else:
                name = raw_name
            raw_description = data.get("description", "")
            if not isinstance(raw_description, str):
                problems.append("'description' must be a string")
            else:
                description = raw_description
            raw_steps = data.get("steps")
            if raw_steps is None:
                problems.append("no 'steps' list")
                raw_steps = []
        elif isinstance(data, list):
            raw_steps = data
        else:
            raise RecipeError(
                [f"a recipe is a mapping with 'steps' or a list of steps, not {_kind(data)}"],
                source,
            )
        if not isinstance(raw_steps, list):
            problems.append(f"'steps' must be a list, not {_kind(raw_steps)}")
            raw_steps = []
        elif not raw_steps and not problems:
            problems.append("'steps' is empty; a recipe needs at least one step")
        steps = []
        for i, raw in enumerate(raw_steps):
            step = _parse_step(raw, f"steps[{i}]", problems)
            if step is not None:
                steps.append(step)
        if problems:
            raise RecipeError(problems, source)
        return cls(name=name, steps=tuple(steps), description=description, source=source)


def _kind(value: object) -> str:
    if value is None:
        return "nothing"
    names: dict[type, str] = {dict: "a mapping", list: "a list", str: "a string"}
    return names.get(type(value), type(value).__name__)


def _did_you_mean(word: object, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(str(word), choices, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _parse_step(raw: object, where: str, problems: list[str]) -> Step | None:
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: a step is a mapping, not {_kind(raw)}")
        return None
    name = raw.get("name")
    if isinstance(name, str) and _STEP_NAME_RE.fullmatch(name):
        where = f"{where} ({name})"
    else:
        problems.append(
            f"{where}: 'name' must be letters, digits, '_' or '-', not {name!r}"
            if name is not None
            else f"{where}: missing 'name'"
        )
    before = len(problems)
    for key in raw:
        if key not in _STEP_FIELDS:
            problems.append(f"{where}: unknown field {key!r}{_did_you_mean(key, _STEP_FIELDS)}")
    ref = raw.get("scriptlet")
    if not isinstance(ref, str) or not ref.strip():
        problems.append(f"{where}: 'scriptlet' must name a scriptlet, not {ref!r}")
    params = raw.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        problems.append(f"{where}: 'params' must be a mapping, not {_kind(params)}")
    else:
        try:
            params = own(dict(params), "params")
        except NotSerializableError as exc:
            problems.append(f"{where}: {exc}")
    depends = raw.get("depends_on", [])
    if isinstance(depends, str):
        depends = [depends]
    if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
        problems.append(f"{where}: 'depends_on' must be a step name or a list of step names")
        depends = []
    retries = raw.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        problems.append(f"{where}: 'retries' must be a whole number >= 0, not {retries!r}")
    timeout = raw.get("timeout_s")
    if timeout is not None and (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or timeout <= 0
    ):
        problems.append(f"{where}: 'timeout_s' must be a number of seconds > 0, not {timeout!r}")
    if len(problems) > before or not isinstance(name, str) or not _STEP_NAME_RE.fullmatch(name):
        return None
    assert isinstance(ref, str) and isinstance(params, dict)
    return Step(
        name=name,
        scriptlet=ref.strip(),
        params=params,
        depends_on=tuple(dict.fromkeys(depends)),
        retries=retries,
        timeout_s=None if timeout is None else float(timeout),
    )


def _check_graph(steps: Sequence[Step]) -> list[str]:
    """Duplicate names, unknown or self dependencies, and cycles (each named)."""
    problems: list[str] = []
    seen: set[str] = set()
    for step in steps:
        if step.name in seen:
            problems.append(f"duplicate step name {step.name!r}")
        seen.add(step.name)
    for step in steps:
        for dep in step.depends_on:
            if dep == step.name:
                problems.append(f"step {step.name!r} depends on itself")
            elif dep not in seen:
                hint = _did_you_mean(dep, sorted(seen))
                problems.append(f"step {step.name!r} depends on unknown step {dep!r}{hint}")
    if problems:
        return problems
    graph = {s.name: s.depends_on for s in steps}
    cycle = _find_cycle(graph)
    if cycle:
        problems.append("cycle in depends_on: " + " -> ".join(cycle))
    return problems


def _find_cycle(graph: Mapping[str, Sequence[str]]) -> list[str] | None:
    """One cycle as ``[a, b, c, a]`` (a depends on b, … c depends on a), or None."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in graph:
        if state.get(root):
            continue
        path: list[str] = [root]
        iters = [iter(graph[root])]
        state[root] = 1
        while iters:
            nxt = next(iters[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                iters.pop()
            elif state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            elif not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                iters.append(iter(graph[nxt]))
    return None


def parse_recipe(text: str, *, format: str = "yaml", source: str | None = None) -> Recipe:
    """A recipe from YAML (the default; JSON is valid YAML too) or JSON text."""
    if format not in ("yaml", "json"):
        raise RecipeError([f"unknown recipe format {format!r}; use 'yaml' or 'json'"], source)
    try:
        data = json.loads(text) if format == "json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise RecipeError(
            [f"not valid JSON (line {exc.lineno}, column {exc.colno}): {exc.msg}"], source
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecipeError([f"not valid YAML{at}: {problem}"], source) from None
    except RecursionError:  # both parsers recurse per level; the text says how deep it goes
        raise RecipeError(
            [f"nested too deep to parse; params may nest at most {MAX_DEPTH} levels"], source
        ) from None
    stem = Path(source).stem if source else "recipe"
    return Recipe.from_data(data, source=source, name=stem)


def load_recipe(path: str | Path) -> Recipe:
    """Load a recipe file: ``.json`` as JSON, ``.yaml``/``.yml`` (or anything else) as YAML."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RecipeError([f"no such file: {file}"], str(file)) from None
    except IsADirectoryError:
        raise RecipeError(["that is a folder, not a recipe file"], str(file)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RecipeError([f"cannot read the file: {exc}"], str(file)) from None
    fmt = "json" if file.suffix.lower() == ".json" else "yaml"
    return parse_recipe(text, format=fmt, source=str(file))
