"""Who may use the review page: whoever holds the token `bot review` printed at start.

- The URL printed at start carries the token once (`/?token=…`); the server answers with an
  HttpOnly, SameSite=Strict cookie holding it and redirects to the same page without it, so
  the token does not stay in the address bar or the history.
- Pages and images (GET) are served to requests with that cookie, or with the token in an
  `X-Review-Token` header (scripts).
- State-changing requests are POSTs with a JSON body and must carry the token in the
  `X-Review-Token` header: the cookie alone never suffices (a page on another origin can make
  the browser send the cookie, but cannot read our page to learn the token or set our
  header without a CORS preflight we never grant). When the browser sends an `Origin`, it must
  be this server's own.
- Every request's `Host` must name this server (a DNS-rebinding page cannot borrow the origin).
Tokens are compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

from starlette.requests import Request

COOKIE = "nftbot_review"
HEADER = "x-review-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def _same(given: str | None, token: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), token.encode())


@dataclass(frozen=True)
class Gate:
    token: str
    hosts: frozenset[str]  # acceptable Host header values, e.g. "127.0.0.1:8765"

    def host_ok(self, request: Request) -> bool:
        return request.headers.get("host", "") in self.hosts

    def page_ok(self, request: Request) -> bool:
        return _same(request.cookies.get(COOKIE), self.token) or _same(
            request.headers.get(HEADER), self.token
        )

    def query_token_ok(self, request: Request) -> bool:
        return _same(request.query_params.get("token"), self.token)

    def post_refusal(self, request: Request) -> str | None:
        """Why a state-changing request is refused, or None."""
        if not _same(request.headers.get(HEADER), self.token):
            return "the X-Review-Token header is missing or wrong"
        origin = request.headers.get("origin")
        if origin is not None and origin != f"http://{request.headers.get('host', '')}":
            return f"cross-origin request from {origin}"
        content_type = request.headers.get("content-type", "").split(";")[0].strip()
        if content_type != "application/json":
            return "the body must be JSON"
        return None


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    names = {host}
    if host in ("127.0.0.1", "localhost"):
        names |= {"127.0.0.1", "localhost"}
    return frozenset(f"{name}:{port}" for name in names)
