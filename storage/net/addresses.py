"""Which network addresses a connection may reach (server-side request forgery guard).

Used by the image downloader on every hop, and by the API clients on redirect hops to
another origin (storage/net/bounded.py). A listing's image URI comes from strangers.
Without this guard, `https://evil.example/x.png` redirecting to
`http://169.254.169.254/latest/meta-data/` would make the bot read the cloud's credentials,
or poke services on its own LAN. The check runs on the resolved IP at connect
time, for every redirect hop, and the socket connects to exactly the IP that was checked (no
second DNS lookup an attacker could answer differently).

- link-local (169.254.0.0/16, fe80::/10: cloud metadata), multicast, unspecified and reserved
  addresses are always refused;
- loopback and private ranges are refused unless `allow_private` (tests, a LAN gateway).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import Any

from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class AddressRefused(Exception):
    """Raised inside the connection; the downloader turns it into DownloadRefused."""

    def __init__(self, host: str, reason: str) -> None:
        self.host, self.reason = host, reason
        super().__init__(f"{host}: {reason}")


def address_problem(ip: IPAddress, *, allow_private: bool) -> str | None:
    """Why we must not connect to `ip`, or None when it is fine."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_link_local:
        return f"{ip} is a link-local address (cloud metadata range); never fetched"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return f"{ip} is not a unicast host address"
    if ip.is_loopback and not allow_private:
        return f"{ip} is a loopback address (set BOT_ALLOW_PRIVATE_ADDRESSES to allow)"
    if not ip.is_global and not ip.is_loopback and not allow_private:
        return f"{ip} is a private address (set BOT_ALLOW_PRIVATE_ADDRESSES to allow)"
    return None


def resolve_allowed(host: str, port: int, *, allow_private: bool) -> str:
    """Resolve `host` and return the first address we may connect to."""
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        literal = None
    if literal is not None:
        candidates = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise AddressRefused(host, f"cannot resolve: {exc}") from None
        candidates = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    problems = []
    for ip in candidates:
        problem = address_problem(ip, allow_private=allow_private)
        if problem is None:
            return str(ip)
        problems.append(problem)
    raise AddressRefused(host, "; ".join(dict.fromkeys(problems)))


def guarded_pool_classes(
    *, allow_private: bool | None, on_socket: Callable[[socket.socket], None] | None = None
) -> dict[str, Any]:
    """urllib3 pool classes for an HTTPAdapter's pool manager.

    `allow_private`: None connects anywhere (the operator's configured API); True/False checks
    every new connection with `resolve_allowed`. `on_socket` sees every socket a request uses
    (new or pooled), so a watchdog can shut it down at a deadline (storage/net/bounded.py).
    """

    class _Guard:
        _dns_host: str  # both provided by urllib3's HTTPConnection
        port: int
        _raw_sock: socket.socket | None = None

        def _new_conn(self) -> socket.socket:
            host = self._dns_host
            if allow_private is not None:
                self._dns_host = resolve_allowed(host, self.port, allow_private=allow_private)
            try:
                sock: socket.socket = super()._new_conn()  # type: ignore[misc]
            finally:
                self._dns_host = host  # SNI and the Host header keep the name
            self._raw_sock = sock  # the plain socket under any TLS wrapper
            if on_socket is not None:
                on_socket(sock)
            return sock

        def request(self, *args: Any, **kwargs: Any) -> Any:
            if on_socket is not None and self._raw_sock is not None:
                on_socket(self._raw_sock)  # a pooled connection, reused for this request
            return super().request(*args, **kwargs)  # type: ignore[misc]

    class GuardedHTTPConnection(_Guard, HTTPConnection):
        pass

    class GuardedHTTPSConnection(_Guard, HTTPSConnection):
        pass

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
