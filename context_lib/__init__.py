"""context_lib: a JSON-serializable, namespaced, history-tracking state container.

>>> from context_lib import Context
>>> ctx = Context()
>>> ctx.set("app.name", "demo", who="setup")
>>> ctx.get("app.name"), ctx.pop_dirty_keys()
('demo', ['app.name'])
"""

from context_lib.context import Conflict, Context, MergeReport
from context_lib.errors import (
    ContextError,
    InvalidKeyError,
    MergeConflictError,
    NotSerializableError,
    SnapshotError,
)
from context_lib.history import Change

__all__ = [
    "Change",
    "Conflict",
    "Context",
    "ContextError",
    "InvalidKeyError",
    "MergeConflictError",
    "MergeReport",
    "NotSerializableError",
    "SnapshotError",
]

__version__ = "0.1.0"
