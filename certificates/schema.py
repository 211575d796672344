"""Validate a credential against the official Open Badges 3.0 JSON schema (offline).

The schema (``achievementcredential.json``, the strict JSON variant) ships inside the
package. ``format: date-time`` is checked because ``rfc3339-validator`` is installed.

jsonschema is imported on the first validation, not with this module: importing it
compiles the RFC 3987 grammars (seconds of CPU), which ``verify``, ``--help`` and every
other command that never validates a schema must not pay.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import jsonschema

__all__ = ["schema_errors"]


@cache
def _validator() -> jsonschema.protocols.Validator:
    import jsonschema  # here, not at the top: see the module docstring

    text = resources.files("certificates").joinpath("data", "achievementcredential.json")
    schema = json.loads(text.read_text("utf-8"))
    return jsonschema.Draft201909Validator(
        schema, format_checker=jsonschema.Draft201909Validator.FORMAT_CHECKER
    )


def schema_errors(credential: Mapping[str, Any]) -> list[str]:
    """Every way ``credential`` breaks the OB 3.0 AchievementCredential schema (``[]`` = valid)."""
    errors = sorted(_validator().iter_errors(dict(credential)), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors]
