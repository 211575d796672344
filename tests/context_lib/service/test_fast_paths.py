"""The write path's fast paths give exactly what the paths they short-cut give.

orjson parses request bodies, writes answers, stored values and the canonical bytes
under every audit MAC when it can; an API key that matched once skips its HMAC; the
worker pool hands jobs over through a ``SimpleQueue``. Each is checked here against
the slow path it replaces, so a difference (a changed MAC, a body accepted that was
refused) fails a test rather than a verification months later.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import os
import threading
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from context_lib.service import BadRequestError, ContextService, KeyRing
from context_lib.service.app import Json
from context_lib.service.audit import (
    _CANONICAL,
    GENESIS,
    VERSION,
    _entry_hash,
    canonical,
    make_draft,
    open_payload,
)
from context_lib.service.validation import _parse_exact, encode_value, parse_body
from context_lib.service.workers import Workers
from tests.context_lib.service.conftest import MASTER, add_tenant

# Text as the service can store it (no lone surrogates), control characters included.
TEXT = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
INTS = st.integers(min_value=-(2**70), max_value=2**70)
PLAIN = st.recursive(
    st.none() | st.booleans() | INTS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)
SAFE_FLOATS = st.floats(allow_nan=False, allow_infinity=False)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | SAFE_FLOATS | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400, deadline=None)
@given(PLAIN)
def test_canonical_bytes_are_the_standard_librarys(value: Any) -> None:
    """Every audit MAC covers these bytes: the orjson path must not change one."""
    assert canonical(value) == _CANONICAL.encode(value).encode()


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(TEXT, SAFE_FLOATS | INTS | TEXT, max_size=4))
def test_canonical_with_floats_keeps_the_standard_librarys_spelling(value: Any) -> None:
    assert canonical(value) == _CANONICAL.encode(value).encode()


def test_canonical_of_a_lone_surrogate_still_fails() -> None:
    with pytest.raises(UnicodeEncodeError):
        canonical(["\ud800"])


@settings(max_examples=400, deadline=None)
@given(JSONISH)
def test_fast_and_exact_parse_agree(value: Any) -> None:
    raw = json.dumps({"value": value}, ensure_ascii=False).encode()
    assert parse_body(raw) == _parse_exact(raw)
    raw_ascii = json.dumps({"value": value}).encode()  # \\u escapes, pairs included
    assert parse_body(raw_ascii) == _parse_exact(raw_ascii)


@pytest.mark.parametrize(
    "raw",
    [
        b'{"value": NaN}',
        b'{"value": -Infinity}',
        b'{"value": 1e309}',
        b'{"value": 9007199254740992}',
        b'{"value": "\\ud800"}',
        b'{"value": "\xed\xa0\x80"}',
        b'{"value": 1} trailing',
        b"\xef\xbb\xbf{}",
        b'{"value": "\x01"}',
        b"[" * 100_000,
    ],
)
def test_bodies_refused_before_are_still_refused(raw: bytes) -> None:
    with pytest.raises(BadRequestError) as caught:
        parse_body(raw)
    assert caught.value.code == "invalid_json"


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_stored_values_read_back_as_written(value: Any) -> None:
    assert json.loads(encode_value(value)) == value


def test_values_orjson_cannot_write_take_the_standard_path() -> None:
    assert json.loads(encode_value([2**80])) == [2**80]
    with pytest.raises(BadRequestError) as caught:
        encode_value({"a": "\udc00"})
    assert caught.value.code == "invalid_value"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ({"changed": ["a.b"]}, b'{"changed":["a.b"]}'),
        ({"value": "é€😀"}, b'{"value":"\\u00e9\\u20ac\\ud83d\\ude00"}'),  # answers stay ASCII
        ({"value": None}, b'{"value":null}'),
        ({"value": 2**70}, b'{"value":1180591620717411303424}'),
    ],
)
def test_answers_are_ascii_json(content: Any, expected: bytes) -> None:
    assert Json(content).body == expected


def test_answers_never_hold_nan() -> None:
    with pytest.raises(ValueError):
        Json({"value": float("nan")})


def test_a_remembered_api_key_does_not_open_the_door_to_another() -> None:
    ring = KeyRing(MASTER)
    _, key = ring.new_api_key()
    stored = ring.digest(key)
    assert ring.matches(key, stored) and ring.matches(key, stored)  # second: remembered
    assert not ring.matches(key[:-1] + ("A" if key[-1] != "A" else "B"), stored)
    assert not ring.matches(key, ring.digest(key + "x"))  # a stored digest that changed
    _, other = ring.new_api_key()
    assert not ring.matches(other, stored)


def test_a_revoked_key_is_refused_after_it_was_remembered(service: ContextService) -> None:
    from context_lib.service import AuthenticationError

    t = add_tenant(service, "Remembered")
    principal = service.authorize(t.write, "write", "set")
    service.authorize(t.write, "write", "set")
    service.revoke_key(t.id, principal.key_id)
    with pytest.raises(AuthenticationError):
        service.authorize(t.write, "write", "set")


def test_close_runs_what_was_queued_and_refuses_what_comes_after() -> None:
    pool = Workers("test", threads=2, batch=3)
    release = threading.Event()
    ran: list[int] = []

    async def main() -> tuple[list[int], BaseException | None]:
        first = asyncio.ensure_future(pool.run(release.wait))

        def job(i: int) -> int:
            ran.append(i)
            return i

        jobs = [pool.run(lambda i=i: job(i)) for i in range(10)]  # type: ignore[misc]
        gathered = asyncio.gather(*jobs)
        await asyncio.sleep(0)  # one turn: the jobs are handed over
        await asyncio.sleep(0)
        closing = asyncio.get_running_loop().run_in_executor(None, pool.close)
        release.set()
        results = await gathered
        await first
        await closing
        try:
            await pool.run(lambda: 0)
        except RuntimeError as exc:
            return results, exc
        return results, None

    results, refused = asyncio.run(main())
    assert results == list(range(10)) and sorted(ran) == list(range(10))
    assert isinstance(refused, RuntimeError)


def test_nonces_never_repeat_across_threads_or_a_fork() -> None:
    from context_lib.service.nonces import nonce

    seen = [nonce(12) for _ in range(1000)]  # crosses a 4 KiB refill
    others: list[bytes] = []
    thread = threading.Thread(target=lambda: others.extend(nonce(12) for _ in range(50)))
    thread.start()
    thread.join()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports the nonces it would use next
        os.write(write, b"".join(nonce(12) for _ in range(50)))
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    child = [data[i : i + 12] for i in range(0, len(data), 12)]
    parent = [nonce(12) for _ in range(50)]  # what the parent hands out after the fork
    everything = seen + others + child + parent
    assert len(child) == 50 and all(len(n) == 12 for n in everything)
    assert len(set(everything)) == len(everything)


def test_a_pool_holds_its_wake_up_pipe_only_while_it_runs() -> None:
    def open_fds() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_fds()
    unused = Workers("never-used", threads=3)
    assert open_fds() == before  # an app that is never served costs no descriptors
    unused.close()
    used = Workers("used", threads=3)
    assert asyncio.run(used.run(lambda: 7)) == 7
    assert open_fds() == before + 2
    used.close()
    assert open_fds() == before


# Lone surrogates too (text() leaves them out): both paths must refuse them alike.
ENTRY_TEXT = st.lists(st.characters() | st.sampled_from(["\ud800", "\udfff"]), max_size=8).map(
    "".join
)
ENTRY_INT = st.integers(min_value=-(2**70), max_value=2**70)


@settings(max_examples=400, deadline=None)
@given(
    ENTRY_TEXT,
    ENTRY_INT,
    st.floats(allow_nan=False, allow_infinity=False),
    ENTRY_TEXT,
    ENTRY_TEXT,
    ENTRY_INT,
    ENTRY_TEXT,
    ENTRY_TEXT,
)
def test_entry_hash_fast_path_is_the_mac_over_canonical_bytes(
    chain: str,
    seq: int,
    ts: float,
    actor: str,
    action: str,
    status: int,
    digest: str,
    prev: str,
) -> None:
    """Every audit entry's hash skips canonical()'s walk; the MAC must not change."""
    key = b"k" * 32
    fields = [VERSION, chain, seq, repr(float(ts)), actor, action, status, digest, prev]
    try:
        slow: str | type[Exception] = hmac.digest(
            key, _CANONICAL.encode(fields).encode(), "sha256"
        ).hex()
    except UnicodeEncodeError:
        slow = UnicodeEncodeError
    try:
        fast: str | type[Exception] = _entry_hash(
            key, chain, seq, ts, actor, action, status, digest, prev
        )
    except UnicodeEncodeError:
        fast = UnicodeEncodeError
    assert fast == slow


def test_entry_hash_of_unexpected_types_takes_the_exact_path() -> None:
    """A float where an int belongs (a bug elsewhere) still gets canonical()'s bytes."""
    key = b"k" * 32
    fields = [VERSION, "c", 1.0, repr(1.5), "a", "write", 200.0, "d", "p"]
    expected = hmac.digest(key, _CANONICAL.encode(fields).encode(), "sha256").hex()
    assert _entry_hash(key, "c", 1.0, 1.5, "a", "write", 200.0, "d", "p") == expected  # type: ignore[arg-type]


# A write's audit payload (str and lists of str) and what else a payload may hold.
PAYLOADS = st.dictionaries(
    TEXT,
    TEXT | st.lists(TEXT, max_size=3) | JSONISH | ENTRY_TEXT,  # lone surrogates too
    max_size=4,
)


@settings(max_examples=300, deadline=None)
@given(PAYLOADS)
@example({"who": "k_1", "keys": ["b", "a"], "context": "app"})
def test_a_drafts_sealed_payload_and_digest_are_the_standard_librarys(
    payload: dict[str, Any],
) -> None:
    """A draft's sealed bytes and digest go through orjson when it writes the same bytes;
    they must be the standard library's canonical JSON and its MAC."""
    keys = KeyRing(MASTER).audit_keys("t_chain")
    try:
        draft = make_draft(keys, "t_chain", 1.0, "actor", "write", 200, payload)
    except UnicodeEncodeError:  # a lone surrogate: refused on every path
        with pytest.raises(UnicodeEncodeError):
            _CANONICAL.encode(payload).encode()
        return
    assert draft.sealed is not None
    plain = keys.cipher.decrypt(draft.sealed[:12], draft.sealed[12:], b"t_chain")
    salt = json.loads(plain)["salt"]
    assert plain == _CANONICAL.encode({"salt": salt, "payload": payload}).encode()
    signed = _CANONICAL.encode(["payload", salt, payload]).encode()
    assert draft.digest == hmac.digest(keys.mac, signed, "sha256").hex()
    assert open_payload(keys, draft.seal(1, GENESIS)) == payload
