"""Issuer keys: created under XDG_CONFIG_HOME with mode 0600, never overwritten, rotated;
the DID document lists them all and refuses keys that are not the issuer's own."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from certificates import KeyFormatError, KeyStore, KeyStoreError, PinnedIssuer, default_key_dir
from certificates.issuer import did_document
from certificates.multikey import did_key_url


def test_the_default_key_folder_follows_xdg_config_home(tmp_path: Path) -> None:
    assert default_key_dir() == tmp_path / "xdg" / "context-course" / "issuer"
    assert default_key_dir("keys", tmp_path / "course") == tmp_path / "course" / "keys"
    assert default_key_dir("/abs/keys", tmp_path) == Path("/abs/keys")


def test_init_creates_private_files_readable_only_by_the_owner(tmp_path: Path) -> None:
    store = KeyStore(default_key_dir())
    keyring = store.init()
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.directory.stat().st_mode) == 0o700
    assert {key.algorithm for key in keyring.keys} == {"EdDSA", "ES256"}
    assert keyring.current("EdDSA").key_id.startswith("z6Mk")
    assert keyring.current("ES256").key_id.startswith("zDn")
    assert [k.key_id for k in store.load().keys] == [k.key_id for k in keyring.keys]
    assert not list(store.directory.glob(".*tmp"))  # atomic write left nothing behind


def test_init_refuses_to_overwrite_existing_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.init()
    before = store.path.read_bytes()
    with pytest.raises(KeyStoreError, match="refusing to overwrite"):
        store.init()
    assert store.path.read_bytes() == before
    assert [k.key_id for k in store.load_or_create().keys] == [k.key_id for k in first.keys]


def test_rotate_retires_the_current_keys_and_keeps_them_listed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.init()
    new = store.rotate()
    assert len(new.keys) == 4
    retired = {key.key_id for key in new.keys if key.status == "retired"}
    assert retired == {key.key_id for key in old.keys}
    assert all(key.retired for key in new.keys if key.status == "retired")
    assert new.current("EdDSA").key_id not in retired
    document = did_document("did:web:x.example:issuer", new.keys)
    expires = {m["id"]: m.get("expires") for m in document["verificationMethod"]}
    assert len(expires) == 4 and sum(value is not None for value in expires.values()) == 2
    pinned = PinnedIssuer.from_did_document(document)
    assert {key.method_id.split("#")[1] for key in pinned.keys.values() if key.retired} == retired


def test_records_that_name_keys_by_did_key_still_load(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    keyring = store.init()
    data = json.loads(store.path.read_text())
    for record, key in zip(data["keys"], keyring.keys, strict=True):
        record["kid"] = did_key_url(key.public_key)  # the format before did:web issuers
    store.path.write_text(json.dumps(data))
    assert [k.key_id for k in store.load().keys] == [k.key_id for k in keyring.keys]


def test_the_did_document_holds_no_private_key(tmp_path: Path) -> None:
    keyring = KeyStore(tmp_path / "keys").init()
    text = json.dumps(did_document("did:web:x.example:issuer", keyring.keys))
    assert "PRIVATE" not in text and '"d"' not in text and "secretKey" not in text
    pinned = PinnedIssuer.from_did_document(json.loads(text))
    assert set(pinned.keys) == {key.method_id("did:web:x.example:issuer") for key in keyring.keys}


def test_a_keyring_readable_by_others_is_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    store.init()
    os.chmod(store.path, 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        store.load()


def test_missing_and_corrupt_keyrings_give_clear_errors(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    with pytest.raises(KeyStoreError, match="keys init"):
        store.load()
    store.directory.mkdir()
    store.path.write_text("{not json")
    os.chmod(store.path, 0o600)
    with pytest.raises(KeyStoreError, match="cannot read"):
        store.load()


def test_did_documents_that_are_not_the_issuers_own_are_refused(tmp_path: Path) -> None:
    did = "did:web:x.example:issuer"
    good = did_document(did, KeyStore(tmp_path / "a").init().keys)
    cases = []
    foreign = json.loads(json.dumps(good))
    foreign["verificationMethod"][0]["controller"] = "did:web:evil.example"
    cases.append((foreign, "not controlled by"))
    contexts = json.loads(json.dumps(good))
    contexts["@context"].append("https://evil.example/context")
    cases.append((contexts, "exactly the DID v1 and Multikey v1"))
    kind = json.loads(json.dumps(good))
    kind["verificationMethod"][0]["type"] = "JsonWebKey2020"
    cases.append((kind, "not a Multikey"))
    cases.append(({"id": "did:key:z6Mk"}, "not a did:web"))
    for document, message in cases:
        with pytest.raises(KeyFormatError, match=message):
            PinnedIssuer.from_did_document(document)
    unasserted = json.loads(json.dumps(good))
    unasserted["assertionMethod"] = unasserted["assertionMethod"][:1]
    assert len(PinnedIssuer.from_did_document(unasserted).keys) == 1
