"""HTTP plumbing shared by the kubo and pinning-service clients: retries with backoff.

Only requests that are safe to repeat are retried (reads, and content-addressed adds, which
give the same CID however often they run). The caller decides that per call.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from storage.ipfs.pinner import IpfsError, TargetUnreachable
from storage.net import safe_json

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})


@dataclass
class RetryPolicy:
    attempts: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)

    def delay(self, attempt: int, response: requests.Response | None) -> float:
        if response is not None and response.headers.get("Retry-After", "").isdigit():
            return min(float(response.headers["Retry-After"]), self.max_backoff_s)
        return min(self.backoff_s * (2**attempt), self.max_backoff_s)


def send(
    session: requests.Session,
    method: str,
    url: str,
    *,
    retry: bool,
    policy: RetryPolicy,
    cid: str | None,
    retry_statuses: frozenset[int] = RETRYABLE_STATUS,
    body_factory: Callable[[], Any] | None = None,
    **kwargs: Any,
) -> requests.Response:
    """Send once, or up to `policy.attempts` times when `retry`; errors name cid and url."""
    attempts = policy.attempts if retry else 1
    last_error = "no attempt made"
    for attempt in range(attempts):
        if body_factory is not None:
            kwargs["data"] = body_factory()
        response: requests.Response | None = None
        try:
            response = session.request(method, url, **kwargs)
        except (requests.ConnectionError, requests.Timeout) as exc:
            last_error = f"{type(exc).__name__}: {exc}"
        else:
            if response.status_code not in retry_statuses:
                return response
            last_error = f"HTTP {response.status_code}: {response.text[:200]}"
        if attempt + 1 < attempts:
            policy.sleep(policy.delay(attempt, response))
    raise TargetUnreachable(
        f"{method} failed after {attempts} attempt(s): {last_error}", cid=cid, endpoint=url
    )


def json_of(response: requests.Response, *, cid: str | None = None) -> Any:
    """The response's JSON body, depth-checked (storage/net/safe_json.py); errors name the
    CID and the endpoint."""
    try:
        return safe_json.loads(response.content, source=response.url)
    except safe_json.UnsafeJson as exc:
        raise IpfsError(str(exc), cid=cid, endpoint=response.url) from None


def json_of_line(line: bytes, *, cid: str | None, endpoint: str) -> Any:
    """One line of an NDJSON answer (kubo's `add`), depth-checked like `json_of`."""
    try:
        return safe_json.loads(line, source=endpoint)
    except safe_json.UnsafeJson as exc:
        raise IpfsError(str(exc), cid=cid, endpoint=endpoint) from None
