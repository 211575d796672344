"""Import jsonschema without building the IRI grammar it may never use.

When ``jsonschema`` is imported (directly, or by ``nbformat``), its format checks import
``rfc3987_syntax``, which builds an Earley parser for RFC 3987 at import time: about
1.4 s of CPU on the course's machines, paid by every command that reads a notebook and by
the first scriptlet that validates its parameters, although only the ``iri`` and
``iri-reference`` formats use it. :func:`defer_iri_grammar` puts a stand-in module in its
place whose ``is_valid_syntax`` imports the real module on its first call, so the grammar
is built only when an IRI is actually checked, with the same result.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from typing import Any

__all__ = ["defer_iri_grammar"]

_NAME = "rfc3987_syntax"
_lock = threading.Lock()


def defer_iri_grammar() -> None:
    """Install the stand-in, unless the real module is already imported or absent.

    Call it before ``jsonschema`` is first imported; later calls do nothing.
    """
    with _lock:
        if _NAME in sys.modules or importlib.util.find_spec(_NAME) is None:
            return
        stand_in = types.ModuleType(_NAME, __doc__)
        stand_in.is_valid_syntax = _is_valid_syntax  # type: ignore[attr-defined]
        sys.modules[_NAME] = stand_in


def _is_valid_syntax(term: str, value: str) -> Any:
    with _lock:
        module = sys.modules.get(_NAME)
        if module is None or getattr(module, "is_valid_syntax", None) is _is_valid_syntax:
            sys.modules.pop(_NAME, None)
            module = importlib.import_module(_NAME)  # builds the grammar, once
    return module.is_valid_syntax(term, value)
