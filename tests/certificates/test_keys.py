"""Issuer keys: created under XDG_CONFIG_HOME with mode 0600, never overwritten, rotated."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from certificates import KeyFormatError, KeyStore, KeyStoreError, PinnedIssuer, default_key_dir


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
    assert keyring.current("EdDSA").kid.startswith("did:key:z6Mk")
    assert keyring.current("ES256").kid.startswith("did:key:zDn")
    assert [k.kid for k in store.load().keys] == [k.kid for k in keyring.keys]
    assert not list(store.directory.glob(".*tmp"))  # atomic write left nothing behind


def test_init_refuses_to_overwrite_existing_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    first = store.init()
    before = store.path.read_bytes()
    with pytest.raises(KeyStoreError, match="refusing to overwrite"):
        store.init()
    assert store.path.read_bytes() == before
    assert [k.kid for k in store.load_or_create().keys] == [k.kid for k in first.keys]


def test_rotate_retires_the_current_keys_and_keeps_them_listed(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys")
    old = store.init()
    new = store.rotate()
    assert len(new.keys) == 4
    retired = {key.kid for key in new.keys if key.status == "retired"}
    assert retired == {key.kid for key in old.keys}
    assert all(key.retired for key in new.keys if key.status == "retired")
    assert new.current("EdDSA").kid not in retired
    issuer = new.public_issuer("https://x.example/issuer", "X")
    assert {m["status"] for m in issuer["verificationMethod"]} == {"current", "retired"}
    assert len(issuer["jwks"]["keys"]) == 4


def test_the_public_issuer_file_holds_no_private_key(tmp_path: Path) -> None:
    keyring = KeyStore(tmp_path / "keys").init()
    text = json.dumps(keyring.public_issuer("https://x.example/issuer", "X"))
    assert "PRIVATE" not in text and '"d"' not in text
    pinned = PinnedIssuer.from_document(json.loads(text))
    assert set(pinned.keys) == {key.kid for key in keyring.keys}


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


def test_an_issuer_file_whose_jwk_and_did_key_disagree_is_refused(tmp_path: Path) -> None:
    one = KeyStore(tmp_path / "a").init().public_issuer("https://x.example/issuer", "X")
    two = KeyStore(tmp_path / "b").init().public_issuer("https://x.example/issuer", "X")
    forged = json.loads(json.dumps(one))
    forged["jwks"]["keys"][1]["x"] = two["jwks"]["keys"][1]["x"]
    with pytest.raises(KeyFormatError, match="differ"):
        PinnedIssuer.from_document(forged)
    with pytest.raises(KeyFormatError, match="not a context-course-issuer"):
        PinnedIssuer.from_document({"profile": {}})
