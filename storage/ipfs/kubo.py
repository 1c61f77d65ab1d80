"""A client of the kubo RPC API (`/api/v0`), written on `requests`, and the `kubo` pinner.

Why not `ipfshttpclient`: its last release (0.7.0, 2021) refuses every kubo since 0.8 with
`VersionMismatch`, it is unmaintained, and it sends `raw-leaves=false` unless told otherwise
(so its CIDv1 differs from `ipfs add --cid-version=1`). Six POST endpoints are all we need.

Every add states the import options of its CID profile explicitly (`cid-version`, `raw-leaves`,
`chunker`, `max-file-links`, `hash`, `trickle`, `inline`; a node with another `Import.*`
profile would otherwise compute other CIDs) and is made with `pin=false`: the bot compares the
node's CID with its own, made with the same profile, and pins only when they are equal. A
mismatch is a hard error and nothing is pinned.
"""

from __future__ import annotations

import io
import os
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import requests

from storage.ipfs.cid import Cid, same_cid
from storage.ipfs.pinner import CidMismatch, ContentNotFound, IpfsError, PinOutcome
from storage.ipfs.profiles import CidProfile
from storage.ipfs.transport import RetryPolicy, json_of, json_of_line, send
from storage.ipfs.unixfs import import_bytes, import_file
from storage.models.pin import PinStatus
from storage.net import safe_json

_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


class _MultipartFile(io.RawIOBase):
    """A one-file multipart/form-data body that streams from disk, with a known length.

    `requests` would read a whole file into memory to build a multipart body; this reads it
    piece by piece, and its length lets the request carry Content-Length (not chunked).
    """

    def __init__(self, stream: BinaryIO, size: int, filename: str, boundary: str) -> None:
        self.boundary = boundary
        self._head = (
            f"--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()
        self._stream = stream
        self._size = size
        self._pieces = [io.BytesIO(self._head), stream, io.BytesIO(self._tail)]

    def __len__(self) -> int:
        return len(self._head) + self._size + len(self._tail)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        out = bytearray()
        while self._pieces and (size < 0 or len(out) < size):
            want = -1 if size < 0 else size - len(out)
            piece = self._pieces[0].read(want)
            if not piece:
                self._pieces.pop(0)
                continue
            out += piece
        return bytes(out)


class KuboClient:
    """Thin wrapper over the RPC endpoints the bot uses. All calls are POST."""

    def __init__(
        self,
        base_url: str,
        *,
        session: requests.Session | None = None,
        timeout_s: float = 60.0,
        policy: RetryPolicy | None = None,
        auth_token: str | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.policy = policy or RetryPolicy()
        if auth_token:
            self.session.headers["Authorization"] = f"Bearer {auth_token}"

    def _url(self, endpoint: str) -> str:
        return f"{self.base_url}/api/v0/{endpoint}"

    def _post(
        self,
        endpoint: str,
        params: list[tuple[str, str]],
        *,
        cid: str | None = None,
        retry: bool = True,
        body_factory: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        stream: bool = False,
    ) -> requests.Response:
        url = self._url(endpoint)
        response = send(
            self.session,
            "POST",
            url,
            retry=retry,
            policy=self.policy,
            cid=cid,
            body_factory=body_factory,
            params=params,
            headers=headers,
            timeout=self.timeout_s,
            stream=stream,
        )
        if response.status_code != 200:
            try:
                raise _node_error(response, cid=cid, endpoint=url)
            finally:
                response.close()
        return response

    def version(self) -> dict[str, Any]:
        return dict(json_of(self._post("version", [])))

    def id(self) -> dict[str, Any]:
        return dict(json_of(self._post("id", [])))

    def add(
        self,
        open_body: Callable[[], tuple[BinaryIO, int]],
        *,
        filename: str,
        profile: CidProfile,
        pin: bool,
        expected_cid: str | None = None,
        only_hash: bool = False,
    ) -> dict[str, Any]:
        """POST /add with every import option of `profile` explicit; the root's NDJSON line.

        `only_hash`: the node chunks and hashes but stores nothing (a CID oracle)."""
        params = [
            *profile.kubo_add_options(),
            ("wrap-with-directory", "false"),
            ("inline", "false"),
            ("pin", _flag(pin)),
            ("only-hash", _flag(only_hash)),
            ("progress", "false"),
        ]
        if profile.cid_version == 1:
            params.append(("cid-base", "base32"))  # js-ipfs prints v1 in base58btc otherwise
        safe_name = _SAFE_NAME.sub("_", filename) or "file"
        boundary = secrets.token_hex(16)
        opened: list[BinaryIO] = []

        def body() -> _MultipartFile:  # a fresh body for every attempt
            stream, size = open_body()
            opened.append(stream)
            return _MultipartFile(stream, size, safe_name, boundary)

        try:
            response = self._post(
                "add",
                params,
                cid=expected_cid,
                body_factory=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
        finally:
            for stream in opened:
                stream.close()
        lines = [
            json_of_line(line, cid=expected_cid, endpoint=response.url)
            for line in response.content.splitlines()
            if line.strip()
        ]
        results = [line for line in lines if "Hash" in line]
        if not results:
            raise IpfsError(
                f"add answered no Hash: {response.text[:200]!r}",
                cid=expected_cid,
                endpoint=self._url("add"),
            )
        return dict(results[-1])

    def pin_add(self, cid: str) -> list[str]:
        response = self._post("pin/add", [("arg", cid), ("recursive", "true")], cid=cid)
        return list(json_of(response, cid=cid).get("Pins", []))

    def pin_ls(self, cid: str) -> bool:
        """True when `cid` is pinned recursively; a 'not pinned' answer is False, not an error."""
        try:
            response = self._post("pin/ls", [("arg", cid), ("type", "recursive")], cid=cid)
        except IpfsError as exc:
            if "not pinned" in exc.reason.lower():
                return False
            raise
        keys = json_of(response, cid=cid).get("Keys", {}) or {}
        return any(same_cid(key, cid) for key in keys)

    def pin_rm(self, cid: str) -> None:
        try:
            self._post("pin/rm", [("arg", cid), ("recursive", "true")], cid=cid)
        except IpfsError as exc:
            if "not pinned" not in exc.reason.lower():
                raise

    def cat(self, cid: str, *, timeout: str = "60s") -> bytes:
        return self._post("cat", [("arg", cid), ("timeout", timeout)], cid=cid).content

    def iter_cat(
        self, cid: str, *, timeout: str = "60s", piece_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """`cat` read in pieces as it arrives (constant memory, whatever the file size)."""
        response = self._post("cat", [("arg", cid), ("timeout", timeout)], cid=cid, stream=True)
        with response:
            try:
                yield from response.iter_content(piece_size)
            except requests.RequestException as exc:
                url = self._url("cat")
                raise IpfsError(f"cat broke off: {exc}", cid=cid, endpoint=url) from exc


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _node_error(response: requests.Response, *, cid: str | None, endpoint: str) -> IpfsError:
    try:
        message = str(safe_json.loads(response.content, source=endpoint).get("Message", ""))
    except (ValueError, AttributeError):
        message = response.text[:300]
    reason = f"HTTP {response.status_code}: {message or response.reason}"
    lowered = message.lower()
    if "timed out" in lowered or "not found" in lowered or "no link named" in lowered:
        return ContentNotFound(reason, cid=cid, endpoint=endpoint)
    return IpfsError(reason, cid=cid, endpoint=endpoint)


class KuboPinner:
    """Pins on a kubo node (or any node with a kubo-compatible RPC API)."""

    def __init__(self, client: KuboClient, *, name: str = "kubo", cat_timeout: str = "60s") -> None:
        self.client = client
        self.name = name
        self.cat_timeout = cat_timeout

    def _add_verified(
        self,
        open_body: Callable[[], tuple[BinaryIO, int]],
        *,
        local_cid: Cid,
        size: int,
        profile: CidProfile,
        name: str | None,
    ) -> PinOutcome:
        expected = str(local_cid)
        answer = self.client.add(
            open_body,
            filename=name or expected,
            profile=profile,
            pin=False,
            expected_cid=expected,
        )
        node_cid = str(answer.get("Hash", ""))
        if not same_cid(node_cid, expected):
            raise CidMismatch(
                f"node answered {node_cid!r} for content whose local CID ({profile.name}) is "
                f"{expected}; not pinned",
                cid=expected,
                endpoint=self.client._url("add"),
            )
        self.client.pin_add(expected)
        return PinOutcome(expected, self.name, PinStatus.PINNED, size=size, profile=profile.name)

    def add_bytes(self, data: bytes, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        local = import_bytes(data, profile)
        return self._add_verified(
            lambda: (io.BytesIO(data), len(data)),
            local_cid=local.cid,
            size=len(data),
            profile=profile,
            name=name,
        )

    def add_file(self, path: Path, *, profile: CidProfile, name: str | None = None) -> PinOutcome:
        path = Path(path)
        local = import_file(path, profile)

        def open_file() -> tuple[BinaryIO, int]:
            return open(path, "rb"), os.path.getsize(path)

        return self._add_verified(
            open_file,
            local_cid=local.cid,
            size=local.file_size,
            profile=profile,
            name=name or path.name,
        )

    def add_stream_verified(
        self,
        open_body: Callable[[], tuple[BinaryIO, int]],
        *,
        expected_cid: str,
        profile: CidProfile,
        name: str | None = None,
    ) -> PinOutcome:
        """Add content whose CID (made with `profile`) is already known, and verify it."""
        stream, size = open_body()
        stream.close()
        return self._add_verified(
            open_body,
            local_cid=Cid.parse(expected_cid),
            size=size,
            profile=profile,
            name=name,
        )

    def pin(self, cid: str, *, name: str | None = None) -> PinOutcome:
        self.client.pin_add(cid)
        return PinOutcome(cid, self.name, PinStatus.PINNED)

    def status(self, cid: str, *, request_id: str | None = None) -> PinOutcome:
        pinned = self.client.pin_ls(cid)
        return PinOutcome(cid, self.name, PinStatus.PINNED if pinned else PinStatus.UNPINNED)

    def is_pinned(self, cid: str) -> bool:
        return self.client.pin_ls(cid)

    def cat(self, cid: str) -> bytes:
        return self.client.cat(cid, timeout=self.cat_timeout)

    def iter_content(self, cid: str) -> Iterator[bytes]:
        return self.client.iter_cat(cid, timeout=self.cat_timeout)

    def unpin(self, cid: str, *, request_id: str | None = None) -> None:
        self.client.pin_rm(cid)
