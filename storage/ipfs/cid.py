"""CIDs: multihash, varints, base58btc (CIDv0) and base32 (CIDv1) without third-party code.

Only what the bot needs: sha2-256 multihashes, the `dag-pb` and `raw` codecs, CIDv0 and
CIDv1 strings in base58btc and lowercase base32 (the two bases kubo and js-ipfs print).
Parsing accepts both bases so a node's answer can be compared byte for byte with ours.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass

DAG_PB = 0x70
RAW = 0x55
SHA2_256 = 0x12
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


class InvalidCid(ValueError):
    pass


def varint(value: int) -> bytes:
    """Unsigned LEB128, as protobuf and multiformats write integers."""
    if value < 0:
        raise ValueError(f"varint of a negative number: {value}")
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def read_varint(data: bytes | memoryview, offset: int) -> tuple[int, int]:
    """Decode a varint at `offset`; returns (value, offset after it)."""
    value = 0
    shift = 0
    while True:
        if offset >= len(data):
            raise ValueError("truncated varint")
        byte = data[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 63:
            raise ValueError("varint longer than 64 bits")


def sha256_multihash(digest: bytes) -> bytes:
    if len(digest) != 32:
        raise ValueError(f"a sha2-256 digest is 32 bytes, got {len(digest)}")
    return bytes((SHA2_256, 32)) + digest


def b58encode(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        chars.append(_B58_ALPHABET[remainder])
    leading_zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * leading_zeros + "".join(reversed(chars))


def b58decode(text: str) -> bytes:
    number = 0
    for char in text:
        if char not in _B58_INDEX:
            raise InvalidCid(f"{text!r}: {char!r} is not a base58btc character")
        number = number * 58 + _B58_INDEX[char]
    leading_ones = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * leading_ones + body


def b32encode(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").lower().rstrip("=")


def b32decode(text: str) -> bytes:
    padded = text.upper() + "=" * (-len(text) % 8)
    try:
        return base64.b32decode(padded)
    except ValueError as exc:
        raise InvalidCid(f"{text!r}: not base32 ({exc})") from None


@dataclass(frozen=True)
class Cid:
    """A content identifier: version, codec and multihash (sha2-256 only)."""

    version: int
    codec: int
    multihash: bytes

    def __post_init__(self) -> None:
        if self.version == 0 and self.codec != DAG_PB:
            raise InvalidCid("a CIDv0 is always dag-pb")
        if self.version not in (0, 1):
            raise InvalidCid(f"unknown CID version {self.version}")

    @property
    def digest(self) -> bytes:
        return self.multihash[2:]

    def to_bytes(self) -> bytes:
        """The binary form used inside dag-pb links."""
        if self.version == 0:
            return self.multihash
        return b"\x01" + varint(self.codec) + self.multihash

    def __str__(self) -> str:
        if self.version == 0:
            return b58encode(self.multihash)
        return "b" + b32encode(self.to_bytes())

    def to_v1(self) -> Cid:
        return Cid(1, self.codec, self.multihash)

    @classmethod
    def from_bytes(cls, data: bytes) -> Cid:
        if len(data) == 34 and data[0] == SHA2_256 and data[1] == 32:
            return cls(0, DAG_PB, bytes(data))
        version, offset = read_varint(data, 0)
        if version != 1:
            raise InvalidCid(f"binary CID with version {version}")
        codec, offset = read_varint(data, offset)
        multihash = bytes(data[offset:])
        if len(multihash) < 2 or multihash[1] != len(multihash) - 2:
            raise InvalidCid("binary CID with a malformed multihash")
        return cls(1, codec, multihash)

    @classmethod
    def parse(cls, text: str) -> Cid:
        """Parse a CID string: `Qm…` (v0), `b…` (base32) or `z…` (base58btc) multibase v1."""
        text = text.strip()
        if text.startswith("/ipfs/"):
            text = text.removeprefix("/ipfs/")
        if text.startswith("ipfs://"):
            text = text.removeprefix("ipfs://")
        if len(text) == 46 and text.startswith("Qm"):
            return cls.from_bytes(b58decode(text))
        if text[:1] in ("b", "B"):
            return cls.from_bytes(b32decode(text[1:]))
        if text[:1] == "z":
            return cls.from_bytes(b58decode(text[1:]))
        raise InvalidCid(f"{text!r} is not a CID this bot understands (Qm…, b…, z…)")


def same_cid(left: str, right: str) -> bool:
    """True when two CID strings name the same version, codec and hash (any base)."""
    try:
        return Cid.parse(left) == Cid.parse(right)
    except (InvalidCid, ValueError):
        return False
