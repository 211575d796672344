"""Loading WeasyPrint, the PDF engine, with one clear line when the machine lacks a part.

WeasyPrint is a Python package (the ``certificates`` extra) on top of system libraries
(Pango, and HarfBuzz's subsetter for font subsetting). Each missing part gets its own
:class:`~certificates.errors.RenderError` naming what to install:

- the Python package missing → ``pip install 'context-course[certificates]'``;
- Pango missing (WeasyPrint cannot load it) → the apt packages that provide it;
- only ``libharfbuzz-subset0`` missing → WeasyPrint still renders (it subsets fonts
  itself) but warns with a ``DeprecationWarning`` at import; that warning is not the
  caller's business, so it is silenced here, where WeasyPrint is imported, and
  :func:`missing_optional_libraries` reports it instead.
"""

from __future__ import annotations

import contextlib
import ctypes.util
import importlib
import io
import warnings
from types import ModuleType

from certificates.errors import RenderError

__all__ = [
    "PANGO_APT",
    "SUBSET_APT",
    "load_weasyprint",
    "missing_optional_libraries",
    "pdf_engine_problem",
]

#: apt packages providing the libraries WeasyPrint cannot run without.
PANGO_APT = ("libpango-1.0-0", "libpangoft2-1.0-0")
#: apt package providing HarfBuzz's subsetter (optional: WeasyPrint warns without it).
SUBSET_APT = "libharfbuzz-subset0"
_EXTRA_LINE = "pip install 'context-course[certificates]'"
_SUBSET_WARNING = "HarfBuzz-Subset will be required"


def load_weasyprint() -> ModuleType:
    """The ``weasyprint`` module; :class:`RenderError` (one line, with the fix) if it can't load."""
    # WeasyPrint prints a multi-line banner to stdout when a library is missing: the error
    # below says the same in one line, with the fix.
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.filterwarnings("ignore", message=_SUBSET_WARNING, category=DeprecationWarning)
        try:
            return importlib.import_module("weasyprint")
        except ImportError as exc:
            if exc.name is not None and exc.name.split(".")[0] == "weasyprint":
                raise RenderError(
                    f"PDF certificates need WeasyPrint, which is not installed: {_EXTRA_LINE}"
                ) from None
            raise RenderError(f"WeasyPrint cannot be imported: {exc}") from None
        except OSError as exc:  # cffi could not dlopen a system library
            raise RenderError(
                "PDF certificates need the Pango system library, which WeasyPrint cannot "
                f"load ({str(exc)[:120]}): apt-get install {' '.join(PANGO_APT)}"
            ) from None


def pdf_engine_problem() -> str | None:
    """Why PDFs cannot be rendered here (one line with the fix), or ``None`` if they can."""
    try:
        load_weasyprint()
    except RenderError as exc:
        return str(exc)
    return None


def missing_optional_libraries() -> list[str]:
    """apt packages that would improve rendering but are not required (e.g. the subsetter)."""
    return [] if ctypes.util.find_library("harfbuzz-subset") else [SUBSET_APT]
