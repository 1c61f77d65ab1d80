"""The signing key, kept in an Ethereum v3 keystore (scrypt) under `<data_dir>/wallet/`.

The private key lives only inside an unlocked `Wallet` object: it is never logged, stored in
the database or the outbox, shown in a repr, or put in an error message. The daemon unlocks
the keystore with a passphrase from the environment (no keyboard needed).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_utils import to_checksum_address

from marketplace.eip712 import sign_with_key
from marketplace.keystore_format import MAX_SCRYPT_N, KeystoreMalformed, parse_keystore
from marketplace.signing_stack import Account

KEYSTORE_NAME = "keystore.json"
MIN_PASSPHRASE_LENGTH = 8
# Below 2^14 a copied keystore falls to a brute-force search of the passphrase at once.
MIN_SCRYPT_N = 2**14


class WalletError(Exception):
    """A keystore problem, in words that never include the key or the passphrase."""


@dataclass(frozen=True)
class KeystoreInfo:
    path: Path
    address: str
    kdf: str
    scrypt_n: int | None


def keystore_path(wallet_dir: Path) -> Path:
    return wallet_dir / KEYSTORE_NAME


def _check_passphrase(passphrase: str) -> None:
    if len(passphrase) < MIN_PASSPHRASE_LENGTH:
        raise WalletError(f"the passphrase must have at least {MIN_PASSPHRASE_LENGTH} characters")


def check_scrypt_n(n: int | None) -> None:
    """None (eth-account's default, 2^18) or a power of two from 2^14 to 2^20."""
    if n is None:
        return
    if not MIN_SCRYPT_N <= n <= MAX_SCRYPT_N or n & (n - 1):
        raise WalletError(
            f"the scrypt work factor must be a power of two from {MIN_SCRYPT_N} (2^14) to "
            f"{MAX_SCRYPT_N} (2^20), got {n}: a smaller one lets a copied keystore be "
            "brute-forced"
        )


def _parse_private_key(text: str) -> bytes:
    cleaned = text.strip().removeprefix("0x").removeprefix("0X")
    try:
        key = bytes.fromhex(cleaned)
    except ValueError:
        raise WalletError("the private key is not hexadecimal") from None
    if len(key) != 32:
        raise WalletError(f"the private key must be 32 bytes, got {len(key)}")
    value = int.from_bytes(key, "big")
    if not 0 < value < 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141:
        raise WalletError("the private key is outside the secp256k1 range")
    return key


def _write_keystore(wallet_dir: Path, key: bytes, passphrase: str, scrypt_n: int | None) -> Path:
    _check_passphrase(passphrase)
    check_scrypt_n(scrypt_n)
    path = keystore_path(wallet_dir)
    if path.exists():
        raise WalletError(f"a keystore already exists at {path}; refusing to overwrite it")
    wallet_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(wallet_dir, 0o700)
    keystore = Account.encrypt(key, passphrase, kdf="scrypt", iterations=scrypt_n)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(keystore, handle)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)  # atomic: a crash leaves no half-written keystore
    return path


def create_keystore(wallet_dir: Path, passphrase: str, *, scrypt_n: int | None = None) -> str:
    """Generate a fresh key and store it encrypted; returns the address."""
    key = secrets.token_bytes(32)
    _write_keystore(wallet_dir, key, passphrase, scrypt_n)
    return Account.from_key(key).address


def import_keystore(
    wallet_dir: Path, private_key_hex: str, passphrase: str, *, scrypt_n: int | None = None
) -> str:
    """Store the user's existing key encrypted; returns its address."""
    key = _parse_private_key(private_key_hex)
    _write_keystore(wallet_dir, key, passphrase, scrypt_n)
    return Account.from_key(key).address


def _read_keystore(wallet_dir: Path) -> dict[str, Any]:
    """The keystore, every field checked; a tampered one is named, never a TypeError."""
    path = keystore_path(wallet_dir)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise WalletError(
            f"no keystore at {path}: run `bot wallet create` or `bot wallet import`"
        ) from None
    except OSError as exc:
        raise WalletError(f"cannot read keystore {path} ({exc.strerror})") from None
    try:
        return parse_keystore(raw)
    except KeystoreMalformed as exc:
        raise WalletError(f"keystore is malformed: {exc} ({path})") from None


def keystore_info(wallet_dir: Path) -> KeystoreInfo:
    """What can be read without the passphrase: the address (as stored) and the KDF."""
    data = _read_keystore(wallet_dir)
    crypto = data["crypto"]
    kdf = str(crypto["kdf"])
    scrypt_n = int(crypto["kdfparams"]["n"]) if kdf == "scrypt" else None
    return KeystoreInfo(
        keystore_path(wallet_dir), to_checksum_address("0x" + data["address"]), kdf, scrypt_n
    )


def unlock(wallet_dir: Path, passphrase: str) -> Wallet:
    """Decrypt the key; refuses a keystore whose stored address is not its key's."""
    data = _read_keystore(wallet_dir)
    path = keystore_path(wallet_dir)
    try:
        key = bytes(Account.decrypt(data, passphrase))
    except ValueError as exc:
        if "MAC" in str(exc):  # the passphrase or the encrypted key is not the one stored
            raise WalletError(f"wrong passphrase for keystore {path}") from None
        raise WalletError(f"keystore is malformed: {exc} ({path})") from None
    try:
        wallet = Wallet(key)
    except ValueError:  # decrypted to a number outside the secp256k1 range
        raise WalletError(f"keystore is malformed: the key it holds is invalid ({path})") from None
    stored = to_checksum_address("0x" + data["address"])
    if wallet.address != stored:
        raise WalletError(
            f"keystore {path} says address {stored} but its key is {wallet.address}: the file "
            "was altered or damaged; do not use it, and send nothing to that address"
        )
    return wallet


class Wallet:
    """An unlocked key that signs EIP-712 typed data and never shows itself."""

    __slots__ = ("__key", "_address")

    def __init__(self, private_key: bytes) -> None:
        self.__key = private_key
        self._address = Account.from_key(private_key).address

    @property
    def address(self) -> str:
        return self._address

    def sign_typed_data(self, typed_data: dict[str, Any]) -> str:
        return sign_with_key(typed_data, self.__key)

    def __repr__(self) -> str:
        return f"Wallet(address={self._address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:  # pickling would copy the key somewhere we do not control
        raise TypeError("a Wallet cannot be pickled")
