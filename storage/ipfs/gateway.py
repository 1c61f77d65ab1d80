"""Reading a CID back through an HTTP gateway (`<gateway>/ipfs/<cid>`), in pieces.

A gateway is never trusted: the caller re-imports what it serves with the pin's CID profile and
compares the CID. This client only bounds the read (a timeout per request, and at most
`max_bytes`, so a gateway that streams without end cannot fill memory or disk) and turns
HTTP failures into errors that name the CID and the URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import requests

from storage.ipfs.pinner import ContentNotFound, IpfsError


class TooLong(IpfsError):
    """The gateway served more bytes than the pinned file has."""


class GatewayClient:
    def __init__(
        self,
        prefix: str,
        *,
        session: requests.Session | None = None,
        timeout_s: float = 30.0,
        user_agent: str | None = None,
    ) -> None:
        if not prefix.startswith(("http://", "https://")):
            raise ValueError(f"gateway {prefix!r} is not an http(s) URL")
        self.prefix = prefix.rstrip("/") + "/"
        self.session = session or requests.Session()
        if user_agent:
            self.session.headers["User-Agent"] = user_agent
        self.timeout_s = timeout_s

    def url(self, cid: str) -> str:
        return f"{self.prefix}{cid}"

    def iter_content(
        self, cid: str, *, max_bytes: int, piece_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """The file bytes the gateway serves for `cid`; raises past `max_bytes`."""
        url = self.url(cid)
        try:
            response = self.session.get(url, stream=True, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise IpfsError(f"{type(exc).__name__}: {exc}", cid=cid, endpoint=url) from None
        with response:
            if response.status_code in (404, 410):
                raise ContentNotFound(f"HTTP {response.status_code}", cid=cid, endpoint=url)
            if response.status_code != 200:
                raise IpfsError(
                    f"HTTP {response.status_code}: {response.text[:200]}", cid=cid, endpoint=url
                )
            seen = 0
            try:
                for piece in response.iter_content(piece_size):
                    seen += len(piece)
                    if seen > max_bytes:
                        raise TooLong(
                            f"served more than the pinned file's {max_bytes} bytes",
                            cid=cid,
                            endpoint=url,
                        )
                    yield piece
            except requests.RequestException as exc:
                raise IpfsError(f"read broke off: {exc}", cid=cid, endpoint=url) from None
