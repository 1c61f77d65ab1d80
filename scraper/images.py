"""Download a listing's image safely and store it in the blob store by content hash.

URIs: `ipfs://<cid>[/path]` (tried through each gateway in order), `https://` / `http://`, and
`data:`. Every image is checked before it is kept:

- size: a Content-Length over the cap is refused before reading; the body is read in chunks
  and abandoned as soon as it passes the cap (a server may lie or send no length);
- type: the Content-Type must be a raster image type (or the octet-stream IPFS gateways
  often send) and the first bytes must be PNG, JPEG, GIF or WebP; the two must not disagree;
- pixels: the header's width x height must be under the pixel cap *before* anything is
  decoded, which is what stops a decompression bomb (a few KB that inflate to gigabytes);
- addresses: no connection to link-local, or (unless allowed) loopback/private addresses, on
  any redirect hop (storage/net/addresses.py);
- time: every download has a total deadline (storage/net/bounded.py), so a server that
  drips one byte at a time is abandoned, not waited for;
- then the image is verified by Pillow (and, when the caller passes `validate`, decoded in
  full by it) and stored under its sha256: the same image found under two listings is kept
  once.

The API is plain so every caller (scraper, Kaggle importer) can use it: settings values go in
through `DownloadPolicy`, the blob store is passed in.
"""

from __future__ import annotations

import base64
import binascii
import io
import logging
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

import requests
from PIL import Image

from scraper.errors import DownloadRefused
from scraper.http import HostRateLimiter
from storage.blobstore import BlobStore
from storage.net.bounded import (
    BoundedHttp,
    DeadlineExceeded,
    HttpLimits,
    RedirectRefused,
    ResponseTooLarge,
)

log = logging.getLogger(__name__)

_ACCEPTED_TYPES = {
    "image/png": "PNG",
    "image/jpeg": "JPEG",
    "image/jpg": "JPEG",
    "image/pjpeg": "JPEG",
    "image/gif": "GIF",
    "image/webp": "WEBP",
}
# What IPFS gateways and object stores send when they do not know; the bytes decide then.
_UNTYPED = {"", "application/octet-stream", "binary/octet-stream"}


@dataclass(frozen=True)
class DownloadPolicy:
    gateways: tuple[str, ...] = ("https://ipfs.io/ipfs/",)
    max_bytes: int = 50_000_000
    max_pixels: int = 64_000_000
    allow_private: bool = False
    timeout_s: float = 30.0  # each connect and read
    user_agent: str = "nftbot/0.1"
    max_redirects: int = 5
    deadline_s: float = 120.0  # one download, all of it (each gateway has its own)

    def __post_init__(self) -> None:
        # Each gateway ends in exactly one slash, so gateway + "<cid>/<path>" is a URL.
        normalised = tuple(g.strip().rstrip("/") + "/" for g in self.gateways if g.strip())
        object.__setattr__(self, "gateways", normalised)

    @staticmethod
    def parse_gateways(text: str) -> tuple[str, ...]:
        """'https://a/ipfs/, https://b/ipfs' (the BOT_IPFS_GATEWAYS format) -> a tuple."""
        return tuple(g.strip() for g in text.split(",") if g.strip())


@dataclass(frozen=True)
class FetchedImage:
    sha256: str
    size: int
    format: str  # PNG, JPEG, GIF, WEBP
    width: int
    height: int
    url: str  # where the bytes came from (the gateway URL for ipfs://)


class _TryNext(Exception):
    """This copy could not be read (network, HTTP status); another gateway may have it."""


class ImageDownloader:
    def __init__(
        self,
        policy: DownloadPolicy,
        blobs: BlobStore,
        *,
        limiter: HostRateLimiter | None = None,
        validate: Callable[[bytes], object] | None = None,
    ) -> None:
        self.policy = policy
        self.blobs = blobs
        self.limiter = limiter
        # A full decode by the caller's decoder (the bot passes the generator's safe decoder):
        # raises ValueError with the reason for bytes that pass the checks here but cannot
        # be used (truncated, corrupt), so they are refused now rather than at `prepare`.
        self.validate = validate
        self.http = BoundedHttp(
            HttpLimits(
                timeout_s=policy.timeout_s,
                deadline_s=policy.deadline_s,
                max_body_bytes=policy.max_bytes,
                max_redirects=policy.max_redirects,
            ),
            user_agent=policy.user_agent,
            accept="image/png,image/jpeg,image/gif,image/webp;q=0.9",
            allow_private=policy.allow_private,
            guard_all_hops=True,
            pool_size=16,
        )

    def close(self) -> None:
        self.http.close()

    def fetch(self, uri: str) -> FetchedImage:
        """Download, check and store one image. Raises DownloadRefused with the reason."""
        uri = uri.strip()
        scheme = urlsplit(uri).scheme.lower()
        if scheme == "data":
            data = self._decode_data_uri(uri)
            return self._keep(uri, data, _data_uri_type(uri), uri)
        if scheme == "ipfs":
            return self._fetch_ipfs(uri)
        if scheme in ("http", "https"):
            try:
                return self._fetch_url(uri, uri)
            except _TryNext as exc:
                raise DownloadRefused(uri, str(exc)) from None
        raise DownloadRefused(uri, f"unsupported URI scheme {scheme or '(none)'!r}")

    # --- sources ---------------------------------------------------------------------------

    def _fetch_ipfs(self, uri: str) -> FetchedImage:
        path = uri[len("ipfs://") :].lstrip("/")
        if path.startswith("ipfs/"):  # 'ipfs://ipfs/<cid>' is a common mistake in metadata
            path = path[len("ipfs/") :]
        if not path or any(c in path for c in "?#\\") or ".." in path.split("/"):
            raise DownloadRefused(uri, "not a valid ipfs://<cid>[/path] URI")
        if not self.policy.gateways:
            raise DownloadRefused(uri, "no IPFS gateways configured (BOT_IPFS_GATEWAYS)")
        problems = []
        for gateway in self.policy.gateways:
            try:
                return self._fetch_url(uri, gateway + path)
            except _TryNext as exc:
                problems.append(f"{gateway}: {exc}")
                log.info("gateway %s failed for %s: %s", gateway, uri, exc)
        raise DownloadRefused(uri, "no gateway could serve it: " + "; ".join(problems))

    def _fetch_url(self, uri: str, url: str) -> FetchedImage:
        before_hop = self.limiter.acquire if self.limiter is not None else None
        try:
            with self.http.exchange("GET", url, before_hop=before_hop) as answer:
                if answer.status != 200:
                    raise _TryNext(f"HTTP {answer.status} from {answer.url}")
                content_type = answer.headers.get("Content-Type", "")
                self._check_declared(uri, answer.headers.get("Content-Length"), content_type)
                data = answer.read(self.policy.max_bytes)
                final_url = answer.url
        except ResponseTooLarge:
            raise DownloadRefused(
                uri, f"body is over the {self.policy.max_bytes}-byte cap; stopped reading"
            ) from None
        except RedirectRefused as exc:
            raise DownloadRefused(uri, f"{exc.url}: {exc.reason}") from None
        except DeadlineExceeded as exc:
            raise _TryNext(f"{exc.url}: {exc.reason}") from None
        except requests.RequestException as exc:
            raise _TryNext(f"{type(exc).__name__}: {exc}") from None
        return self._keep(uri, data, content_type, final_url)

    # --- checks ----------------------------------------------------------------------------

    def _check_declared(self, uri: str, length: str | None, content_type: str) -> None:
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise DownloadRefused(uri, f"invalid Content-Length {length!r}") from None
            if declared > self.policy.max_bytes:
                raise DownloadRefused(
                    uri,
                    f"Content-Length {declared} bytes is over the {self.policy.max_bytes}-byte"
                    " cap (BOT_DOWNLOAD_MAX_BYTES)",
                )
        _media_format(uri, content_type)  # refuses text/html, svg, ... before reading

    def _decode_data_uri(self, uri: str) -> bytes:
        header, sep, payload = uri.partition(",")
        if not sep:
            raise DownloadRefused(uri, "data: URI without a comma")
        # Refuse by length before decoding: base64 is 4 characters per 3 bytes.
        if len(payload) * 3 // 4 > self.policy.max_bytes:
            raise DownloadRefused(uri, f"data: URI is over the {self.policy.max_bytes}-byte cap")
        if header.lower().endswith(";base64"):
            try:
                return base64.b64decode(payload, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise DownloadRefused(uri, f"data: URI is not valid base64 ({exc})") from None
        return unquote_to_bytes(payload)

    def _keep(self, uri: str, data: bytes, content_type: str, url: str) -> FetchedImage:
        return keep_image(
            uri, data, content_type, url, policy=self.policy, blobs=self.blobs,
            validate=self.validate,
        )  # fmt: skip


def store_local_image(
    path: Path,
    *,
    policy: DownloadPolicy,
    blobs: BlobStore,
    validate: Callable[[bytes], object] | None = None,
) -> FetchedImage:
    """A local file (`bot import kaggle --images`) through the same checks as a download:
    the byte cap before reading, raster type by magic bytes, the pixel cap, a verify, and the
    caller's full decode (`validate`, as `ImageDownloader` takes it)."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > policy.max_bytes:
            raise DownloadRefused(
                where,
                f"{size} bytes is over the {policy.max_bytes}-byte cap (BOT_DOWNLOAD_MAX_BYTES)",
            )
        with open(path, "rb") as handle:
            data = handle.read(policy.max_bytes + 1)  # the file may have grown since stat
    except OSError as exc:
        raise DownloadRefused(where, f"cannot read it ({exc.strerror or exc})") from None
    return keep_image(where, data, "", where, policy=policy, blobs=blobs, validate=validate)


def keep_image(
    uri: str,
    data: bytes,
    content_type: str,
    url: str,
    *,
    policy: DownloadPolicy,
    blobs: BlobStore,
    validate: Callable[[bytes], object] | None = None,
) -> FetchedImage:
    """Check downloaded (or local) bytes and store them by sha256; DownloadRefused says why."""
    if len(data) > policy.max_bytes:
        raise DownloadRefused(uri, f"{len(data)} bytes is over the {policy.max_bytes} cap")
    if not data:
        raise DownloadRefused(uri, "empty body")
    sniffed = sniff_format(data)
    if sniffed is None:
        raise DownloadRefused(
            uri, f"content is not a PNG/JPEG/GIF/WebP image (starts with {data[:16]!r})"
        )
    declared = _media_format(uri, content_type)
    if declared is not None and declared != sniffed:
        raise DownloadRefused(uri, f"declared {content_type!r} but the bytes are {sniffed}")
    width, height = _check_pixels(uri, data, sniffed, policy.max_pixels)
    if validate is not None:
        try:
            validate(data)
        except ValueError as exc:
            raise DownloadRefused(uri, f"unusable image: {exc}") from None
    ref = blobs.put_bytes(data)
    return FetchedImage(ref.sha256, ref.size, sniffed, width, height, url)


def _check_pixels(uri: str, data: bytes, sniffed: str, cap: int) -> tuple[int, int]:
    try:
        with warnings.catch_warnings():
            # Our cap is the explicit one; Pillow's own bomb warning would only repeat it.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as image:  # reads the header only
                width, height = image.size
                if width * height > cap:
                    raise DownloadRefused(
                        uri,
                        f"{width}x{height} = {width * height} pixels is over the {cap}-pixel"
                        " cap (decompression bomb guard, BOT_DOWNLOAD_MAX_PIXELS)",
                    )
                if image.format != sniffed:
                    raise DownloadRefused(
                        uri, f"magic bytes say {sniffed} but Pillow reads {image.format}"
                    )
                image.verify()  # structure and checksums, without decoding the pixels
    except DownloadRefused:
        raise
    except Image.DecompressionBombError as exc:
        # Pillow's hard limit (2x its default) fires before we see the size.
        raise DownloadRefused(uri, f"decompression bomb: {exc} (our cap is {cap} pixels)") from None
    except Exception as exc:  # Pillow raises many types for broken files
        detail = " ".join(str(exc).split())  # one line (Pillow's messages may hold newlines)
        raise DownloadRefused(uri, f"corrupt {sniffed} image: {detail}") from None
    return width, height


def sniff_format(data: bytes) -> str | None:
    """The image format from the magic bytes, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    return None


def _media_format(uri: str, content_type: str) -> str | None:
    """The format a Content-Type promises; None when untyped; refuses anything not raster."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _UNTYPED:
        return None
    if media in _ACCEPTED_TYPES:
        return _ACCEPTED_TYPES[media]
    raise DownloadRefused(uri, f"Content-Type {media!r} is not an accepted raster image type")


def _data_uri_type(uri: str) -> str:
    header = uri.partition(",")[0][len("data:") :]
    return header.split(";", 1)[0]
