"""The audit witness: signed checkpoints of every chain's head, outside the database.

Keyed chains (:mod:`context_lib.service.audit`) stop anyone without the master key
from rewriting or inventing entries, but not from *removing* the newest ones (or a
whole chain) and moving the head back: what is left is still a valid chain. So after
every commit that appended audit entries, the service appends one line per chain to
the witness file::

    <chain> TAB <seq> TAB <entry hash> TAB HMAC(witness key, chain, seq, hash)

``serve verify-audit`` then requires every chain to reach the newest entry the
witness saw, with the same hash, and every chain the witness saw to exist.

The line is written after the commit (a crash in between leaves the witness one
entry behind, never ahead). The witness protects the log only if whoever can write
the database cannot also rewind this file: keep it on another disk or machine, or
make it append-only (``chattr +a``, a log shipper, WORM storage). Its lines are
signed, so it can be forged no more than the chain; only its end can be cut.
"""

from __future__ import annotations

import hmac
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from context_lib.service.audit import AuditEntry
from context_lib.service.errors import ConfigurationError

__all__ = ["Witness", "WitnessState"]

_MAX_LINE = 512


class WitnessState:
    """What a witness file says: the newest checkpoint per chain, and bad lines."""

    def __init__(self) -> None:
        self.heads: dict[str, tuple[int, str]] = {}
        self.problems: list[str] = []
        self.lines = 0


class Witness:
    """Append-only signed checkpoints of audit chain heads in the file at ``path``."""

    def __init__(self, path: str | Path, key: bytes) -> None:
        self.path = Path(path)
        self._key = key
        self._lock = threading.Lock()
        self._fd: int | None = None

    def _sign(self, chain: str, seq: int, hash_: str) -> str:
        return hmac.digest(self._key, f"{chain}\t{seq}\t{hash_}".encode(), "sha256").hex()

    def record(self, entries: Iterable[AuditEntry]) -> None:
        """Append a checkpoint of the newest of ``entries`` in each chain."""
        newest: dict[str, AuditEntry] = {}
        for entry in entries:
            if entry.chain not in newest or entry.seq > newest[entry.chain].seq:
                newest[entry.chain] = entry
        if not newest:
            return
        data = "".join(
            f"{e.chain}\t{e.seq}\t{e.hash}\t{self._sign(e.chain, e.seq, e.hash)}\n"
            for e in newest.values()
        ).encode()
        with self._lock:
            if self._fd is None:
                try:
                    self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                    self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                except OSError as exc:
                    raise ConfigurationError(
                        f"cannot open the audit witness {self.path}: {exc.strerror or exc}"
                    ) from None
            os.write(self._fd, data)  # one O_APPEND write: lines of processes never mix

    def read(self) -> WitnessState:
        """The newest signed checkpoint of every chain; unsigned or bad lines are problems."""
        state = WitnessState()
        if not self.path.exists():
            return state
        with self.path.open("rb") as handle:
            for number, raw in enumerate(handle, start=1):
                state.lines += 1
                parts = raw[:_MAX_LINE].decode("utf-8", "replace").rstrip("\n").split("\t")
                ok = len(parts) == 4 and len(raw) <= _MAX_LINE and parts[1].isdigit()
                if ok:
                    chain, seq_text, hash_, signature = parts
                    seq = int(seq_text[:18])
                    ok = hmac.compare_digest(self._sign(chain, seq, hash_), signature)
                if not ok:
                    state.problems.append(
                        f"witness {self.path} line {number} is not a checkpoint signed "
                        "with this master key"
                    )
                    continue
                if chain not in state.heads or seq > state.heads[chain][0]:
                    state.heads[chain] = (seq, hash_)
        return state

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
