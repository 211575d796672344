"""What `--help` shows is what the help text says: no swallowed `[section]`, no `<bool>`."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from context_course.cli import main
from context_course.cli.app import reflowed
from tests.context_course.cli.test_every_command_is_documented import COMMANDS

SECTION = re.compile(r"\\?\[([a-z_.]+)\]")


def _texts(command: object) -> list[str]:
    texts = [getattr(command, "help", None) or ""]
    texts += [getattr(p, "help", None) or "" for p in getattr(command, "params", [])]
    return texts


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_help_shows_every_course_toml_section_its_text_names(
    path: list[str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = dict((tuple(p), c) for p, c in COMMANDS)[tuple(path)]
    sections = {m.group(1) for text in _texts(command) for m in SECTION.finditer(text)}
    monkeypatch.setenv("COLUMNS", "200")
    assert main([*path, "--help"]) == 0
    shown = capsys.readouterr().out
    for section in sections:
        assert f"[{section}]" in shown, f"`{' '.join(path)} --help` swallowed [{section}]"
    assert "<bool>" not in shown, f"`{' '.join(path)} --help` shows <bool> for a flag"


def test_the_three_reported_help_texts_show_their_sections(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    for argv, section in (
        (["certify", "--help"], "[grader]"),
        (["keys", "init", "--help"], "[certificates]"),
        (["cluster", "up", "--help"], "[grader]"),
    ):
        assert main(argv) == 0
        assert section in capsys.readouterr().out, argv


@pytest.mark.parametrize(
    "argv", [["lab", "--help"], ["release", "--help"], ["keys", "init", "--help"]]
)
def test_a_fresh_process_shows_no_bool_for_flags_of_a_lazily_loaded_command(
    argv: list[str],
) -> None:
    """As typed in a shell: the command's module is loaded only then, after the root is built."""
    code = "import sys; from context_course.cli import main; sys.exit(main(sys.argv[1:]))"
    shown = subprocess.run(
        [sys.executable, "-c", code, *argv],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    assert "--help" in shown
    assert "<bool>" not in shown, f"`{' '.join(argv)}` shows <bool> for a flag:\n{shown}"


def test_prose_paragraphs_flow_and_lists_and_examples_keep_their_lines() -> None:
    text = (
        "First line.\n\n"
        "A paragraph written\nover three\nsource lines.\n\n"
        "- a bullet\n- another\n\n"
        "\b\nkept   as\nwritten\n\n"
        "Example:\n    context-course check 3"
    )
    assert reflowed(text).split("\n\n") == [
        "First line.",
        "A paragraph written over three source lines.",
        "- a bullet\n- another",
        "\b\nkept   as\nwritten",
        "Example:\n    context-course check 3",
    ]


def test_a_wide_terminal_shows_a_paragraph_on_one_line_not_at_the_source_breaks() -> None:
    """Typer keeps a docstring's line breaks; in a shell they left ragged half-lines."""
    code = "import sys; from context_course.cli import main; sys.exit(main(sys.argv[1:]))"
    shown = subprocess.run(
        [sys.executable, "-c", code, "check", "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        check=True,
    ).stdout
    # Two neighbouring lines of the source docstring, on one line when the terminal is wide.
    line = next(line for line in shown.splitlines() if "what passes here passes" in line)
    assert "the visible tests at grading" in line, shown
