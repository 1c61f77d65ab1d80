"""The HTTP policy every source shares: polite, bounded, and honest about failures.

- a token bucket per host (rate and burst configurable), so no marketplace sees more than
  `rate_per_second` requests per second from us however many collections run at once;
- one concurrency limit over all hosts;
- connect/read timeouts on every request, and a total deadline per attempt (a server that
  drips one byte at a time cannot hold a run), a cap on the decoded body (an endless body or
  a gzip bomb stops at the cap), JSON parsed with a bounded depth, and redirects that never
  carry the API key to another origin nor reach link-local/private addresses
  (storage/net/bounded.py, storage/net/safe_json.py);
- retries with exponential backoff and jitter on 429, 5xx, timeouts, dropped connections and
  truncated JSON; a `Retry-After` header wins over our own backoff and pauses the whole host
  (every thread), not only the request that got it;
- a clear `ApiKeyMissing`/`ApiKeyRejected` error instead of a bare 401/403;
- a descriptive User-Agent.

Only reads go through here: retrying them is always safe.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from scraper.errors import (
    ApiKeyMissing,
    ApiKeyRejected,
    HttpStatusError,
    MalformedResponse,
    RateLimited,
    RefusedResponse,
    TransientError,
)
from storage.net import safe_json
from storage.net.bounded import (
    BoundedHttp,
    DeadlineExceeded,
    HttpLimits,
    RedirectRefused,
    ResponseTooLarge,
)

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HttpPolicy:
    rate_per_second: float = 2.0
    burst: int = 1  # requests allowed back to back before the rate applies
    concurrency: int = 4
    timeout_s: float = 30.0
    max_attempts: int = 6  # first try included
    backoff_base_s: float = 1.0
    backoff_cap_s: float = 60.0
    jitter: float = 0.5  # the delay is drawn from [d * (1 - jitter), d]
    max_retry_after_s: float = 300.0  # a longer wait ends the run; the cursor keeps the place
    user_agent: str = "nftbot/0.1"
    deadline_s: float = 120.0  # one attempt, all of it: connect, redirects, headers, body
    max_body_bytes: int = 32 * 2**20  # decoded JSON body of one answer


@dataclass(frozen=True)
class ApiAuth:
    """How one API authenticates, and what to tell the operator when it fails."""

    service: str
    setting: str  # the env variable that holds the key
    register_url: str
    key: str | None
    header: str = "X-API-KEY"

    def headers(self) -> dict[str, str]:
        if not self.key:
            raise ApiKeyMissing(self.service, self.setting, self.register_url)
        return {self.header: self.key}


class TokenBucket:
    """Thread-safe token bucket: at most `burst + rate * t` acquisitions in any interval t."""

    def __init__(
        self,
        rate_per_second: float,
        burst: int = 1,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_second <= 0:
            raise ValueError("rate_per_second must be positive")
        self.rate = rate_per_second
        self.capacity = float(max(1, burst))
        self._tokens = self.capacity
        self._clock, self._sleep = clock, sleep
        self._updated = clock()
        self._paused_until = 0.0
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed. Returns the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if now < self._paused_until:
                    wait = self._paused_until - now
                else:
                    self._tokens = min(
                        self.capacity, self._tokens + (now - self._updated) * self.rate
                    )
                    self._updated = now
                    # The epsilon stops float rounding (0.9999999...) from looping on waits
                    # too small to move the clock.
                    if self._tokens >= 1.0 - 1e-9:
                        self._tokens = max(0.0, self._tokens - 1.0)
                        return waited
                    wait = (1.0 - self._tokens) / self.rate
            self._sleep(wait)
            waited += wait

    def pause_until(self, deadline: float) -> None:
        """Nobody takes a token before `deadline` (the server said Retry-After)."""
        with self._lock:
            if deadline > self._paused_until:
                self._paused_until = deadline
                self._tokens = 0.0  # after the pause, restart slowly rather than in a burst
                self._updated = deadline


class HostRateLimiter:
    """One TokenBucket per host, made on first use."""

    def __init__(self, rate_per_second: float, burst: int = 1) -> None:
        self.rate, self.burst = rate_per_second, burst
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, url: str) -> TokenBucket:
        host = (urlsplit(url).hostname or "").lower()
        port = urlsplit(url).port
        key = f"{host}:{port}" if port else host
        with self._lock:
            if key not in self._buckets:
                self._buckets[key] = TokenBucket(self.rate, self.burst)
            return self._buckets[key]

    def acquire(self, url: str) -> float:
        """Take a token for `url`'s host (see TokenBucket.acquire)."""
        return self.bucket(url).acquire()


@dataclass
class HttpStats:
    requests: int = 0
    retries: int = 0
    rate_wait_s: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, *, requests: int = 0, retries: int = 0, rate_wait_s: float = 0.0) -> None:
        with self._lock:
            self.requests += requests
            self.retries += retries
            self.rate_wait_s += rate_wait_s


class HttpClient:
    """A JSON client for marketplace APIs. Thread-safe; share one per process."""

    def __init__(
        self,
        policy: HttpPolicy,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.limiter = HostRateLimiter(policy.rate_per_second, policy.burst)
        self.stats = HttpStats()
        self._slots = threading.BoundedSemaphore(policy.concurrency)
        self._sleep = sleep
        self._rng = rng or random.Random()
        # Keep-alive connections for every concurrent slot, not urllib3's default of 10 shared.
        self.http = BoundedHttp(
            HttpLimits(
                timeout_s=policy.timeout_s,
                deadline_s=policy.deadline_s,
                max_body_bytes=policy.max_body_bytes,
            ),
            user_agent=policy.user_agent,
            accept="application/json",
            pool_size=max(10, policy.concurrency),
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def get_json(
        self,
        url: str,
        params: Mapping[str, Any] | None = None,
        *,
        auth: ApiAuth | None = None,
    ) -> Any:
        return self.request_json("GET", url, params=params, auth=auth)

    def request_json(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        auth: ApiAuth | None = None,
    ) -> Any:
        """Send a read request and return the decoded JSON, retrying what is worth retrying."""
        credentials = auth.headers() if auth else {}  # a missing key fails before any request
        bucket = self.limiter.bucket(url)
        last_problem = ""
        for attempt in range(1, self.policy.max_attempts + 1):
            self.stats.add(rate_wait_s=bucket.acquire())
            retry_after: float | None = None
            try:
                with self._slots:
                    self.stats.add(requests=1)
                    # The read happens inside the slot: it is the slow part.
                    answer, body = self.http.request(
                        method, url, params=params, json_body=json_body, credentials=credentials
                    )
            except (ResponseTooLarge, RedirectRefused) as exc:
                raise RefusedResponse(url, exc.reason) from None  # the same again next time
            except (DeadlineExceeded, requests.Timeout, requests.ConnectionError) as exc:
                last_problem = f"{type(exc).__name__}: {exc}"
            else:
                status = answer.status
                if status in (401, 403) and auth is not None and answer.credentials_sent:
                    raise ApiKeyRejected(auth.service, auth.setting, status, url)
                if status in RETRY_STATUSES:
                    last_problem = f"HTTP {status}"
                    retry_after = parse_retry_after(answer.headers.get("Retry-After"))
                elif status >= 400:
                    raise HttpStatusError(answer.url, status, body.decode("utf-8", "replace"))
                else:
                    self._respect_quota(bucket, answer.headers)
                    try:
                        return safe_json.loads(body, source=url)
                    except safe_json.JsonTooDeep as exc:
                        raise RefusedResponse(url, exc.reason) from None
                    except safe_json.UnsafeJson as exc:
                        # A truncated body is usually a dropped connection: worth a retry.
                        last_problem = exc.reason
                        if attempt == self.policy.max_attempts:
                            raise MalformedResponse(url, exc.reason) from None
            if attempt == self.policy.max_attempts:
                break
            delay = self._delay(attempt, retry_after, url)
            if retry_after is not None:
                bucket.pause_until(time.monotonic() + delay)
            log.info("retrying %s in %.2fs (attempt %d): %s", url, delay, attempt, last_problem)
            self.stats.add(retries=1)
            self._sleep(delay)
        raise TransientError(
            f"{method} {url} failed after {self.policy.max_attempts} attempts: {last_problem}"
        )

    def _respect_quota(self, bucket: TokenBucket, headers: Mapping[str, str]) -> None:
        """An exhausted quota (`X-RateLimit-Remaining: 0`, as OpenSea sends) pauses the host
        until `X-RateLimit-Reset` (seconds from now, or a unix time) instead of earning a 429."""
        if headers.get("X-RateLimit-Remaining", "").strip() != "0":
            return
        try:
            reset = float(headers.get("X-RateLimit-Reset", "1"))
        except ValueError:
            reset = 1.0
        wait = reset - time.time() if reset > 1_000_000_000 else reset
        bucket.pause_until(time.monotonic() + min(max(wait, 0.0), self.policy.max_retry_after_s))

    def _delay(self, attempt: int, retry_after: float | None, url: str) -> float:
        if retry_after is not None:
            if retry_after > self.policy.max_retry_after_s:
                raise RateLimited(
                    f"{url} asked us to wait {retry_after:.0f}s (Retry-After), more than "
                    f"the {self.policy.max_retry_after_s:.0f}s we wait in one run; "
                    "the next run resumes from the stored cursor"
                )
            return retry_after
        return backoff_delay(attempt, self.policy, self._rng)


def backoff_delay(attempt: int, policy: HttpPolicy, rng: random.Random) -> float:
    """Exponential backoff with jitter: base * 2^(attempt-1), capped, then shrunk at random
    so that many clients that failed together do not come back together."""
    ceiling = min(policy.backoff_cap_s, policy.backoff_base_s * 2 ** (attempt - 1))
    return ceiling * (1.0 - policy.jitter * rng.random())


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())
