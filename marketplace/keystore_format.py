"""The shape of an Ethereum v3 keystore, checked before any of it is used.

eth-keyfile trusts the file: a missing field is a KeyError, a number where text belongs a
TypeError, a huge scrypt `n` an attempt to allocate terabytes. A keystore is a file anyone
with disk access can edit, so every field is checked here first (types, hex, lengths, KDF
bounds) and the first problem is named: `crypto.mac: must be hexadecimal`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from storage.net import safe_json

MAX_KEYSTORE_BYTES = 8192  # a v3 keystore is about 500 bytes; more is not a keystore
MIN_READ_SCRYPT_N = 2
MAX_SCRYPT_N = 2**20  # eth-account's default is 2^18; 2^20 already takes seconds
MAX_SCRYPT_MEMORY = 2**30  # 128 * r * n bytes
MAX_PBKDF2_ROUNDS = 10_000_000
_MAX_KEYSTORE_DEPTH = 8  # a v3 keystore nests 4 levels


class KeystoreMalformed(ValueError):
    """The keystore's content is not a usable v3 keystore; the message names the field."""


def _hex(size: int | None, *, min_size: int = 1, max_size: int = 64) -> Any:
    def check(text: str) -> str:
        digits = text.removeprefix("0x")
        try:
            data = bytes.fromhex(digits)
        except ValueError:
            raise ValueError("must be hexadecimal") from None
        if size is not None and len(data) != size:
            raise ValueError(f"must be {size} bytes, got {len(data)}")
        if size is None and not min_size <= len(data) <= max_size:
            raise ValueError(f"must be {min_size} to {max_size} bytes, got {len(data)}")
        return digits

    return AfterValidator(check)


def _power_of_two(n: int) -> int:
    if n & (n - 1):
        raise ValueError("must be a power of two")
    return n


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class ScryptParams(_Strict):
    dklen: Literal[32]
    n: Annotated[int, Field(ge=MIN_READ_SCRYPT_N, le=MAX_SCRYPT_N), AfterValidator(_power_of_two)]
    r: int = Field(ge=1, le=16)
    p: int = Field(ge=1, le=4)
    salt: Annotated[str, _hex(None)]


class Pbkdf2Params(_Strict):
    dklen: Literal[32]
    c: int = Field(ge=1, le=MAX_PBKDF2_ROUNDS)
    prf: Literal["hmac-sha256"]
    salt: Annotated[str, _hex(None)]


class CipherParams(_Strict):
    iv: Annotated[str, _hex(16)]


class Crypto(_Strict):
    cipher: Literal["aes-128-ctr"]
    cipherparams: CipherParams
    ciphertext: Annotated[str, _hex(32)]  # the private key, encrypted
    kdf: Literal["scrypt", "pbkdf2"]
    kdfparams: dict[str, Any]
    mac: Annotated[str, _hex(32)]


class KeystoreV3(_Strict):
    version: Literal[3]
    address: Annotated[str, _hex(20)]
    crypto: Crypto
    id: str | None = None


def parse_keystore(raw: bytes) -> dict[str, Any]:
    """The keystore as eth-account reads it (keys lower-cased), after every check."""
    if len(raw) > MAX_KEYSTORE_BYTES:
        raise KeystoreMalformed(f"larger than {MAX_KEYSTORE_BYTES} bytes")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raise KeystoreMalformed("not UTF-8 text") from None
    try:  # depth-checked before the parser recurses (storage/net/safe_json.py)
        data = safe_json.loads(raw, source="keystore", max_depth=_MAX_KEYSTORE_DEPTH)
    except safe_json.UnsafeJson as exc:
        raise KeystoreMalformed(f"not valid JSON ({exc.reason})") from None
    if not isinstance(data, dict):
        raise KeystoreMalformed("not a JSON object")
    data = _lower_keys(data)  # eth-keyfile accepts "Crypto" (older wallets) the same way
    try:
        keystore = KeystoreV3.model_validate(data)
        params: type[_Strict] = ScryptParams if keystore.crypto.kdf == "scrypt" else Pbkdf2Params
        checked = params.model_validate(keystore.crypto.kdfparams)
    except ValidationError as exc:
        raise KeystoreMalformed(_first_problem(exc)) from None
    if isinstance(checked, ScryptParams) and 128 * checked.r * checked.n > MAX_SCRYPT_MEMORY:
        raise KeystoreMalformed("crypto.kdfparams: scrypt would need more than 1 GiB of memory")
    return data


def _lower_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k).lower(): _lower_keys(v) for k, v in value.items()}
    return value


_REASONS = {
    "missing": "missing",
    "int_type": "must be a whole number",
    "string_type": "must be text",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "less_than_equal": "must be at most {le}",
    "greater_than_equal": "must be at least {ge}",
    "literal_error": "must be {expected}",
}


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors(include_url=False)[0]
    loc = ".".join(str(part) for part in error["loc"])
    if exc.title in (ScryptParams.__name__, Pbkdf2Params.__name__):
        loc = "crypto.kdfparams" + (f".{loc}" if loc else "")
    kind = error["type"]
    if kind == "value_error":
        reason = str((error.get("ctx") or {}).get("error", error["msg"]))
    else:
        try:
            reason = _REASONS[kind].format(**(error.get("ctx") or {}))
        except KeyError:
            reason = error["msg"]
    return f"{loc}: {reason}" if loc else reason
