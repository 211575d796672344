"""Two last locks inside the sandbox: no new user namespaces, and the loopback down.

* :func:`deny_user_namespaces` installs a seccomp filter (raw BPF through ``prctl``; no
  library needed) in the learner's process before any learner code runs: ``unshare``
  and ``clone`` with ``CLONE_NEWUSER`` fail with ``EPERM`` and ``clone3`` with
  ``ENOSYS`` (so C libraries fall back to ``clone``, which the filter can read). A new
  user namespace is how unprivileged code reaches kernel surfaces otherwise closed to
  it. Filters are inherited and cannot be removed. bubblewrap's ``--disable-userns``
  needs a user namespace of its own, which the root-run sandbox (distinct real uids per
  notebook) does not have; this works in both.
* :func:`loopback_down` takes ``lo`` down in the sandbox's own network namespace
  (bubblewrap brings it up), so nothing can listen for or reach another process over
  127.0.0.1 inside the sandbox either. Only ever called inside that namespace.

Runs in the sandboxed child (``grader/child`` after the restructure).
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import platform
import socket
import struct

__all__ = ["deny_user_namespaces", "loopback_down"]

CLONE_NEWUSER = 0x10000000
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2
_SECCOMP_RET_ALLOW = 0x7FFF0000
_SECCOMP_RET_ERRNO = 0x00050000

# BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JSET_K = 0x45
_RET_K = 0x06

# (audit arch, unshare, clone, clone3) per machine
_SYSCALLS = {
    "x86_64": (0xC000003E, 272, 56, 435),
    "aarch64": (0xC00000B7, 97, 220, 435),
}

_OFFSET_NR = 0
_OFFSET_ARCH = 4
_OFFSET_ARG0 = 16  # low 32 bits of args[0] on little-endian machines


class _SockFilter(ctypes.Structure):
    _fields_ = [
        ("code", ctypes.c_ushort),
        ("jt", ctypes.c_ubyte),
        ("jf", ctypes.c_ubyte),
        ("k", ctypes.c_uint),
    ]


class _SockFprog(ctypes.Structure):
    _fields_ = [
        ("len", ctypes.c_ushort),
        ("filter", ctypes.POINTER(_SockFilter)),
    ]


def _program(arch: int, unshare: int, clone: int, clone3: int) -> list[tuple[int, int, int, int]]:
    allow = (_RET_K, 0, 0, _SECCOMP_RET_ALLOW)
    return [
        (_LD_W_ABS, 0, 0, _OFFSET_ARCH),  # 0
        (_JEQ_K, 1, 0, arch),  # 1: our arch → 3
        allow,  # 2
        (_LD_W_ABS, 0, 0, _OFFSET_NR),  # 3
        (_JEQ_K, 0, 1, clone3),  # 4: clone3 → 5, else 6
        (_RET_K, 0, 0, _SECCOMP_RET_ERRNO | errno.ENOSYS),  # 5
        (_JEQ_K, 2, 0, unshare),  # 6: unshare → 9
        (_JEQ_K, 1, 0, clone),  # 7: clone → 9
        allow,  # 8
        (_LD_W_ABS, 0, 0, _OFFSET_ARG0),  # 9
        (_JSET_K, 0, 1, CLONE_NEWUSER),  # 10: flag set → 11, else 12
        (_RET_K, 0, 0, _SECCOMP_RET_ERRNO | errno.EPERM),  # 11
        allow,  # 12
    ]


def deny_user_namespaces() -> bool:
    """Install the filter in this process (and its future children); whether it took."""
    numbers = _SYSCALLS.get(platform.machine())
    if numbers is None:
        return False
    instructions = _program(*numbers)
    array = (_SockFilter * len(instructions))(*(_SockFilter(*i) for i in instructions))
    program = _SockFprog(len(instructions), array)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    return bool(libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(program), 0, 0) == 0)


_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1
_IFREQ = struct.Struct("16sH22x")


def loopback_down() -> bool:
    """Take ``lo`` down in this network namespace; whether it is down now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            reply = fcntl.ioctl(sock, _SIOCGIFFLAGS, _IFREQ.pack(b"lo", 0))
            flags = _IFREQ.unpack(reply)[1]
            if flags & _IFF_UP:
                fcntl.ioctl(sock, _SIOCSIFFLAGS, _IFREQ.pack(b"lo", flags & ~_IFF_UP))
        except OSError:
            return False
    return True
