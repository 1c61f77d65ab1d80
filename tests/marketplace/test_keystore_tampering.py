"""A weak or tampered keystore is refused with one line, never a TypeError or a traceback."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
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

PASSPHRASE = "tamper test passphrase"
OTHER_ADDRESS = "0x" + "12" * 20


def _wallet(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["wallet", *args], catch_exceptions=False)


@pytest.mark.parametrize("n", ["1", "0", "3", "-1", "1024", str(2**14 - 1), str(2**21), "24576"])
def test_weak_or_odd_scrypt_work_factor_is_refused(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, n: str
) -> None:
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    for command in (["create"], ["import"]):
        result = CliRunner().invoke(
            app, ["wallet", *command, "--scrypt-n", n], input=SDK_KEY + "\n"
        )
        assert result.exit_code == 2, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        words = " ".join(result.output.replace("│", " ").split())  # the usage-error box wraps
        assert "must be a power of two from 16384 (2^14)" in words, result.output
        assert f"got {n}" in words and "Traceback" not in result.output
    assert not keystore_path(data_dir / "wallet").exists()


def test_weak_scrypt_work_factor_is_refused_by_the_library(tmp_path: Path) -> None:
    with pytest.raises(WalletError, match="brute-forced"):
        create_keystore(tmp_path / "w", PASSPHRASE, scrypt_n=2)
    assert not (tmp_path / "w").exists()


def test_minimum_scrypt_work_factor_is_accepted(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    assert _wallet("create", "--scrypt-n", str(MIN_SCRYPT_N)).exit_code == 0
    assert keystore_info(data_dir / "wallet").scrypt_n == MIN_SCRYPT_N


def _set(path: tuple[str, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


def _drop(path: tuple[str, ...]) -> Callable[[dict[str, Any]], None]:
    def edit(data: dict[str, Any]) -> None:
        target = data
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return edit


TAMPERINGS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("no crypto", _drop(("crypto",)), "crypto: missing"),
    ("no mac", _drop(("crypto", "mac")), "crypto.mac: missing"),
    ("no address", _drop(("address",)), "address: missing"),
    ("no salt", _drop(("crypto", "kdfparams", "salt")), "crypto.kdfparams.salt: missing"),
    ("version as text", _set(("version",), "3"), "version: must be 3"),
    ("version 4", _set(("version",), 4), "version: must be 3"),
    ("crypto a list", _set(("crypto",), []), "crypto: must be an object"),
    ("n as text", _set(("crypto", "kdfparams", "n"), "16384"), "crypto.kdfparams.n: must be a"),
    ("n odd", _set(("crypto", "kdfparams", "n"), 3), "crypto.kdfparams.n: must be a power of two"),
    ("n huge", _set(("crypto", "kdfparams", "n"), 2**40), "crypto.kdfparams.n: must be at most"),
    ("n zero", _set(("crypto", "kdfparams", "n"), 0), "crypto.kdfparams.n: must be at least 2"),
    ("r huge", _set(("crypto", "kdfparams", "r"), 10**9), "crypto.kdfparams.r: must be at most"),
    ("n bool", _set(("crypto", "kdfparams", "n"), True), "crypto.kdfparams.n: must be a whole"),
    ("dklen", _set(("crypto", "kdfparams", "dklen"), 16), "crypto.kdfparams.dklen: must be 32"),
    ("kdf", _set(("crypto", "kdf"), "argon2"), "crypto.kdf: must be 'scrypt' or 'pbkdf2'"),
    ("cipher", _set(("crypto", "cipher"), "aes-256-gcm"), "crypto.cipher: must be 'aes-128-ctr'"),
    ("mac not hex", _set(("crypto", "mac"), "zz" * 32), "crypto.mac: must be hexadecimal"),
    ("mac short", _set(("crypto", "mac"), "ab" * 8), "crypto.mac: must be 32 bytes, got 8"),
    ("mac a number", _set(("crypto", "mac"), 12), "crypto.mac: must be text"),
    (
        "iv not hex",
        _set(("crypto", "cipherparams", "iv"), "xyz"),
        "crypto.cipherparams.iv: must be",
    ),
    ("ciphertext", _set(("crypto", "ciphertext"), "00"), "crypto.ciphertext: must be 32 bytes"),
    ("address", _set(("address",), "not-an-address"), "address: must be hexadecimal"),
    ("address null", _set(("address",), None), "address: must be text"),
]


@pytest.mark.parametrize(("label", "edit", "reason"), TAMPERINGS, ids=[t[0] for t in TAMPERINGS])
def test_tampered_keystore_is_named_malformed(
    tmp_path: Path, label: str, edit: Callable[[dict[str, Any]], None], reason: str
) -> None:
    wallet_dir = tmp_path / "wallet"
    import_keystore(wallet_dir, SDK_KEY, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    path = keystore_path(wallet_dir)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    for read in (lambda: keystore_info(wallet_dir), lambda: unlock(wallet_dir, PASSPHRASE)):
        with pytest.raises(WalletError) as caught:
            read()
        assert str(caught.value).startswith(f"keystore is malformed: {reason}"), caught.value
        assert SDK_KEY not in str(caught.value) and PASSPHRASE not in str(caught.value)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b"\xff\xfe{}", "not UTF-8 text"),
        (b"[" * 5000 + b"]" * 5000, "larger than 8192 bytes"),
        # "not a JSON object", or "not valid JSON (nested too deeply)" under the default
        # recursion limit: either way one line, never a crash
        (b"[" * 4000 + b"]" * 4000, "not "),
        (b"", "not valid JSON"),
    ],
)
def test_keystore_that_is_not_json_is_named_malformed(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, content: bytes, reason: str
) -> None:
    (data_dir / "wallet").mkdir(parents=True)
    keystore_path(data_dir / "wallet").write_bytes(content)
    for passphrase in (None, PASSPHRASE):
        if passphrase:
            monkeypatch.setenv("BOT_WALLET_PASSPHRASE", passphrase)
        result = _wallet("address")
        assert result.exit_code == 1
        assert f"keystore is malformed: {reason}" in result.output, result.output


def test_changed_mac_reads_as_a_wrong_passphrase(tmp_path: Path) -> None:
    wallet_dir = tmp_path / "wallet"
    import_keystore(wallet_dir, SDK_KEY, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    path = keystore_path(wallet_dir)
    data = json.loads(path.read_text())
    data["crypto"]["mac"] = "00" * 32
    path.write_text(json.dumps(data))
    with pytest.raises(WalletError, match="wrong passphrase"):
        unlock(wallet_dir, PASSPHRASE)


def test_keystore_with_capitalised_crypto_still_unlocks(tmp_path: Path) -> None:
    """Older wallets write "Crypto"; eth-keyfile reads it, so do we."""
    wallet_dir = tmp_path / "wallet"
    import_keystore(wallet_dir, SDK_KEY, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    path = keystore_path(wallet_dir)
    data = json.loads(path.read_text())
    data["Crypto"] = data.pop("crypto")
    path.write_text(json.dumps(data))
    assert unlock(wallet_dir, PASSPHRASE).address == SDK_ADDRESS


def test_wallet_address_refuses_a_stored_address_that_is_not_the_keys(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_keystore(data_dir / "wallet", SDK_KEY, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    path = keystore_path(data_dir / "wallet")
    data = json.loads(path.read_text())
    data["address"] = OTHER_ADDRESS[2:]
    path.write_text(json.dumps(data))
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    for command in ("address", "export-public"):
        result = _wallet(command)
        assert result.exit_code == 1, result.output
        assert f"but its key is {SDK_ADDRESS}" in result.output
        assert "was altered or damaged" in result.output and "send nothing" in result.output
        assert not result.stdout.strip(), "no address may be printed for a tampered keystore"


def test_wallet_address_is_checked_when_the_passphrase_is_set(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_keystore(data_dir / "wallet", SDK_KEY, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    assert _wallet("address").stdout.strip() == SDK_ADDRESS  # no passphrase: the stored one
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    assert _wallet("address").stdout.strip() == SDK_ADDRESS
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "not the passphrase")
    wrong = _wallet("address")
    assert wrong.exit_code == 1 and "wrong passphrase" in wrong.output
