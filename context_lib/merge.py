"""Distributed merging: three-way merges, and many workers' contexts folded into one.

* :func:`merge3` merges two contexts that both started from ``base``: a key changed on
  one side only takes that side (a deletion included); a key both sides changed to
  different values is a conflict, resolved by the strategy.
* :func:`merge_all` folds many workers' contexts into one, with reducers for keys that
  should be combined rather than chosen: :func:`sum_namespace` (counters),
  :func:`concat_namespace` (lists), :func:`max_namespace`, :func:`min_namespace`.

Every change in a merged context says where it came from: ``who`` is ``merge:<name>``
for the side or worker whose value was taken (``merge:sum(worker-0,worker-2)`` for a
reduced value, ``merge:resolved`` for a value a callable strategy produced).

Strategies are those of :meth:`Context.merge_from`: ``"last_writer_wins"`` (the value
changed last, by history timestamps; ties go to ``theirs`` / the later worker),
``"ours"`` / ``"theirs"`` (first / last worker in :func:`merge_all`), ``"raise"``
(:class:`MergeConflictError` listing every conflict, nothing merged), or a callable
``(key, ours, theirs) -> value``. In :func:`merge3` a callable sees :data:`DELETED` for
a side that deleted the key and may return it to delete the key.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from context_lib.clashes import resolver_of
from context_lib.context import Conflict, Context, MergeReport, MergeStrategy
from context_lib.errors import ContextError, MergeConflictError
from context_lib.values import check_keys, check_prefix, own, same_value

__all__ = [
    "DELETED",
    "ReduceError",
    "Reducer",
    "concat_namespace",
    "max_namespace",
    "merge3",
    "merge_all",
    "min_namespace",
    "reduce_namespace",
    "sum_namespace",
]


class _Deleted:
    """The marker for "this side deleted (or never had) the key"."""

    _instance: _Deleted | None = None

    def __new__(cls) -> _Deleted:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "DELETED"

    def __reduce__(self) -> str:
        return "DELETED"


DELETED: Final = _Deleted()
"""Stands for an absent key in conflicts and in callable strategies of :func:`merge3`."""

Source = Context | Mapping[str, Any]


class ReduceError(ContextError, TypeError):
    """A reducer met values it cannot combine; names the key and the worker."""

    def __init__(self, key: str, reducer: str, problem: str) -> None:
        self.key = key
        self.reducer = reducer
        super().__init__(f"cannot merge key {key!r} with {reducer}: {problem}")


# ---------------------------------------------------------------------- helpers


def _data(source: Source, what: str) -> dict[str, Any]:
    if isinstance(source, Context):
        return source.to_dict()
    if isinstance(source, Mapping):
        check_keys(source)
        return {k: own(v, f"{what}[{k!r}]") for k, v in source.items()}
    raise ContextError(f"{what} must be a Context or a mapping, not {type(source).__name__}")


def _change_times(source: Source) -> dict[str, float]:
    """When each key last changed (a mapping has no history: never)."""
    if not isinstance(source, Context):
        return {}
    return {change.key: change.timestamp for change in source.history}


def _same(a: Any, b: Any) -> bool:
    if a is DELETED or b is DELETED:
        return a is b
    return same_value(a, b)


def _check_name(name: object, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise ContextError(f"{what} must be a non-empty string, not {name!r}")
    return name


def _finish(
    base: dict[str, Any],
    plan: list[tuple[str, Any, str]],
    conflicts: list[Conflict],
    strategy: MergeStrategy,
    clock: Callable[[], float],
) -> tuple[Context, MergeReport]:
    """Raise for conflicts under ``"raise"``, else apply ``plan`` to a new context on ``base``."""
    if strategy == "raise" and conflicts:
        raise MergeConflictError(conflicts)
    result = Context.from_dict(base, clock=clock)
    for key, value, who in plan:
        if value is DELETED:
            if key in result:
                result.delete(key, who=who)
        else:
            result.set(key, value, who=who)
    return result, MergeReport([key for key, _, _ in plan], conflicts)


# ---------------------------------------------------------------------- merge3


def merge3(
    base: Source,
    ours: Source,
    theirs: Source,
    strategy: MergeStrategy = "last_writer_wins",
    *,
    names: tuple[str, str] = ("ours", "theirs"),
    clock: Callable[[], float] = time.time,
) -> tuple[Context, MergeReport]:
    """Three-way merge of ``ours`` and ``theirs``, which both started from ``base``.

    Returns a new context (starting from ``base``, with every merged change recorded
    as ``merge:<side name>``) and a report: ``applied`` lists the keys whose merged
    value differs from ``base``; ``conflicts`` lists every key both sides changed
    differently (with :data:`DELETED` for a side that deleted it), whichever way the
    strategy resolved it. With ``"raise"`` any conflict raises
    :class:`MergeConflictError` and nothing is returned. The inputs are not changed.

    >>> base = {"a": 1, "b": 1, "c": 1}
    >>> merged, report = merge3(base, {"a": 2, "b": 1, "c": 1}, {"a": 1, "b": 3})
    >>> merged.to_dict(), report.applied, report.conflicts
    ({'a': 2, 'b': 3}, ['a', 'b', 'c'], [])
    """
    resolver_of(strategy)  # refuses an unknown name before any work
    ours_name, theirs_name = (_check_name(n, "a side name") for n in names)
    b, o, t = _data(base, "base"), _data(ours, "ours"), _data(theirs, "theirs")
    plan: list[tuple[str, Any, str]] = []
    conflicts: list[Conflict] = []
    times: tuple[dict[str, float], dict[str, float]] | None = None
    for key in dict.fromkeys([*b, *o, *t]):
        bv, ov, tv = b.get(key, DELETED), o.get(key, DELETED), t.get(key, DELETED)
        if _same(ov, tv):
            value, who = ov, f"merge:{ours_name}+{theirs_name}"
        elif _same(ov, bv):
            value, who = tv, f"merge:{theirs_name}"
        elif _same(tv, bv):
            value, who = ov, f"merge:{ours_name}"
        else:
            conflicts.append(Conflict(key, ov, tv))
            if strategy == "raise":
                continue
            if strategy == "ours":
                value, who = ov, f"merge:{ours_name}"
            elif strategy == "theirs":
                value, who = tv, f"merge:{theirs_name}"
            elif strategy == "last_writer_wins":
                if times is None:
                    times = (_change_times(ours), _change_times(theirs))
                ours_at, theirs_at = times[0].get(key, -1.0), times[1].get(key, -1.0)
                if ours_at > theirs_at:
                    value, who = ov, f"merge:{ours_name}"
                else:
                    value, who = tv, f"merge:{theirs_name}"
            else:
                assert callable(strategy)
                resolved = strategy(key, ov, tv)
                value = DELETED if resolved is DELETED else own(resolved, f"merge[{key!r}]")
                who = "merge:resolved"
        if not _same(value, bv):
            plan.append((key, value, who))
    return _finish(b, plan, conflicts, strategy, clock)


# ---------------------------------------------------------------------- reducers


@dataclass(frozen=True)
class Reducer:
    """Combines every worker's value of the keys under ``prefix`` into one.

    ``combine(key, values, base)`` gets the values in worker order and the base value
    (:data:`DELETED` when there is no base or it lacks the key).
    """

    name: str
    prefix: str
    combine: Callable[[str, list[Any], Any], Any]

    def matches(self, key: str) -> bool:
        """Whether ``key`` is ``prefix`` itself or lies under ``prefix.``."""
        return key == self.prefix or key.startswith(self.prefix + ".")


def _is_number(value: Any) -> bool:
    return value.__class__ in (int, float)


def _numbers(reducer: str, key: str, values: Iterable[Any]) -> list[int | float]:
    found = list(values)
    for value in found:
        if not _is_number(value):
            raise ReduceError(key, reducer, f"{value!r} is not a number")
    return found


def sum_namespace(prefix: str) -> Reducer:
    """Counters under ``prefix`` are added up.

    With a ``base``, each worker's contribution is its increase over the base value,
    so ``base + Σ(worker - base)``: counters that all started from the base add up
    correctly.
    """
    name = f"sum_namespace({check_prefix(prefix)!r})"

    def combine(key: str, values: list[Any], base: Any) -> Any:
        nums = _numbers(name, key, values)
        start = 0 if base is DELETED else _numbers(name, key, [base])[0]
        return start + sum(v - start for v in nums)

    return Reducer("sum", prefix, combine)


def concat_namespace(prefix: str) -> Reducer:
    """Lists under ``prefix`` are concatenated in worker order.

    With a ``base``, a worker's list that starts with the base list contributes only
    what it appended, so the base items appear once.
    """
    name = f"concat_namespace({check_prefix(prefix)!r})"

    def combine(key: str, values: list[Any], base: Any) -> Any:
        start: list[Any] = []
        if base is not DELETED:
            if not isinstance(base, list):
                raise ReduceError(key, name, f"base value {base!r} is not a list")
            start = base
        merged = list(start)
        for value in values:
            if not isinstance(value, list):
                raise ReduceError(key, name, f"{value!r} is not a list")
            cut = len(start) if same_value(value[: len(start)], start) else 0
            merged.extend(value[cut:])
        return merged

    return Reducer("concat", prefix, combine)


def max_namespace(prefix: str) -> Reducer:
    """The largest number any worker holds under ``prefix``."""
    name = f"max_namespace({check_prefix(prefix)!r})"
    return Reducer("max", prefix, lambda key, values, base: max(_numbers(name, key, values)))


def min_namespace(prefix: str) -> Reducer:
    """The smallest number any worker holds under ``prefix``."""
    name = f"min_namespace({check_prefix(prefix)!r})"
    return Reducer("min", prefix, lambda key, values, base: min(_numbers(name, key, values)))


def reduce_namespace(
    prefix: str, fn: Callable[[list[Any]], Any], name: str | None = None
) -> Reducer:
    """A custom reducer: ``fn(values)`` combines the workers' values under ``prefix``."""
    check_prefix(prefix)
    label: str = name or str(getattr(fn, "__name__", "reduce"))
    return Reducer(label, prefix, lambda key, values, base: fn(values))


# ---------------------------------------------------------------------- merge_all


def merge_all(
    contexts: Mapping[str, Source] | Sequence[Source],
    strategy: MergeStrategy = "last_writer_wins",
    *,
    reducers: Iterable[Reducer] = (),
    base: Source | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[Context, MergeReport]:
    """Fold many workers' contexts into one new context.

    ``contexts`` is a mapping of worker names to contexts, or a sequence (named
    ``worker-0``, ``worker-1``, …). Keys under a reducer's prefix are combined by the
    first matching reducer; every other key takes the value the workers agree on, and
    when they disagree the strategy decides (``"ours"``: the first worker, ``"theirs"``:
    the last, ``"last_writer_wins"``: the latest change, a callable: folded left to
    right). ``report.conflicts`` has one entry per disagreement met.

    With ``base`` (the context every worker started from), only what a worker changed
    counts: a worker that left a key as it was in ``base`` does not take part, and a
    key a worker deleted is deleted unless another worker changed it.

    >>> merged, _ = merge_all([{"hits.a": 2, "v": 1}, {"hits.a": 3, "v": 1}],
    ...                       reducers=[sum_namespace("hits")])
    >>> merged.to_dict(), merged.history[0].who
    ({'hits.a': 5, 'v': 1}, 'merge:sum(worker-0,worker-1)')
    """
    resolver_of(strategy)  # refuses an unknown name before any work
    if isinstance(contexts, Mapping):
        named = [(_check_name(n, "a worker name"), c) for n, c in contexts.items()]
    elif isinstance(contexts, Sequence) and not isinstance(contexts, str):
        named = [(f"worker-{i}", c) for i, c in enumerate(contexts)]
    else:
        raise ContextError("merge_all needs a mapping of worker names to contexts, or a list")
    rules = list(reducers)
    for candidate in rules:
        if not isinstance(candidate, Reducer):
            raise ContextError(
                f"reducers must be Reducer objects (e.g. sum_namespace), not {candidate!r}"
            )
    b = {} if base is None else _data(base, "base")
    datas = [(name, _data(src, f"contexts[{name!r}]")) for name, src in named]
    times: dict[str, dict[str, float]] | None = None
    plan: list[tuple[str, Any, str]] = []
    conflicts: list[Conflict] = []
    keys = dict.fromkeys([*b, *(k for _, data in datas for k in data)])
    for key in keys:
        bv = b.get(key, DELETED)
        offers: list[tuple[str, Any]] = []
        for name, data in datas:
            value = data.get(key, DELETED)
            if base is None and value is DELETED:
                continue  # without a base, absence says nothing
            if base is not None and _same(value, bv):
                continue  # unchanged since the base
            offers.append((name, value))
        if not offers:
            continue
        rule: Reducer | None = next((r for r in rules if r.matches(key)), None)
        if rule is not None:
            present = [(n, v) for n, v in offers if v is not DELETED]
            if not present:
                value, who = DELETED, "merge:" + ",".join(n for n, _ in offers)
            else:
                value = own(rule.combine(key, [v for _, v in present], bv), f"merge[{key!r}]")
                who = f"merge:{rule.name}({','.join(n for n, _ in present)})"
        else:
            if strategy == "last_writer_wins" and times is None:
                times = {name: _change_times(src) for name, src in named}
            value, who = _choose(key, offers, strategy, times or {}, conflicts)
        if not _same(value, bv):
            plan.append((key, value, who))
    return _finish(b, plan, conflicts, strategy, clock)


def _choose(
    key: str,
    offers: list[tuple[str, Any]],
    strategy: MergeStrategy,
    times: Mapping[str, Mapping[str, float]],
    conflicts: list[Conflict],
) -> tuple[Any, str]:
    """Pick (or resolve) one value among the workers' offers, recording disagreements.

    When the workers disagree, a callable strategy is folded over every offer in
    worker order (``f(f(v0, v1), v2)``), so ``lambda k, a, b: a + b`` adds them all.
    """
    name, value = offers[0]
    who = f"merge:{name}"
    if all(_same(value, candidate) for _, candidate in offers[1:]):
        return value, who
    for other, candidate in offers[1:]:
        if not _same(value, candidate):
            conflicts.append(Conflict(key, value, candidate))
        if callable(strategy):
            resolved = strategy(key, value, candidate)
            value = DELETED if resolved is DELETED else own(resolved, f"merge[{key!r}]")
            who = "merge:resolved"
        elif _same(value, candidate):
            continue
        elif strategy in ("theirs", "raise"):
            name, value, who = other, candidate, f"merge:{other}"
        elif strategy == "last_writer_wins":
            mine = times.get(name, {}).get(key, -1.0)
            theirs = times.get(other, {}).get(key, -1.0)
            if theirs >= mine:
                name, value, who = other, candidate, f"merge:{other}"
    return value, who
