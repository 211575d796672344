"""The tenant export: one JSON document, produced in chunks, with every change.

The document is written piece by piece (values of one context, one page of its
history, a batch of audit entries at a time), so an export of any size holds only one
page in memory on the server and starts reaching the client at once; the HTTP layer
streams the chunks from a worker thread, never blocking the event loop. History is
read page by page with the ``after`` cursor of
:meth:`~context_lib.service.core.ContextService.history_page`: nothing is cut.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from context_lib.service.audit import AuditEntry, ChainKeys, open_payload, verify_chain

if TYPE_CHECKING:
    from context_lib.service.core import ContextService, Principal

__all__ = ["FORMAT", "VERSION", "audit_trail", "entry_dict", "export_chunks"]

FORMAT = "context-service-export"
VERSION = 2
_AUDIT_BATCH = 500


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":")).encode()


def entry_dict(keys: ChainKeys, entry: AuditEntry) -> dict[str, Any]:
    """An audit entry as JSON, its payload decrypted (``None`` if erased or unreadable)."""
    try:
        payload = open_payload(keys, entry)
    except ValueError:  # verification reports it; the export still shows the entry
        payload = None
    return entry.as_dict(payload)


def export_chunks(service: ContextService, p: Principal) -> Iterator[bytes]:
    """The export document of ``p``'s tenant, in chunks of bytes."""
    tenant = service.tenant(p.tenant_id)
    head = {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": service.clock(),
        "tenant": {**service.info(p), "erased": tenant.erased},
        "api_keys": service.api_keys(p),
    }
    yield _json(head)[:-1] + b',"contexts":{'
    for i, name in enumerate(service.contexts(p)):
        values = service.get_context(p, name)
        yield (b"," if i else b"") + _json(name) + b':{"values":' + _json(values)
        yield b',"history":['
        after: int | None = 0
        first = True
        while after is not None:
            changes, more = service.history_page(p, name, after=after)
            for change in changes:
                yield (b"" if first else b",") + _json(change)
                first = False
            after = changes[-1]["seq"] if more else None
        yield b"]}"
    entries, chain_head = service.backend.read_audit(p.tenant_id)
    keys = service.keyring.audit_keys(p.tenant_id)
    yield b'},"audit":['
    for start in range(0, len(entries), _AUDIT_BATCH):
        batch = entries[start : start + _AUDIT_BATCH]
        body = b",".join(_json(entry_dict(keys, e)) for e in batch)
        yield (b"," if start else b"") + body
    yield b'],"audit_head":' + _json(list(chain_head) if chain_head else None) + b"}"


def audit_trail(service: ContextService, p: Principal) -> dict[str, Any]:
    """The tenant's audit entries (payloads decrypted) and whether its chain verifies,
    against the witness too."""
    entries, head = service.backend.read_audit(p.tenant_id)
    keys = service.keyring.audit_keys(p.tenant_id)
    seen = service.witness.read().heads.get(p.tenant_id) if service.witness else None
    report = verify_chain(p.tenant_id, entries, head, keys, seen)
    return {
        "entries": [entry_dict(keys, e) for e in entries],
        "verified": report.ok,
        "problems": report.problems,
    }
