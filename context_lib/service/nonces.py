"""Random nonces and salts, read from the operating system 4 KiB at a time.

Every write needs four: the AES-GCM nonces of its value, its history entry and its
audit payload, and the payload's salt. ``secrets.token_bytes`` makes one ``getrandom``
call for each; this pool makes one per 4 KiB (about 80 writes) and slices it. The
bytes are the kernel's CSPRNG output either way. Each thread has its own pool, and a
forked child starts with an empty one, so no two processes or threads ever hand out
the same bytes (a repeated AES-GCM nonce under one key would be fatal).

Only for values that are public or stored next to the data (nonces, salts); keys and
API key secrets still come from :mod:`secrets` directly.
"""

from __future__ import annotations

import os
import threading

__all__ = ["nonce"]

_BLOCK = 4096


class _Pool(threading.local):
    def __init__(self) -> None:
        self.block = b""
        self.used = 0


_pool = _Pool()


def nonce(size: int) -> bytes:
    """``size`` fresh random bytes (at most 4096)."""
    pool = _pool
    start = pool.used
    if start + size > len(pool.block):
        pool.block, start = os.urandom(_BLOCK), 0
    pool.used = start + size
    return pool.block[start : start + size]


def _forget() -> None:
    """In a forked child: never reuse what the parent may still hand out."""
    global _pool
    _pool = _Pool()


os.register_at_fork(after_in_child=_forget)
