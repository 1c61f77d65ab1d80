"""Keystore round trips; the key never shows up in errors, reprs or the file in clear."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from marketplace.wallet import (
    MIN_SCRYPT_N,
    WalletError,
    create_keystore,
    import_keystore,
    keystore_info,
    keystore_path,
    unlock,
)
from tests.marketplace.helpers import SDK_ADDRESS, SDK_KEY

FAST_N = MIN_SCRYPT_N  # the cheapest the product accepts; its default is 2^18


def test_create_unlock_round_trip(tmp_path: Path) -> None:
    wallet_dir = tmp_path / "wallet"
    address = create_keystore(wallet_dir, "correct horse", scrypt_n=FAST_N)
    info = keystore_info(wallet_dir)
    assert info.address == address and info.kdf == "scrypt" and info.scrypt_n == FAST_N
    assert stat.S_IMODE(keystore_path(wallet_dir).stat().st_mode) == 0o600
    assert unlock(wallet_dir, "correct horse").address == address


def test_import_keeps_the_address_and_hides_the_key(tmp_path: Path) -> None:
    wallet_dir = tmp_path / "wallet"
    assert (
        import_keystore(wallet_dir, "0x" + SDK_KEY, "passphrase!", scrypt_n=FAST_N) == SDK_ADDRESS
    )
    raw = keystore_path(wallet_dir).read_text()
    assert SDK_KEY not in raw and json.loads(raw)["crypto"]["kdf"] == "scrypt"
    wallet = unlock(wallet_dir, "passphrase!")
    assert SDK_KEY not in repr(wallet) and SDK_KEY not in str(wallet)
    with pytest.raises(TypeError):
        __import__("pickle").dumps(wallet)


def test_wrong_passphrase_and_overwrite_are_refused(tmp_path: Path) -> None:
    wallet_dir = tmp_path / "wallet"
    import_keystore(wallet_dir, SDK_KEY, "passphrase!", scrypt_n=FAST_N)
    with pytest.raises(WalletError, match="wrong passphrase") as caught:
        unlock(wallet_dir, "not it at all")
    assert SDK_KEY not in str(caught.value)
    with pytest.raises(WalletError, match="refusing to overwrite"):
        create_keystore(wallet_dir, "passphrase!", scrypt_n=FAST_N)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (SDK_KEY[:-2], "must be 32 bytes"),
        ("zz" + SDK_KEY[2:], "not hexadecimal"),
        ("00" * 32, "outside the secp256k1 range"),
    ],
)
def test_bad_keys_are_named_but_not_echoed(tmp_path: Path, key: str, message: str) -> None:
    with pytest.raises(WalletError, match=message) as caught:
        import_keystore(tmp_path / "w", key, "passphrase!", scrypt_n=FAST_N)
    assert key not in str(caught.value)


def test_missing_or_foreign_keystore_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="bot wallet create"):
        keystore_info(tmp_path / "nowhere")
    (tmp_path / "w").mkdir()
    keystore_path(tmp_path / "w").write_text("{}")
    with pytest.raises(WalletError, match="keystore is malformed: version: missing"):
        unlock(tmp_path / "w", "passphrase!")


def test_short_passphrase_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="at least 8"):
        create_keystore(tmp_path / "w", "short", scrypt_n=FAST_N)
