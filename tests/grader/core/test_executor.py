"""The parent keeps a bounded amount of whatever the child sends."""

from __future__ import annotations

from grader.core.executor import MAX_CELL_BYTES, MAX_OBSERVED_BYTES, PlannedCell, execute
from grader.core.sandbox import SandboxLimits, get_sandbox

FLOOD = """
import builtins, json, os
line = (json.dumps({{"t": "obs", "n": builtins.__cc_observe__.__self__.current,
                     "check": "x", "kind": "probe", "status": "value",
                     "value": "v" * ({megabytes} << 20)}}) + "\\n").encode()
for _ in range({times}):
    os.write(3, line)
__cc_observe__("after the flood", lambda: 42)
"""


def _run(*cells: tuple[str, bool]) -> object:
    return execute(
        [
            PlannedCell(code=code, name=f"cell {i}", observed=obs)
            for i, (code, obs) in enumerate(cells)
        ],
        sandbox=get_sandbox(()),
        files={},
        limits=SandboxLimits(),
        cell_timeout=30,
        notebook_timeout=60,
    )


def test_an_unobserved_cell_keeps_nothing_however_much_it_sends() -> None:
    execution = _run((FLOOD.format(megabytes=3, times=40), False), ("x = 1", True))
    assert execution.observed_bytes == 0
    assert execution.outcomes[0].observations == []
    assert [o.status for o in execution.outcomes] == ["ok", "ok"]


def test_an_observed_cell_over_its_budget_is_malformed_and_keeps_at_most_the_budget() -> None:
    execution = _run((FLOOD.format(megabytes=1, times=12), True))
    outcome = execution.outcomes[0]
    assert outcome.status == "ok"
    assert outcome.malformed
    assert execution.observed_bytes <= MAX_CELL_BYTES
    floods = [obs for obs in outcome.observations if obs.check == "x"]
    assert len(floods) == (MAX_CELL_BYTES >> 20) - 1  # whole lines of 1 MB and a bit that fit


def test_the_whole_run_has_a_budget_too() -> None:
    cells = [(FLOOD.format(megabytes=1, times=3), True) for _ in range(6)]
    execution = _run(*cells)
    assert execution.observed_bytes <= MAX_OBSERVED_BYTES
    assert not execution.outcomes[0].malformed
    assert execution.outcomes[-1].malformed


def test_well_behaved_cells_are_unaffected() -> None:
    execution = _run(('__cc_observe__("v", lambda: list(range(1000)))', True))
    outcome = execution.outcomes[0]
    assert not outcome.malformed
    assert outcome.observations[0].value == list(range(1000))
