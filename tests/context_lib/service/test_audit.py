from __future__ import annotations

import dataclasses

from context_lib.service.audit import GENESIS, AuditDraft, AuditEntry, verify_chain


def chain(n: int, name: str = "t1") -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for i in range(1, n + 1):
        entry = AuditDraft(name, 1000.0 + i, "key1", "write", 200, {"key": f"user.{i}"}).seal(
            i, prev
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def head(entries: list[AuditEntry]) -> tuple[int, str]:
    return entries[-1].seq, entries[-1].hash


def test_an_intact_chain_verifies() -> None:
    entries = chain(5)
    report = verify_chain("t1", entries, head(entries))
    assert report.ok and report.entries == 5 and report.chains == 1


def test_a_changed_entry_is_detected() -> None:
    entries = chain(5)
    entries[2] = dataclasses.replace(entries[2], status=403)
    report = verify_chain("t1", entries, head(entries))
    assert report.problems == ["chain 't1' entry 3 was changed after it was written"]


def test_a_changed_payload_is_detected() -> None:
    entries = chain(3)
    entries[1] = dataclasses.replace(entries[1], payload={"key": "someone.else"})
    report = verify_chain("t1", entries, head(entries))
    assert report.problems == ["chain 't1' entry 2 has a payload that was changed"]


def test_a_removed_entry_is_detected() -> None:
    entries = chain(5)
    del entries[2]
    problems = verify_chain("t1", entries, head(entries)).problems
    assert any("expected entry 3 (missing)" in p for p in problems)
    assert any("entry 4 does not follow" in p for p in problems)


def test_reordered_entries_are_detected() -> None:
    entries = chain(5)
    entries[1], entries[2] = entries[2], entries[1]
    problems = verify_chain("t1", entries, head(entries)).problems
    assert any("out of order" in p or "missing" in p for p in problems)


def test_a_cut_tail_is_detected_against_the_head() -> None:
    entries = chain(5)
    recorded = head(entries)
    problems = verify_chain("t1", entries[:-1], recorded).problems
    assert problems and "removed from the end" in problems[0]


def test_erasing_payloads_keeps_the_chain_valid() -> None:
    entries = [dataclasses.replace(e, payload=None, salt=None) for e in chain(4)]
    report = verify_chain("t1", entries, head(entries))
    assert report.ok and report.erased_payloads == 4


def test_entries_round_trip_through_dicts() -> None:
    entry = chain(1)[0]
    again = AuditEntry.from_dict(entry.as_dict())
    assert again == entry and again.payload == entry.payload and again.salt == entry.salt
