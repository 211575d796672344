"""The class report's pass-rate chart: every label and note fits inside the picture."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from grader.pipeline.report import _CHAR_W, bar_chart_svg

SVG = "{http://www.w3.org/2000/svg}"


def _texts(svg: str) -> tuple[float, list[tuple[float, str, str]]]:
    root = ET.fromstring(svg)
    width = float(root.get("width", "0"))
    found = []
    for text in root.iter(f"{SVG}text"):
        shown = (text.text or "") + "".join((child.tail or "") for child in text)
        found.append((float(text.get("x", "0")), text.get("text-anchor", "start"), shown))
    return width, found


@pytest.mark.parametrize(
    "label",
    [
        "Part 1",
        "Namespaces with defaults and a reload that keeps attribution",  # the reported case
        "W" * 200,  # longer than the chart itself
    ],
)
def test_labels_and_notes_are_never_cut_off(label: str) -> None:
    items = [(label, 1.0, "(1000/1000)"), ("short", 0.0, "(0/3)"), ("half", 0.5, "(1/2)")]
    width, texts = _texts(str(bar_chart_svg(items)))
    for x, anchor, shown in texts:
        extent = len(shown) * _CHAR_W
        left = {"start": x, "middle": x - extent / 2, "end": x - extent}[anchor]
        assert left >= 0 and left + extent <= width + 0.5, (shown, x, anchor)
    labels = [shown for _, _, shown in texts if shown in (label, "short", "half")]
    if len(label) * _CHAR_W <= width:
        assert label in labels  # shown whole when it fits
    else:
        assert any(s.endswith("…") for _, _, s in texts)


def test_the_full_label_is_in_the_tooltip() -> None:
    label = "W" * 200
    root = ET.fromstring(str(bar_chart_svg([(label, 0.4, "(2/5)")])))
    assert [t.text for t in root.iter(f"{SVG}title")] == [label]
