"""One HTTP exchange with hard bounds, for every client that talks to servers we do not control.

- **A total deadline.** Connect and read timeouts only bound each socket operation: a server
  that sends one byte every two seconds never trips a 30 s read timeout and holds the caller
  forever (headers can be dripped too, before any of our code runs). So every exchange has a
  watchdog timer; at the deadline it shuts down the sockets the exchange uses, which ends any
  blocked read at once, and the exchange raises `DeadlineExceeded`.
- **A cap on the body after decompression.** The body is streamed and the *decoded* bytes are
  counted (urllib3 decompresses in bounded steps), so an endless body or a gzip bomb stops at
  the cap with `ResponseTooLarge` instead of filling memory.
- **Redirects followed by hand.** Credentials (API keys, bearer tokens) go only to the origin
  the caller asked for: after a hop to another origin (scheme, host or port differ) they are
  never sent again. Hops to another origin also pass the address guard
  (storage/net/addresses.py): never link-local (cloud metadata), and loopback/private only when
  the configured URL itself is loopback/private (tests, a LAN node) or the caller allows it.
  `guard_all_hops` applies the guard to the first request too (the image downloader: every URL
  there comes from strangers).

Used by the scraper's API client, the Rarible client and the image downloader.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from storage.net.addresses import AddressRefused, address_problem, guarded_pool_classes

_CHUNK = 64 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class HttpLimits:
    timeout_s: float = 30.0  # each connect and each read
    deadline_s: float = 120.0  # the whole exchange: every hop, headers and body
    max_body_bytes: int = 32 * 2**20  # decoded (decompressed) body
    max_redirects: int = 5

    def __post_init__(self) -> None:
        if not (self.timeout_s > 0 and self.deadline_s > 0 and self.max_body_bytes > 0):
            raise ValueError(f"HTTP limits must be positive: {self}")


class HttpLimitError(Exception):
    """A bound was hit; `url` is the hop it happened on and `reason` says which bound."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"{_path_only(url)}: {reason}")


class DeadlineExceeded(HttpLimitError):
    pass


class ResponseTooLarge(HttpLimitError):
    pass


class RedirectRefused(HttpLimitError):
    """A redirect to a non-HTTP URL, too many redirects, or a forbidden address."""


class _Watch:
    """Shuts down every registered socket when the deadline passes."""

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def add(self, sock: socket.socket) -> None:
        with self._lock:
            if self.expired:
                _shutdown(sock)
            elif sock not in self._sockets:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)

    def passed(self) -> bool:
        return self.expired or time.monotonic() >= self.deadline

    def cancel(self) -> None:
        self._timer.cancel()


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # wakes a blocked recv; the pool drops the connection
        sock.shutdown(socket.SHUT_RDWR)


class Exchange:
    """The final response of a request (redirects followed), read under the same deadline."""

    def __init__(
        self, response: requests.Response, url: str, credentials_sent: bool, watch: _Watch
    ) -> None:
        self.response = response
        self.url = url  # the URL that answered (after redirects)
        self.credentials_sent = credentials_sent  # False once a hop left the first origin
        self._watch = watch

    @property
    def status(self) -> int:
        return self.response.status_code

    @property
    def headers(self) -> Mapping[str, str]:
        return self.response.headers

    def read(self, max_bytes: int) -> bytes:
        """The decoded body, refused past `max_bytes` (declared or actual) or the deadline."""
        declared = self.response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > max_bytes:
            raise ResponseTooLarge(
                self.url, f"Content-Length {int(declared)} is over the {max_bytes}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in self.response.iter_content(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise ResponseTooLarge(
                        self.url, f"body is over the {max_bytes}-byte cap; stopped reading"
                    )
                if self._watch.passed():
                    break
                chunks.append(chunk)
        except requests.RequestException:
            if self._watch.passed():
                raise self._deadline() from None
            raise
        # A shut-down socket looks like the end of a body without Content-Length: check.
        if self._watch.passed():
            raise self._deadline()
        return b"".join(chunks)

    def _deadline(self) -> DeadlineExceeded:
        return DeadlineExceeded(
            self.url, f"no complete answer within the {self._watch.seconds:g} s deadline"
        )


class BoundedHttp:
    """Sessions and limits for bounded exchanges. Thread-safe; share one per client."""

    def __init__(
        self,
        limits: HttpLimits,
        *,
        user_agent: str | None = None,
        accept: str | None = None,
        allow_private: bool | None = None,
        guard_all_hops: bool = False,
        pool_size: int = 10,
        trust_env: bool = True,
    ) -> None:
        """`allow_private`: None decides per request from the first URL's address (a private
        or loopback API may redirect within private addresses, a public one may not).
        `guard_all_hops`: check the first URL's address too (with `allow_private`, or False
        when it is None)."""
        self.limits = limits
        self.allow_private = allow_private
        self.guard_all_hops = guard_all_hops
        self._pool_size = pool_size
        self._local = threading.local()
        self._headers = {
            name: value
            for name, value in (("User-Agent", user_agent), ("Accept", accept))
            if value is not None
        }
        first_guard = bool(allow_private) if guard_all_hops else None
        self._first = self._session(first_guard, trust_env=trust_env and not guard_all_hops)
        self._guarded: dict[bool, requests.Session] = {}
        self._private_hosts: dict[str, bool] = {}
        self._lock = threading.Lock()

    def _session(self, allow_private: bool | None, *, trust_env: bool) -> requests.Session:
        session = requests.Session()
        # A proxy from the environment would be the only address the guard sees.
        session.trust_env = trust_env
        session.headers.update(self._headers)
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=self._pool_size, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = guarded_pool_classes(
            allow_private=allow_private, on_socket=self._on_socket
        )
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def _on_socket(self, sock: socket.socket) -> None:
        watch: _Watch | None = getattr(self._local, "watch", None)
        if watch is not None:
            watch.add(sock)

    def _guarded_session(self, first_url: str) -> requests.Session:
        allow = self.allow_private
        if allow is None:
            allow = self._is_private(first_url)
        with self._lock:
            if allow not in self._guarded:
                self._guarded[allow] = self._session(allow, trust_env=False)
            return self._guarded[allow]

    def _is_private(self, url: str) -> bool:
        """Whether the configured (first) URL is itself on a loopback or private address."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        with self._lock:
            if host in self._private_hosts:
                return self._private_hosts[host]
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
            except OSError:
                infos = []
            addresses = [ipaddress.ip_address(str(i[4][0]).split("%")[0]) for i in infos]
        private = any(
            address_problem(ip, allow_private=False) is not None
            and address_problem(ip, allow_private=True) is None
            for ip in addresses
        )
        with self._lock:
            self._private_hosts[host] = private
        return private

    def close(self) -> None:
        for session in (self._first, *self._guarded.values()):
            session.close()

    @contextmanager
    def exchange(
        self,
        method: str,
        url: str,
        *,
        params: Any = None,
        headers: Mapping[str, str] | None = None,
        credentials: Mapping[str, str] | None = None,
        json_body: Any = None,
        before_hop: Callable[[str], object] | None = None,
    ) -> Iterator[Exchange]:
        """Send `method url`, follow redirects safely, and yield the final response; reading
        its body (`Exchange.read`) happens under the same deadline. `credentials` are headers
        sent only to the first URL's origin. `before_hop(url)` runs before every hop (a rate
        limiter)."""
        watch = _Watch(self.limits.deadline_s)
        self._local.watch = watch
        response: requests.Response | None = None
        try:
            response, final_url, sent = self._follow(
                method, url, params, headers, credentials, json_body, before_hop, watch
            )
            yield Exchange(response, final_url, sent, watch)
        finally:
            watch.cancel()
            self._local.watch = None
            if response is not None:
                response.close()

    def request(
        self,
        method: str,
        url: str,
        *,
        max_bytes: int | None = None,
        **kwargs: Any,
    ) -> tuple[Exchange, bytes]:
        """`exchange` and read the whole body (capped at `max_bytes` or the limits' cap)."""
        with self.exchange(method, url, **kwargs) as answer:
            body = answer.read(max_bytes or self.limits.max_body_bytes)
        return answer, body

    def _follow(
        self,
        method: str,
        url: str,
        params: Any,
        headers: Mapping[str, str] | None,
        credentials: Mapping[str, str] | None,
        json_body: Any,
        before_hop: Callable[[str], object] | None,
        watch: _Watch,
    ) -> tuple[requests.Response, str, bool]:
        first_url = url
        origin = _origin(url)
        session = self._first
        send_credentials = True
        for _hop in range(self.limits.max_redirects + 1):
            if before_hop is not None:
                before_hop(url)
            if watch.passed():
                raise DeadlineExceeded(url, f"the {watch.seconds:g} s deadline passed")
            hop_headers = dict(headers or {})
            if send_credentials and credentials:
                hop_headers.update(credentials)
            try:
                response = session.request(
                    method,
                    url,
                    params=params,
                    json=json_body,
                    headers=hop_headers,
                    timeout=self.limits.timeout_s,
                    allow_redirects=False,
                    stream=True,
                )
            except AddressRefused as exc:
                raise RedirectRefused(url, f"address refused: {exc.reason}") from None
            except requests.RequestException:
                if watch.passed():
                    raise DeadlineExceeded(
                        url, f"no answer within the {watch.seconds:g} s deadline"
                    ) from None
                raise
            if not response.is_redirect:
                return response, url, send_credentials
            location = response.headers.get("Location", "")
            next_url = urljoin(response.url, location)
            response.close()
            if urlsplit(next_url).scheme.lower() not in ("http", "https"):
                raise RedirectRefused(url, f"redirect to a non-HTTP URL {_path_only(next_url)!r}")
            if response.status_code == 303 or (
                response.status_code in (301, 302) and method.upper() == "POST"
            ):
                method, json_body = "GET", None  # what browsers and requests do
            params = None  # the Location is the whole next URL
            if send_credentials and _origin(next_url) != origin:
                send_credentials = False  # never again in this chain, even back at origin
                session = self._guarded_session(first_url)
            url = next_url
        raise RedirectRefused(url, f"more than {self.limits.max_redirects} redirects")


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def _path_only(url: str) -> str:
    """scheme://host/path without the query string (queries may carry tokens)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"
