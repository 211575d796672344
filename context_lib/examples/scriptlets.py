"""The scriptlets the example recipes use, registered in the default registry.

Importing :mod:`context_lib.examples` registers them; each declares what it writes,
and each validates its params with a JSON Schema, so recipes are checked before they run.
"""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from typing import Any

from context_lib.context import Context
from context_lib.merge import merge_all, sum_namespace
from context_lib.runner import StepContext, scriptlet

__all__ = [
    "compute_stats",
    "count_words",
    "fetch_text",
    "load_numbers",
    "shard_numbers",
    "sum_shards",
    "top_words",
    "write_report",
]

_NUMBER = {"type": "number"}


@scriptlet(
    "load_numbers",
    writes=["numbers"],
    params={
        "type": "object",
        "properties": {
            "values": {"type": "array", "items": _NUMBER, "minItems": 1},
            "count": {"type": "integer", "minimum": 1, "maximum": 1_000_000},
            "seed": {"type": "integer"},
            "low": _NUMBER,
            "high": _NUMBER,
        },
        "oneOf": [{"required": ["values"]}, {"required": ["count"]}],
        "additionalProperties": False,
    },
)
def load_numbers(ctx: StepContext, params: dict[str, Any]) -> None:
    """Put numbers in ``numbers.values``: the given ``values``, or ``count`` seeded random ints."""
    if "values" in params:
        values = list(params["values"])
        source = "params"
    else:
        rng = random.Random(params.get("seed", 0))
        low, high = params.get("low", 0), params.get("high", 100)
        values = [rng.randint(int(low), int(high)) for _ in range(params["count"])]
        source = f"random(seed={params.get('seed', 0)})"
    ctx.set("numbers.values", values)
    ctx.set("numbers.source", source)


@scriptlet("compute_stats", writes=["stats"], params={"type": "object", "maxProperties": 0})
def compute_stats(ctx: StepContext, params: dict[str, Any]) -> None:
    """Count, sum, mean, min, max and population standard deviation of ``numbers.values``."""
    values = ctx["numbers.values"]
    ctx.update(
        {
            "stats.count": len(values),
            "stats.sum": sum(values),
            "stats.mean": statistics.fmean(values),
            "stats.min": min(values),
            "stats.max": max(values),
            "stats.stdev": statistics.pstdev(values),
        }
    )


@scriptlet(
    "write_report",
    writes=["report"],
    params={
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "precision": {"type": "integer", "minimum": 0, "maximum": 10},
        },
        "additionalProperties": False,
    },
)
def write_report(ctx: StepContext, params: dict[str, Any]) -> None:
    """A one-paragraph text report of ``stats.*`` in ``report.text``."""
    stats = ctx.namespace("stats")
    digits = params.get("precision", 2)
    title = params.get("title", "Report")
    lines = [title, "=" * len(title)]
    lines += [
        f"{name}: {value:.{digits}f}" if isinstance(value, float) else f"{name}: {value}"
        for name, value in sorted(stats.items())
    ]
    ctx.set("report.text", "\n".join(lines))


@scriptlet(
    "fetch_text",
    writes=["text"],
    params={
        "type": "object",
        "properties": {"text": {"type": "string"}, "fail_times": {"type": "integer", "minimum": 0}},
        "required": ["text"],
        "additionalProperties": False,
    },
)
def fetch_text(ctx: StepContext, params: dict[str, Any]) -> None:
    """Store ``text`` in ``text.raw``; fails its first ``fail_times`` attempts (a flaky source)."""
    ctx.set("text.raw", params["text"])
    ctx.set("text.attempt", ctx.attempt)
    if ctx.attempt <= params.get("fail_times", 0):
        raise ConnectionError(f"source unavailable (attempt {ctx.attempt})")


@scriptlet("count_words", writes=["words.counts"], params={"type": "object", "maxProperties": 0})
def count_words(ctx: StepContext, params: dict[str, Any]) -> None:
    """Lower-cased word counts of ``text.raw`` in ``words.counts``."""
    words = re.findall(r"[\w']+", ctx["text.raw"].lower())
    ctx.set("words.counts", dict(sorted(Counter(words).items())))


@scriptlet(
    "top_words",
    writes=["words.top"],
    params={
        "type": "object",
        "properties": {"n": {"type": "integer", "minimum": 1}},
        "additionalProperties": False,
    },
)
def top_words(ctx: StepContext, params: dict[str, Any]) -> None:
    """The ``n`` most frequent words as ``[word, count]`` pairs (ties alphabetical)."""
    counts: dict[str, int] = ctx["words.counts"]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ctx.set("words.top", [[w, c] for w, c in ranked[: params.get("n", 3)]])


@scriptlet(
    "shard_numbers",
    writes=["shards"],
    params={
        "type": "object",
        "properties": {"shards": {"type": "integer", "minimum": 1, "maximum": 64}},
        "required": ["shards"],
        "additionalProperties": False,
    },
)
def shard_numbers(ctx: StepContext, params: dict[str, Any]) -> None:
    """Split ``numbers.values`` round-robin into ``shards.s0`` … for parallel workers."""
    values = ctx["numbers.values"]
    count = params["shards"]
    for i in range(count):
        ctx.set(f"shards.s{i}", values[i::count])


@scriptlet("sum_shards", writes=["metrics"], params={"type": "object", "maxProperties": 0})
def sum_shards(ctx: StepContext, params: dict[str, Any]) -> None:
    """One worker context per shard counts and sums it; ``merge_all`` adds them up.

    The merged ``metrics.*`` changes say which workers they came from
    (``merge:sum(shard-s0,…)``); the step records them under its own name.
    """
    workers = {}
    for name, values in ctx.namespace("shards").items():
        worker = Context()
        worker.set("metrics.count", len(values), who=f"shard-{name}")
        worker.set("metrics.total", sum(values), who=f"shard-{name}")
        workers[f"shard-{name}"] = worker
    merged, _report = merge_all(workers, reducers=[sum_namespace("metrics")])
    ctx.update(merged.to_dict())
