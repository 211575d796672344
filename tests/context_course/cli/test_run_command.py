"""``context-course run RECIPE [--store URL] [--resume] [--import MODULE]``, in-process."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from context_course.cli import main
from context_lib.examples import recipe_path
from context_lib.persistence import load, open_store

REF = "tests.context_lib.runner.scriptlets_for_tests:fail_if_asked"


def _recipe(tmp_path: Path) -> Path:
    path = tmp_path / "flow.yaml"
    path.write_text(
        "name: flow\nsteps:\n"
        f"  - {{name: one, scriptlet: '{REF}'}}\n"
        f"  - {{name: two, scriptlet: '{REF}', depends_on: [one], retries: 1}}\n"
        f"  - {{name: three, scriptlet: '{REF}', depends_on: [two]}}\n"
    )
    return path


def test_runs_an_example_and_prints_progress_context_and_summary(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", str(recipe_path("numbers"))]) == 0
    out = capsys.readouterr().out
    assert "Running recipe 'numbers': 3 step(s)" in out
    for step in ("load", "stats", "report"):
        assert f"✓ {step}" in out
    assert "stats.count" in out
    assert "Steps" in out
    assert out.index("✓ load") < out.index("✓ stats") < out.index("✓ report")


def test_checkpoints_to_the_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path}/numbers.db?name=numbers"
    assert main(["run", str(recipe_path("numbers")), "--store", url]) == 0
    assert f"checkpoints in {url}" in capsys.readouterr().out.replace("\n", "")
    with open_store(url) as store:
        data = load(store).to_dict()
    assert data["stats.count"] == 20
    assert data["_runner.completed"] == ["load", "stats", "report"]


def test_a_failed_step_exits_1_with_one_line_and_resume_continues(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recipe = _recipe(tmp_path)
    url = f"sqlite:///{tmp_path}/flow.db"
    monkeypatch.setenv("FAIL_STEP", "two")
    assert main(["run", str(recipe), "--store", url]) == 1
    captured = capsys.readouterr()
    assert captured.err == (
        "error: step 'two' failed after 2 attempts: RuntimeError: two was asked to fail\n"
    )
    assert "↻ two attempt 1/2 failed" in captured.out
    assert "not_run" in captured.out  # step three, in the summary
    assert "Traceback" not in captured.out + captured.err

    monkeypatch.delenv("FAIL_STEP")
    assert main(["run", str(recipe), "--store", url, "--resume"]) == 0
    out = capsys.readouterr().out
    assert "Resuming recipe 'flow'" in out
    assert "= one already done (resumed)" in out
    assert "✓ two" in out
    assert "✓ three" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "missing.yaml"], "missing.yaml: recipe has a problem: no such file"),
        (["run", "{recipe}", "--store", "ftp://x"], "unknown scheme 'ftp'"),
        (["run", "{recipe}", "--resume"], "--resume needs --store URL"),
        (["run", "{recipe}", "--import", "no_such_module_xyz"], "cannot import module"),
        (["run", "{recipe}", "--resume", "--store", "memory://"], "holds no checkpointed run"),
        (["run", "{bad}"], "unknown scriptlet 'nope'"),
        (["run", "{cycle}"], "cycle in depends_on: a -> b -> a"),
    ],
)
def test_mistakes_are_one_line_errors(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - {name: a, scriptlet: nope}\n")
    cycle = tmp_path / "cycle.json"
    cycle.write_text(
        '[{"name": "a", "scriptlet": "x", "depends_on": ["b"]},'
        ' {"name": "b", "scriptlet": "x", "depends_on": ["a"]}]'
    )
    paths = {"recipe": str(_recipe(tmp_path)), "bad": str(bad), "cycle": str(cycle)}
    code = main([a.format(**paths) for a in args])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: ")
    assert err.count("\n") == 1
    assert message in err


def test_an_imported_module_that_raises_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_cli_scriptlets.py").write_text("raise RuntimeError('no config')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = main(["run", str(recipe_path("numbers")), "--import", "broken_cli_scriptlets"])
    err = capsys.readouterr().err
    assert code == 2
    assert err == (
        "error: cannot import module 'broken_cli_scriptlets' (--import): "
        "it raised RuntimeError: no config\n"
    )


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--help"]) == 0
    out = capsys.readouterr().out
    assert "context-course run context_lib/examples/numbers.yaml" in out
    assert "--store" in out


def test_import_finds_a_module_in_the_current_folder_without_pythonpath(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "my_cwd_scriptlets.py").write_text(
        "from context_lib.runner import scriptlet\n\n"
        '@scriptlet("cwd_triple", writes=["out"])\n'
        "def cwd_triple(ctx, params):\n"
        '    ctx.set("out.value", 3 * 14)\n',
        encoding="utf-8",
    )
    (tmp_path / "recipe.yaml").write_text(
        "name: here\nsteps:\n  - name: triple\n    scriptlet: cwd_triple\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("sys.path", [p for p in sys.path if p not in ("", ".", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "my_cwd_scriptlets", raising=False)
    code = main(["run", "recipe.yaml", "--import", "my_cwd_scriptlets"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert "out.value" in out and "42" in out
    assert str(tmp_path) not in sys.path  # the current folder was only added for the import
