"""Scriptlets: the named units of work that recipe steps run, and their registry.

A scriptlet is either a :class:`Scriptlet` subclass or a plain function
``fn(ctx, params)``. Recipes name scriptlets by their registered name or by an import
reference ``"package.module:attribute"``.

>>> reg = ScriptletRegistry()
>>> @scriptlet("double", writes=["out.*"], registry=reg)
... def double(ctx, params):
...     ctx.set("out.value", params["value"] * 2)
>>> reg.get("double").writes
('out.*',)
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar, overload

from context_lib.lazy_grammar import defer_iri_grammar
from context_lib.runner.errors import ScriptletError

if TYPE_CHECKING:
    from context_lib.runner.step_context import StepContext

__all__ = [
    "FunctionScriptlet",
    "Scriptlet",
    "ScriptletFunction",
    "ScriptletRegistry",
    "matches_pattern",
    "registry",
    "scriptlet",
]

ScriptletFunction: TypeAlias = Callable[[Any, dict[str, Any]], object]
"""A plain function usable as a scriptlet: ``fn(ctx, params)``; its result is ignored."""

_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")
_REF_RE = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_][\w.]*")


def matches_pattern(key: str, pattern: str) -> bool:
    """Whether ``key`` matches a declared ``reads``/``writes`` pattern.

    A pattern is a glob over the dotted key (``stats.*``, ``*.count``, ``report.text``);
    a bare namespace also covers every key under it (``stats`` matches ``stats.mean``).
    """
    return key == pattern or key.startswith(pattern + ".") or fnmatch.fnmatchcase(key, pattern)


class Scriptlet(ABC):
    """A named unit of work: ``run(ctx, params)`` reads and writes the context.

    Subclasses set ``name`` and may declare:

    * ``reads`` / ``writes``: key patterns (see :func:`matches_pattern`). When
      ``writes`` is declared, writing any other key fails the step and undoes it.
    * ``params_schema``: a JSON Schema the step's ``params`` must satisfy; recipes are
      checked against it before anything runs.

    ``ctx`` is a :class:`~context_lib.runner.StepContext`: it reads and writes like a
    :class:`~context_lib.Context` and attributes every change to the step.
    """

    name: str = ""
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] | None = None
    params_schema: Mapping[str, Any] | None = None

    @abstractmethod
    def run(self, ctx: StepContext, params: dict[str, Any]) -> None:
        """Do the work, reading and writing ``ctx``; raise to fail the step."""

    def check_params(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with ``params`` (empty when they are fine), from ``params_schema``."""
        if self.params_schema is None:
            return []
        defer_iri_grammar()
        import jsonschema  # on first use: it is slow to import and few scriptlets need it

        problem = _schema_problem(self.name, self.params_schema)
        if problem is not None:  # a subclass declared a broken schema: say so, do not crash
            return [problem]
        validator = jsonschema.Draft202012Validator(self.params_schema)
        problems = []
        for error in sorted(validator.iter_errors(dict(params)), key=lambda e: list(e.path)):
            where = "".join(f"[{p!r}]" for p in error.path)
            problems.append(f"params{where}: {error.message}")
        return problems

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


class FunctionScriptlet(Scriptlet):
    """A plain function ``fn(ctx, params)`` wrapped as a scriptlet."""

    def __init__(
        self,
        fn: ScriptletFunction,
        name: str | None = None,
        *,
        reads: Iterable[str] = (),
        writes: Iterable[str] | None = None,
        params: Mapping[str, Any] | None = None,
    ) -> None:
        if not callable(fn):
            raise ScriptletError(f"a scriptlet function must be callable, not {fn!r}")
        self.fn = fn
        self.name = _check_name(name if name is not None else getattr(fn, "__name__", ""))
        self.reads = _patterns(reads, "reads")
        self.writes = None if writes is None else _patterns(writes, "writes")
        problem = None if params is None else _schema_problem(self.name, params)
        if problem is not None:
            raise ScriptletError(problem)
        self.params_schema = params
        self.__doc__ = getattr(fn, "__doc__", None)

    def run(self, ctx: StepContext, params: dict[str, Any]) -> None:
        """Call the wrapped function."""
        self.fn(ctx, params)


def _schema_problem(name: str, schema: Mapping[str, Any]) -> str | None:
    """Why ``schema`` is not a valid JSON Schema, or ``None`` when it is."""
    defer_iri_grammar()
    import jsonschema  # on first use: it is slow to import and few scriptlets need it

    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        return f"params schema of scriptlet {name!r} is not a valid JSON Schema: {exc.message}"
    return None


def _check_name(name: object) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise ScriptletError(
            f"scriptlet name {name!r} is not valid; use letters, digits, '_', '-' and '.'"
        )
    return name


def _patterns(patterns: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(patterns, str):
        return (patterns,)
    found = tuple(patterns)
    for p in found:
        if not isinstance(p, str) or not p:
            raise ScriptletError(f"{what} patterns must be non-empty strings, not {p!r}")
    return found


def as_scriptlet(obj: object, name: str | None = None) -> Scriptlet:
    """A :class:`Scriptlet` from an instance, a subclass or a plain function."""
    if isinstance(obj, Scriptlet):
        _check_name(obj.name)
        return obj
    if isinstance(obj, type) and issubclass(obj, Scriptlet):
        instance = obj()
        if not instance.name:
            instance.name = name or obj.__name__
        _check_name(instance.name)
        return instance
    if callable(obj):
        return FunctionScriptlet(obj, name)
    raise ScriptletError(f"{obj!r} is not a scriptlet: use a Scriptlet or a function(ctx, params)")


class ScriptletRegistry(Mapping[str, Scriptlet]):
    """Scriptlets by name. Recipes may also name ``"package.module:attribute"``."""

    def __init__(self, scriptlets: Mapping[str, object] | None = None) -> None:
        self._items: dict[str, Scriptlet] = {}
        for name, obj in (scriptlets or {}).items():
            self.register(obj, name)

    def register(self, obj: object, name: str | None = None, *, replace: bool = False) -> Scriptlet:
        """Register a scriptlet (instance, subclass or function) under ``name``.

        Registering a different scriptlet under a taken name is an error unless
        ``replace=True`` (re-registering the same function, e.g. when a notebook cell
        runs again, replaces it silently).
        """
        item = as_scriptlet(obj, name)
        key = _check_name(name if name is not None else item.name)
        old = self._items.get(key)
        if old is not None and not replace and not _same_source(old, item):
            raise ScriptletError(
                f"a scriptlet named {key!r} is already registered; pass replace=True to replace it"
            )
        self._items[key] = item
        return item

    def get_scriptlet(self, ref: str) -> Scriptlet:
        """The scriptlet a recipe names: a registered name or ``module:attribute``."""
        found = self._items.get(ref)
        if found is not None:
            return found
        if _REF_RE.fullmatch(ref):
            return _import_ref(ref)
        close = difflib.get_close_matches(ref, list(self._items), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        known = ", ".join(sorted(self._items)) or "none"
        raise ScriptletError(f"unknown scriptlet {ref!r}{hint} (registered: {known})")

    def __getitem__(self, name: str) -> Scriptlet:
        return self._items[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"<ScriptletRegistry: {', '.join(sorted(self._items)) or 'empty'}>"


def _same_source(old: Scriptlet, new: Scriptlet) -> bool:
    if isinstance(old, FunctionScriptlet) and isinstance(new, FunctionScriptlet):
        a, b = old.fn, new.fn
        return (getattr(a, "__module__", None), getattr(a, "__qualname__", None)) == (
            getattr(b, "__module__", None),
            getattr(b, "__qualname__", None),
        )
    return type(old) is type(new)


def _import_ref(ref: str) -> Scriptlet:
    module_name, _, attr = ref.partition(":")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ScriptletError(f"cannot import scriptlet {ref!r}: {exc}") from None
    except Exception as exc:  # the module itself is broken (SyntaxError, an error it raises)
        raise ScriptletError(
            f"cannot import scriptlet {ref!r}: importing {module_name} raised "
            f"{type(exc).__name__}: {exc}"
        ) from None
    for part in attr.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ScriptletError(
                f"cannot import scriptlet {ref!r}: {module_name} has no {attr!r}"
            ) from None
    return as_scriptlet(target, attr.rsplit(".", 1)[-1])


registry = ScriptletRegistry()
"""The default registry: ``@scriptlet`` registers here unless told otherwise."""

_T = TypeVar("_T")


@overload
def scriptlet(name: _T, /) -> _T: ...


@overload
def scriptlet(
    name: str | None = None,
    /,
    *,
    reads: Iterable[str] = (),
    writes: Iterable[str] | None = None,
    params: Mapping[str, Any] | None = None,
    registry: ScriptletRegistry | None = None,
) -> Callable[[_T], _T]: ...


def scriptlet(
    name: Any = None,
    /,
    *,
    reads: Iterable[str] = (),
    writes: Iterable[str] | None = None,
    params: Mapping[str, Any] | None = None,
    registry: ScriptletRegistry | None = None,
) -> Any:
    """Register a function or :class:`Scriptlet` subclass; returns it unchanged.

    ``@scriptlet`` uses the function's name; ``@scriptlet("load_numbers", writes=[...],
    params={JSON Schema})`` names it and declares its contract.
    """
    target = registry if registry is not None else _default()

    def decorate(obj: _T) -> _T:
        if isinstance(obj, type) and issubclass(obj, Scriptlet):
            instance = as_scriptlet(obj, name)
            target.register(instance, name)
        else:
            fn: Any = obj
            target.register(
                FunctionScriptlet(fn, name, reads=reads, writes=writes, params=params), name
            )
        return obj

    if name is not None and not isinstance(name, str):
        obj, name = name, None
        return decorate(obj)
    return decorate


def _default() -> ScriptletRegistry:
    return registry
