"""The keyed audit chain, entry by entry (tampering with a real store: test_audit_tamper)."""

from __future__ import annotations

import dataclasses

from context_lib.service import KeyRing
from context_lib.service.audit import GENESIS, AuditEntry, make_draft, open_payload, verify_chain
from tests.context_lib.service.conftest import MASTER

KEYS = KeyRing(MASTER).audit_keys("t1")


def chain(n: int, name: str = "t1") -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for i in range(1, n + 1):
        draft = make_draft(KEYS, name, 1000.0 + i, "key1", "write", 200, {"key": f"user.{i}"})
        entry = draft.seal(i, prev)
        entries.append(entry)
        prev = entry.hash
    return entries


def head(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def test_an_intact_chain_verifies_and_its_payloads_decrypt() -> None:
    entries = chain(5)
    report = verify_chain("t1", entries, head(entries), KEYS)
    assert report.ok and report.entries == 5 and report.chains == 1
    assert open_payload(KEYS, entries[2]) == {"key": "user.3"}
    assert b"user.3" not in (entries[2].sealed or b"")  # encrypted at rest


def test_a_changed_entry_is_detected() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], status=403)
    report = verify_chain("t1", entries, head(entries), KEYS)
    assert report.problems == ["chain 't1' entry 3 was changed after it was written"]


def test_a_hash_recomputed_without_the_key_does_not_verify() -> None:
    other = KeyRing(bytes(32)).audit_keys("t1")  # an attacker's guess of the key
    entries = chain(3)
    forged = dataclasses.replace(entries[1], status=403)
    entries[1] = dataclasses.replace(forged, hash=forged.compute_hash(other.mac))
    problems = verify_chain("t1", entries, head(entries), KEYS).problems
    assert "chain 't1' entry 2 was changed after it was written" in problems


def test_a_swapped_payload_is_detected() -> None:
    entries = chain(3)
    entries[1] = dataclasses.replace(entries[1], sealed=entries[0].sealed)
    report = verify_chain("t1", entries, head(entries), KEYS)
    assert report.problems == ["chain 't1' entry 2 has a payload that was changed or forged"]


def test_a_removed_entry_is_detected() -> None:
    entries = chain(5)
    del entries[2]
    problems = verify_chain("t1", entries, head(entries), KEYS).problems
    assert any("expected entry 3 (missing)" in p for p in problems)
    assert any("entry 4 does not follow" in p for p in problems)


def test_reordered_entries_are_detected() -> None:
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    problems = verify_chain("t1", entries, head(entries), KEYS).problems
    assert any("out of order" in p or "missing" in p for p in problems)


def test_a_cut_tail_is_detected_against_the_head_and_the_witness() -> None:
    entries = chain(5)
    recorded = head(entries)
    problems = verify_chain("t1", entries[:-1], recorded, KEYS).problems
    assert problems and "removed from the end" in problems[0]
    moved_back = head(entries[:-1])
    problems = verify_chain("t1", entries[:-1], moved_back, KEYS, witnessed=recorded).problems
    assert problems == [
        "chain 't1' ends at entry 4 but the witness saw entry 5 (entries were removed from the end)"
    ]


def test_erasure_marks_keep_the_chain_valid_but_deletion_does_not() -> None:
    erased = [
        dataclasses.replace(e, sealed=None, erased=KEYS.erasure_mark(e.chain, e.seq, e.digest))
        for e in chain(4)
    ]
    report = verify_chain("t1", erased, head(erased), KEYS)
    assert report.ok and report.erased_payloads == 4
    deleted = [dataclasses.replace(e, sealed=None) for e in chain(2)]
    problems = verify_chain("t1", deleted, head(deleted), KEYS).problems
    assert problems == [
        "chain 't1' entry 1 lost its payload (deleted, not erased)",
        "chain 't1' entry 2 lost its payload (deleted, not erased)",
    ]


def test_entries_render_their_decrypted_payload() -> None:
    entry = chain(1)[0]
    data = entry.as_dict(open_payload(KEYS, entry))
    assert data["payload"] == {"key": "user.1"} and data["hash"] == entry.hash
