"""``JsonFileStore``: one JSON file, rewritten atomically on every write.

Every write goes to a temporary file in the same folder, is flushed to disk
(``fsync``) and renamed over the old file, so a crash at any moment leaves either the
old or the new state, never a torn file. Writers in several processes take an
exclusive lock on ``<file>.lock`` around each read-modify-write; readers see whole
files only. A write rewrites the whole file, so this store suits contexts up to a few
megabytes; use :class:`~context_lib.persistence.SQLiteStore` beyond that.

The audit trail (optional) lives next to the file as JSON lines
(``<file>.history-<id>.jsonl``). The main file records how many lines (and bytes) of
it are committed, so lines a crashed writer appended are ignored and overwritten.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import tempfile
from collections.abc import Iterator
from pathlib import Path

from context_lib.persistence._common import BackendStore
from context_lib.persistence.codec import decode, encode_value
from context_lib.persistence.errors import (
    CorruptStoreError,
    HistoryMismatchError,
    StoreUnavailableError,
    StoreURLError,
)
from context_lib.values import check_keys

try:  # POSIX: lock across processes; elsewhere one writer process is assumed.
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["JsonFileStore"]

FORMAT = "context_lib.store"
VERSION = 1


class JsonFileStore(BackendStore):
    """A context kept in one JSON file (created on the first write).

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "state.json")
    >>> with JsonFileStore(path) as store:
    ...     _ = store.put_many({"run.status": "done"})
    >>> JsonFileStore(path).get("run.status")
    'done'
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        super().__init__()
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreURLError(f"file://{self.path}", f"folder {self.path.parent} does not exist")
        if self.path.is_dir():
            raise StoreURLError(f"file://{self.path}", "that path is a folder, not a file")
        self._texts: dict[str, str] = {}
        self._hist_file: str | None = None
        self._hist_length = 0
        self._hist_bytes = 0
        self._seen: tuple[int, int, int] | None = None
        self._swept = False
        self._refresh()

    def _describe(self) -> str:
        return f"JsonFileStore({str(self.path)!r})"

    # ------------------------------------------------------------ reading the file

    @contextlib.contextmanager
    def _disk(self, action: str) -> Iterator[None]:
        """Turn the operating system's errors (a full or read-only disk, permissions)
        into one line naming the store; a failed write has changed nothing."""
        try:
            yield
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            where = f" ({exc.filename})" if exc.filename else ""
            raise StoreUnavailableError(
                f"{self._describe()}: cannot {action}: {reason}{where}"
            ) from None

    def _refresh(self) -> None:
        """Re-read the file if another writer replaced it since we last looked."""
        with self._disk("read the file"):
            try:
                st = self.path.stat()
            except FileNotFoundError:
                if self._seen is not None:
                    self._reset()
                return
            seen = (st.st_ino, st.st_mtime_ns, st.st_size)
            if seen == self._seen:
                return
            raw = self.path.read_bytes()
        self._parse(raw)
        self._seen = seen

    def _reset(self) -> None:
        self._texts, self._hist_file, self._hist_length, self._hist_bytes = {}, None, 0, 0
        self._seen = None

    def _parse(self, raw: bytes) -> None:
        where = str(self.path)
        doc = decode(raw, where)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise CorruptStoreError(where, f"not a context store file (expected format {FORMAT!r})")
        if doc.get("version") != VERSION:
            raise CorruptStoreError(
                where,
                f"store file version {doc.get('version')!r} is not supported; this library "
                f"reads version {VERSION}",
            )
        data, hist = doc.get("data"), doc.get("history")
        if not isinstance(data, dict) or not isinstance(hist, dict):
            raise CorruptStoreError(where, "the file has no 'data' or 'history' object")
        try:
            check_keys(data)
        except ValueError as exc:
            raise CorruptStoreError(where, str(exc)) from None
        hist_file, length, size = hist.get("file"), hist.get("length"), hist.get("bytes")
        if not (
            (hist_file is None or isinstance(hist_file, str))
            and isinstance(length, int)
            and isinstance(size, int)
        ):
            raise CorruptStoreError(where, "the 'history' object is malformed")
        self._texts = {k: encode_value(v) for k, v in data.items()}
        self._hist_file, self._hist_length, self._hist_bytes = hist_file, length, size

    def _get_texts(self, keys: list[str]) -> dict[str, str | bytes]:
        self._refresh()
        texts = self._texts
        return {k: texts[k] for k in keys if k in texts}

    def _all_texts(self) -> dict[str, str | bytes]:
        self._refresh()
        return dict(self._texts)

    def _keys(self, bounds: tuple[str, str] | None) -> list[str]:
        self._refresh()
        if bounds is None:
            return sorted(self._texts)
        low, high = bounds
        return sorted(k for k in self._texts if low <= k < high)

    def _history_length(self) -> int:
        self._refresh()
        return self._hist_length

    def _history_texts(self, start: int, stop: int | None) -> list[str | bytes]:
        self._refresh()
        if self._hist_file is None or self._hist_length == 0:
            return []
        with (
            self._disk("read the audit trail"),
            open(self.path.parent / self._hist_file, "rb") as fh,
        ):
            raw = fh.read(self._hist_bytes)
        lines = raw.splitlines()
        if len(lines) != self._hist_length:
            raise CorruptStoreError(
                str(self.path.parent / self._hist_file),
                f"holds {len(lines)} committed records; the store file says {self._hist_length}",
            )
        return list(lines[start:stop])

    # ------------------------------------------------------------ writing

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if fcntl is None:  # pragma: no cover - Windows
            yield
            return
        with open(str(self.path) + ".lock", "a+b") as lock:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock.fileno(), fcntl.LOCK_UN)

    def _write(
        self,
        pairs: list[tuple[str, str]],
        deletes: list[str],
        replace: bool,
        history: list[str],
        history_at: int | None,
    ) -> None:
        with self._disk("write"), self._locked():
            self._refresh()
            if not self._swept:
                self._sweep()
            if history_at is not None and history_at != self._hist_length:
                raise HistoryMismatchError(self._hist_length, history_at)
            texts = {} if replace else dict(self._texts)
            texts.update(pairs)
            for key in deletes:
                texts.pop(key, None)
            old_file = self._hist_file
            if replace:
                hist_file, length, size = (self._new_history_name() if history else None), 0, 0
            else:
                hist_file, length, size = old_file, self._hist_length, self._hist_bytes
                if history and hist_file is None:
                    hist_file = self._new_history_name()
            if history:
                assert hist_file is not None
                size = self._append_history(hist_file, size, history)
                length += len(history)
            self._commit(texts, hist_file, length, size)
            self._texts = texts
            self._hist_file, self._hist_length, self._hist_bytes = hist_file, length, size
            if replace and old_file is not None and old_file != hist_file:
                with contextlib.suppress(FileNotFoundError):
                    (self.path.parent / old_file).unlink()

    def _sweep(self) -> None:
        """Remove what killed writers left behind (under the lock, so none is in use)."""
        folder, name = self.path.parent, self.path.name
        for leftover in folder.glob(f".{glob.escape(name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
        for trail in folder.glob(f"{glob.escape(name)}.history-*.jsonl"):
            if trail.name != self._hist_file:
                with contextlib.suppress(FileNotFoundError):
                    trail.unlink()
        self._swept = True

    def _new_history_name(self) -> str:
        return f"{self.path.name}.history-{secrets.token_hex(6)}.jsonl"

    def _append_history(self, name: str, committed: int, lines: list[str]) -> int:
        """Append ``lines`` after the ``committed`` bytes of the trail; return its new size."""
        payload = "".join(line + "\n" for line in lines).encode()
        target = self.path.parent / name
        fd = os.open(target, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, committed)  # drop lines a crashed writer left behind
            os.lseek(fd, committed, os.SEEK_SET)
            view = memoryview(payload)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return committed + len(payload)

    def _commit(self, texts: dict[str, str], hist_file: str | None, length: int, size: int) -> None:
        """Write the whole state to a temporary file, fsync it, rename it into place."""
        body = ",".join(f'"{k}":{texts[k]}' for k in sorted(texts))
        hist = encode_value({"bytes": size, "file": hist_file, "length": length})
        text = f'{{"data":{{{body}}},"format":"{FORMAT}","history":{hist},"version":{VERSION}}}'
        folder = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=folder)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(text.encode())
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_folder(folder)
        st = self.path.stat()
        self._seen = (st.st_ino, st.st_mtime_ns, st.st_size)

    def _close(self) -> None:
        self._reset()


def _fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
