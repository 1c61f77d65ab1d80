"""Which network addresses the downloader may connect to (server-side request forgery guard).

A listing's image URI comes from strangers. Without this guard, `https://evil.example/x.png`
redirecting to `http://169.254.169.254/latest/meta-data/` would make the bot read the cloud's
credentials, or poke services on its own LAN. The check runs on the resolved IP at connect
time, for every redirect hop, and the socket connects to exactly the IP that was checked (no
second DNS lookup an attacker could answer differently).

- link-local (169.254.0.0/16, fe80::/10: cloud metadata), multicast, unspecified and reserved
  addresses are always refused;
- loopback and private ranges are refused unless `allow_private` (tests, a LAN gateway).
"""

from __future__ import annotations

import ipaddress
import socket
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


def guarded_pool_classes(*, allow_private: bool) -> dict[str, Any]:
    """urllib3 pool classes whose connections only reach allowed addresses."""

    class _Guard:
        _dns_host: str  # both provided by urllib3's HTTPConnection
        port: int

        def _new_conn(self) -> socket.socket:
            host = self._dns_host
            checked_ip = resolve_allowed(host, self.port, allow_private=allow_private)
            self._dns_host = checked_ip
            try:
                return super()._new_conn()  # type: ignore[misc]
            finally:
                self._dns_host = host  # SNI and the Host header keep the name

    class GuardedHTTPConnection(_Guard, HTTPConnection):
        pass

    class GuardedHTTPSConnection(_Guard, HTTPSConnection):
        pass

    class GuardedHTTPPool(HTTPConnectionPool):
        ConnectionCls = GuardedHTTPConnection

    class GuardedHTTPSPool(HTTPSConnectionPool):
        ConnectionCls = GuardedHTTPSConnection

    return {"http": GuardedHTTPPool, "https": GuardedHTTPSPool}
