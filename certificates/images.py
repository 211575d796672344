"""The pictures a verifier's wallet shows: one medal per level and the issuer's seal (SVG).

Plain, self-contained SVG (no script, no external reference), written from a fixed
template: the only text in it is the level's or issuer's name, escaped.
"""

from __future__ import annotations

import string
from importlib import resources
from xml.sax.saxutils import escape

from certificates.policy import Level

__all__ = ["achievement_svg", "issuer_svg"]

_COLOURS = {
    "bronze": ("#c27a3a", "#7d4a1e", "#f0c9a0"),
    "silver": ("#9da3ab", "#5b6270", "#eef1f4"),
    "gold": ("#d4a72c", "#8a6a10", "#fbe7a1"),
}


def _medal(main: str, deep: str, light: str, word: str, label: str) -> str:
    template = resources.files("certificates").joinpath("data", "medal.svg").read_text("utf-8")
    quoted = {'"': "&quot;"}
    return string.Template(template).substitute(
        main=main, deep=deep, light=light, word=escape(word), label=escape(label, quoted)
    )


def achievement_svg(level: Level) -> str:
    """The medal of ``level`` (also the image baked into ``badge.svg``)."""
    main, deep, light = _COLOURS[level.key]
    return _medal(main, deep, light, level.name.upper(), f"{level.name}: {level.title}")


def issuer_svg(name: str) -> str:
    """The issuer's seal: its initials on a neutral medal."""
    initials = "".join(word[0] for word in name.split()[:3] if word[:1].isalnum()).upper() or "CC"
    return _medal("#4a5568", "#1f2430", "#e2e8f0", initials, name)
