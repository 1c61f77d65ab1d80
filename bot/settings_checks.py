"""Checks for setting values that a numeric bound cannot express: URLs, addresses, prices, paths.

Each check takes the raw text and returns it (or a normalised form), or raises ValueError
with a reason a user can act on; `bot.settings_errors` turns that into one line naming the
`BOT_*` variable. Heavy libraries (SQLAlchemy's dialects, keccak) are imported only when the
setting that needs them is set, so loading settings stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from decimal import Decimal, InvalidOperation, localcontext
from pathlib import Path
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2048
MAX_PATH_LENGTH = 4096
UINT256_MAX = 2**256 - 1
WEI_DECIMALS = 18
SUPPORTED_DATABASES = ("sqlite", "postgresql")

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_ZERO_ADDRESS = "0x" + "0" * 40
# Rarible multichain ids: BLOCKCHAIN:address (ETHEREUM:0x…, POLYGON:0x…, TEZOS:KT1…, FLOW:A.…).
_RARIBLE_COLLECTION_ID = re.compile(r"[A-Z][A-Z0-9_]*:[A-Za-z0-9._-]{1,100}")
_OPENSEA_SLUG = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")


def has_control_characters(text: str) -> bool:
    """Control and invisible formatting characters (newlines, escape codes, bidi overrides)."""
    return any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text)


def http_url(value: str) -> str:
    """An http:// or https:// URL with a host (and a valid port when one is given)."""
    text = value.strip()
    if not text:
        raise ValueError("must be an http:// or https:// URL, not empty")
    if len(text) > MAX_URL_LENGTH:
        raise ValueError(f"must be a URL of at most {MAX_URL_LENGTH} characters")
    if has_control_characters(text) or " " in text:
        raise ValueError("must be a URL without spaces or control characters")
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("must be an http:// or https:// URL")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port that is not 0..65535
    except ValueError:
        raise ValueError("has an invalid port") from None
    if not parts.hostname:
        raise ValueError("must be an http:// or https:// URL with a host")
    if parts.fragment:
        raise ValueError("must be a base URL without a #fragment")
    return text


def http_url_list(value: str) -> str:
    """Comma-separated http(s) URLs (BOT_IPFS_GATEWAYS); each item is checked, empty is allowed."""
    for position, item in enumerate(value.split(","), start=1):
        if not item.strip():
            continue
        try:
            http_url(item)
        except ValueError as exc:
            raise ValueError(f"item {position} ({item.strip()}) {exc}") from None
    return value


def database_url(value: str) -> str:
    """A SQLAlchemy URL for SQLite or PostgreSQL whose driver is installed."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ValueError(
            "is not a database URL; use sqlite:///path/to/bot.db or "
            "postgresql+psycopg://user:password@host/dbname"
        ) from None
    backend = url.get_backend_name()
    if backend not in SUPPORTED_DATABASES:
        raise ValueError(f"database {backend!r} is not supported; use sqlite or postgresql")
    try:
        dialect = url.get_dialect()
    except NoSuchModuleError:
        raise ValueError(f"unknown driver {url.drivername!r}") from None
    if getattr(dialect, "is_async", False):
        raise ValueError(f"async driver {url.drivername!r} is not supported")
    try:
        dialect.import_dbapi()
    except ImportError:
        hint = ""
        if url.drivername == "postgresql+psycopg":
            from bot.extras import EXTRAS

            hint = f": it comes with the postgres extra, {EXTRAS['postgres'].install_hint}"
        elif backend == "postgresql":
            hint = " (use postgresql+psycopg://…)"
        raise ValueError(f"driver {url.drivername!r} is not installed{hint}") from None
    return value


def eth_address(value: str) -> str:
    """0x + 40 hex digits, not the zero address; mixed case must be a valid EIP-55 checksum.

    Returns the EIP-55 form."""
    text = value.strip()
    if not _ADDRESS.fullmatch(text):
        raise ValueError("must be an Ethereum address: 0x followed by 40 hex digits")
    if text.lower() == _ZERO_ADDRESS:
        raise ValueError("must not be the zero address")
    digits = text[2:]
    checksummed = _checksummed(text)
    if digits != digits.lower() and digits != digits.upper() and text != checksummed:
        raise ValueError(
            "has a wrong EIP-55 checksum (mixed case); check the address, or write it all "
            "lower-case"
        )
    return checksummed  # one spelling, as the built-in networks write their addresses


def _checksummed(address: str) -> str:
    from Crypto.Hash import keccak  # pycryptodome, already a dependency of eth-account

    digits = address[2:].lower()
    digest = keccak.new(digest_bits=256, data=digits.encode("ascii")).hexdigest()
    return "0x" + "".join(
        ch.upper() if int(nibble, 16) >= 8 else ch
        for ch, nibble in zip(digits, digest[:40], strict=True)
    )


def price_eth(value: str) -> str:
    """A positive ETH amount with at most 18 decimals whose wei value fits a uint256."""
    text = value.strip()
    if len(text) > 100:
        raise ValueError("must be a price in ETH such as 0.05 (at most 100 characters)")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError("must be a price in ETH such as 0.05") from None
    if not amount.is_finite():
        raise ValueError("must be a finite price in ETH such as 0.05")
    if amount <= 0:
        raise ValueError("must be more than 0")
    if amount.adjusted() < -WEI_DECIMALS:
        raise ValueError("is less than 1 wei (1e-18 ETH)")
    # Bound the size before scaling: 1E+999999999 would overflow the decimal context.
    if amount.adjusted() > 80:
        raise ValueError("is more than a uint256 can hold in wei")
    with localcontext() as context:
        context.prec = 200  # exact for every value of at most 100 characters
        wei = amount.scaleb(WEI_DECIMALS)
        if wei != wei.to_integral_value():
            raise ValueError(f"has more than {WEI_DECIMALS} decimals (1 wei = 1e-18 ETH)")
        if wei > UINT256_MAX:
            raise ValueError("is more than a uint256 can hold in wei")
    return text


def year_range(text: str) -> tuple[int, int]:
    """'2017-2021' -> (2017, 2021); a single year is a range of one; years 1970..2100."""
    parts = text.split("-")
    try:
        if len(parts) == 1:
            first = last = int(parts[0])
        elif len(parts) == 2:
            first, last = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"year range {text!r} is not YEAR or YEAR-YEAR") from None
    if first > last:
        raise ValueError(f"year range {text!r} starts after it ends")
    if first < 1970 or last > 2100:
        raise ValueError(f"year range {text!r} must lie within 1970-2100")
    return first, last


def path_text(value: object) -> object:
    """Before Path conversion: refuse an empty path, control characters and absurd lengths."""
    if isinstance(value, str | Path):
        text = str(value)
        if not text.strip():
            raise ValueError("must be a path, not empty")
        if len(text) > MAX_PATH_LENGTH:
            raise ValueError(f"must be a path of at most {MAX_PATH_LENGTH} characters")
        if has_control_characters(text):
            raise ValueError("must be a path without control characters")
    return value


def directory_path(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ValueError("must be a directory, but a file is there")
    return path


def existing_file(path: Path) -> Path:
    if not path.is_file():
        raise ValueError("no such file" if not path.exists() else "must be a file")
    return path


def header_text(value: str) -> str:
    """Text sent in an HTTP header (User-Agent): printable ASCII only."""
    if not value.strip():
        raise ValueError("must not be empty")
    if not value.isascii() or has_control_characters(value):
        raise ValueError("must be printable ASCII (it is sent as an HTTP header)")
    return value


def secret_text(value: object) -> object:
    """API keys, tokens, the passphrase: bounded, and no control characters (they go into
    headers, where a newline would split one)."""
    if isinstance(value, str):
        if len(value) > 4096:
            raise ValueError("must be at most 4096 characters")
        if has_control_characters(value):
            raise ValueError("must not contain control characters or newlines")
    return value


def rarible_collection_ids(value: str) -> str:
    for item in (i.strip() for i in value.split(",")):
        if item and not _RARIBLE_COLLECTION_ID.fullmatch(item):
            raise ValueError(
                f"item {item!r} is not a Rarible collection id such as "
                "ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5"
            )
    return value


def opensea_slugs(value: str) -> str:
    for item in (i.strip() for i in value.split(",")):
        if item and not _OPENSEA_SLUG.fullmatch(item):
            raise ValueError(f"item {item!r} is not an OpenSea collection slug")
    return value


def torch_device(value: str) -> str:
    if not re.fullmatch(r"auto|cpu|cuda(:\d{1,2})?", value.strip()):
        raise ValueError("must be auto, cpu, cuda or cuda:N")
    return value.strip()


_RAY_HOST_PORT = re.compile(r"(ray://)?\[?[A-Za-z0-9._:-]{1,253}\]?:(\d{1,5})")


def ray_address(value: str) -> str:
    """BOT_RAY_ADDRESS: `local` (start a private cluster), `auto` (the cluster on this
    machine), or a head's `host:port` / `ray://host:port`."""
    text = value.strip()
    if text in ("local", "auto"):
        return text
    match = _RAY_HOST_PORT.fullmatch(text)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ValueError(
            "must be local, auto, or a Ray head's address as host:port or ray://host:port"
        )
    return text
