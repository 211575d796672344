"""Opening learners' files safely: regular files only, and zip archives checked before
:mod:`zipfile` reads their member list (a bounded parse of the end record)."""

from __future__ import annotations

import errno
import os
import stat
import struct
from pathlib import Path
from typing import BinaryIO

from grader.core.errors import IntakeError
from grader.pipeline.manifest import IntakeLimits

__all__ = ["check_central_directory", "open_regular"]

_EOCD = struct.Struct("<4s4H2LH")  # zip's end-of-central-directory record
_EOCD_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = b"PK\x06\x07"
_MAX_DIRECTORY_ENTRY = 1024  # bytes per central directory entry: 46 + name + extras


def open_regular(path: Path) -> BinaryIO:
    """``path`` opened for reading if it is a regular file (never a link, FIFO or device).

    ``O_NONBLOCK`` keeps a FIFO from blocking the batch; the type is checked on the open
    file, so swapping the file after a check changes nothing.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise IntakeError(f"{path.name} is a symbolic link") from None
        raise IntakeError(f"cannot open {path.name}: {exc.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise IntakeError(f"{path.name} is not a regular file")
    return os.fdopen(fd, "rb")


def check_central_directory(handle: BinaryIO, limits: IntakeLimits) -> None:
    """Refuse an archive whose member list is too long *before* :mod:`zipfile` parses it.

    :class:`zipfile.ZipFile` reads the whole central directory into memory on opening:
    a 200 MiB archive of empty entries is millions of objects. Only the end record (the
    last 22 bytes plus any comment) is read here.
    """
    size = handle.seek(0, os.SEEK_END)
    start = max(0, size - (_EOCD.size + 0xFFFF))
    handle.seek(start)
    tail = handle.read()
    at = tail.rfind(_EOCD_SIGNATURE)
    if at < 0 or len(tail) - at < _EOCD.size:
        raise IntakeError("not a valid zip archive (no end-of-archive record; truncated?)")
    *_, entries, directory_size, _offset, _comment = _EOCD.unpack_from(tail, at)
    if start + at >= 20:
        handle.seek(start + at - 20)
        if handle.read(4) == _ZIP64_LOCATOR:
            raise IntakeError(
                "archive uses ZIP64 (over 4 GiB or 65,535 entries); no submission does"
            )
    if entries > limits.max_archive_members or directory_size > (
        limits.max_archive_members * _MAX_DIRECTORY_ENTRY
    ):
        raise IntakeError(
            f"archive lists {entries} entries in {directory_size} bytes, over the limit of "
            f"{limits.max_archive_members} entries"
        )
    handle.seek(0)
