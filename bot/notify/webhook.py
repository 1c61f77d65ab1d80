"""Sending events to a webhook without ever holding up the pipeline.

`Notifier.notify(event)` only puts the event on a bounded queue and returns at once; one
background thread takes events off the queue, claims each in the `notifications` table (kind +
key: a second process, a re-run or a restart finds the claim and sends nothing) and POSTs it
with a short timeout. A webhook that is down, refuses, redirects or hangs costs at most the
timeout per event on that thread; failures are logged once per streak (the first one with its
reason, the count when it recovers or at close) and never raised. A full queue drops the event
(logged once). `close()` waits at most its timeout for the queue to drain, then gives up.

The URL is a secret (Discord and Slack URLs carry the token in the path): messages name only
its origin. The request carries no credentials but the URL, never follows a redirect, ignores
proxy variables, and connects only to addresses the downloader's guard allows (no link-local,
no private or loopback addresses unless BOT_ALLOW_PRIVATE_ADDRESSES, as in tests).
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.notify.events import Event
from bot.notify.payloads import WebhookFormat, payload
from storage.db import session_scope
from storage.models.notification import Notification, NotificationStatus
from storage.net.addresses import AddressRefused, guarded_pool_classes
from storage.types import utcnow

log = logging.getLogger(__name__)
_ERRNO = re.compile(r"\[Errno -?\d+\] [^'\")\]]+")


class WebhookError(Exception):
    """One failed delivery; the message names the origin, never the whole URL."""


def origin(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    format: WebhookFormat = WebhookFormat.JSON
    timeout_s: float = 5.0
    queue_size: int = 100
    allow_private: bool = False
    user_agent: str = "nftbot"


class WebhookSender:
    """One POST per event; raises WebhookError with the reason."""

    def __init__(self, config: WebhookConfig) -> None:
        self.config = config
        self.origin = origin(config.url)
        self._session = requests.Session()
        self._session.trust_env = False  # a proxy from the environment would bypass the guard
        self._session.headers["User-Agent"] = config.user_agent
        self._session.headers["Content-Type"] = "application/json"
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=1, max_retries=0)
        adapter.poolmanager.pool_classes_by_scheme = guarded_pool_classes(
            allow_private=config.allow_private
        )
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)

    def send(self, event: Event) -> int:
        body = json.dumps(payload(event, self.config.format), ensure_ascii=False).encode()
        timeout = self.config.timeout_s
        try:
            response = self._session.post(
                self.config.url,
                data=body,
                timeout=(timeout, timeout),
                allow_redirects=False,
                stream=True,  # the answer's body is never needed: do not wait for it
            )
        except AddressRefused as exc:
            raise WebhookError(f"{self.origin} refused: {exc.reason}") from None
        except requests.Timeout:
            raise WebhookError(f"no answer from {self.origin} within {timeout:g} s") from None
        except requests.RequestException as exc:
            raise WebhookError(f"{self.origin} unreachable: {_reason(exc)}") from None
        try:
            status = response.status_code
            if 300 <= status < 400:
                raise WebhookError(f"{self.origin} redirected (HTTP {status}); not followed")
            if not 200 <= status < 300:
                raise WebhookError(f"{self.origin} answered HTTP {status}")
            return status
        finally:
            response.close()

    def close(self) -> None:
        self._session.close()


def _reason(exc: Exception) -> str:
    """What went wrong, without the URL (requests puts the whole URL in its messages)."""
    errno = _ERRNO.search(str(exc))
    return f"{type(exc).__name__} ({errno.group(0)})" if errno else type(exc).__name__


class Notifier:
    """The webhook worker. Thread-safe: call `notify` from anywhere; `close` once."""

    def __init__(self, config: WebhookConfig, engine: Engine) -> None:
        self.config = config
        self._engine = engine
        self._sender = WebhookSender(config)
        self._queue: queue.Queue[Event] = queue.Queue(maxsize=config.queue_size)
        self._closing = threading.Event()
        self._abandoned = False  # close() gave up: the worker finishes silently
        self._deadline: float | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.duplicates = 0
        self._streak = 0  # failures since the last success (only the first one is logged)
        self._last_error = ""
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    @property
    def enabled(self) -> bool:
        return True

    def notify(self, event: Event) -> bool:
        """Queue `event`; False when it was dropped (queue full or closing). Never blocks."""
        if self._closing.is_set():
            return False
        try:
            self._queue.put_nowait(event)
            return True
        except queue.Full:
            with self._lock:
                self.dropped += 1
                first = self.dropped == 1
            if first:
                log.warning(
                    "webhook queue full (%d events): dropping new events until it drains",
                    self.config.queue_size,
                )
            return False

    def close(self, timeout_s: float | None = None) -> None:
        """Send what is queued for at most `timeout_s` (default: the webhook timeout), then
        stop; events still queued after that are not sent (and logged as such)."""
        wait = self.config.timeout_s if timeout_s is None else timeout_s
        self._deadline = time.monotonic() + wait
        self._closing.set()
        self._thread.join(wait + 0.5)
        self._abandoned = self._thread.is_alive()
        left = self._queue.qsize() + (1 if self._abandoned else 0)
        if self._streak:
            log.warning(
                "webhook to %s: %d event(s) not delivered (last: %s)",
                self._sender.origin,
                self._streak,
                self._last_error,
            )
        if self.dropped:
            log.warning("webhook: %d event(s) dropped because the queue was full", self.dropped)
        if left:
            log.warning(
                "webhook to %s: gave up after %.1f s with %d event(s) unsent",
                self._sender.origin,
                wait,
                left,
            )
        if not self._thread.is_alive():
            self._sender.close()

    def __enter__(self) -> Notifier:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the worker thread ---------------------------------------------------------------

    def _run(self) -> None:
        while True:
            if self._closing.is_set() and (
                self._queue.empty()
                or (self._deadline is not None and time.monotonic() >= self._deadline)
            ):
                return
            try:
                event = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            try:
                self._deliver(event)
            except Exception as exc:  # the store or anything else: log, never raise
                self._failure(f"{type(exc).__name__}: {exc}")

    def _deliver(self, event: Event) -> None:
        if not self._claim(event):
            self.duplicates += 1
            return
        try:
            self._sender.send(event)
        except WebhookError as exc:
            self._finish(event, NotificationStatus.FAILED, str(exc))
            self._failure(str(exc))
            return
        self._finish(event, NotificationStatus.SENT, None)
        self.sent += 1
        if self._streak:
            log.info(
                "webhook to %s works again after %d failed event(s)",
                self._sender.origin,
                self._streak,
            )
            self._streak = 0

    def _failure(self, reason: str) -> None:
        self.failed += 1
        self._streak += 1
        self._last_error = reason
        if self._streak == 1 and not self._abandoned:
            log.warning(
                "webhook: %s; the event is not retried (further failures are counted until "
                "one succeeds)",
                reason,
            )

    def _claim(self, event: Event) -> bool:
        """Write the ledger row first; False when this event was sent (or tried) before."""
        try:
            with session_scope(self._engine) as session:
                session.add(
                    Notification(
                        kind=event.kind,
                        event_key=event.key,
                        status=NotificationStatus.SENDING.value,
                        summary=event.summary(),
                    )
                )
        except IntegrityError:
            return False
        return True

    def _finish(self, event: Event, status: NotificationStatus, error: str | None) -> None:
        from sqlmodel import select

        with session_scope(self._engine) as session:
            row = session.exec(
                select(Notification).where(
                    Notification.kind == event.kind, Notification.event_key == event.key
                )
            ).first()
            if row is None:
                return
            row.status = status.value
            row.error = error
            if status is NotificationStatus.SENT:
                row.sent_at = utcnow()
            session.add(row)


class NullNotifier:
    """No webhook configured: events go nowhere (and nothing is recorded)."""

    enabled = False
    sent = failed = dropped = duplicates = 0

    def notify(self, event: Event) -> bool:
        return False

    def close(self, timeout_s: float | None = None) -> None:
        return None

    def __enter__(self) -> NullNotifier:
        return self

    def __exit__(self, *exc: object) -> None:
        return None
