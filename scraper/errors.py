"""Errors of the scraper. Each names the item or URL and the reason, so a log line is enough.

`TransientError`s are worth another run later (the cursor keeps the place); the others need a
person (a key, a configuration) or mean the data itself is bad.
"""

from __future__ import annotations


class ScrapeError(Exception):
    """Base class of everything the scraper raises on purpose."""


class ConfigurationError(ScrapeError):
    """Settings or rules are missing or invalid."""


class ApiKeyMissing(ConfigurationError):
    def __init__(self, service: str, setting: str, where: str) -> None:
        super().__init__(f"{service} needs an API key: set {setting} (get one at {where})")


class ApiKeyRejected(ConfigurationError):
    def __init__(self, service: str, setting: str, status: int, url: str) -> None:
        super().__init__(
            f"{service} rejected the API key (HTTP {status} for {url}): check {setting}"
        )


class TransientError(ScrapeError):
    """The remote side failed in a way that may pass: 429/5xx after all retries, timeouts."""


class RateLimited(TransientError):
    """The server asked us to wait longer than we are willing to in one run."""


class HttpStatusError(ScrapeError):
    def __init__(self, url: str, status: int, body: str) -> None:
        self.url, self.status = url, status
        super().__init__(f"HTTP {status} from {url}: {body[:200]!r}")


class MalformedResponse(TransientError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        super().__init__(f"malformed response from {url}: {reason}")


class RefusedResponse(ScrapeError):
    """An answer we will not use: too large, nested too deeply, or redirected somewhere we do
    not go. Not transient: the same request would get the same answer."""

    def __init__(self, url: str, reason: str) -> None:
        self.url, self.reason = url, reason
        super().__init__(f"response from {url} refused: {reason}")


class ItemError(ScrapeError):
    """One item of a page could not be normalised; the rest of the page goes on."""

    def __init__(self, item: str, reason: str) -> None:
        self.item, self.reason = item, reason
        super().__init__(f"{item}: {reason}")


class DownloadRefused(ScrapeError):
    """An image was not stored: too big, not an image, a pixel bomb, a forbidden address..."""

    def __init__(self, uri: str, reason: str) -> None:
        self.uri, self.reason = uri, reason
        super().__init__(f"image {_short(uri)} refused: {reason}")


def _short(uri: str) -> str:
    return uri if len(uri) <= 120 else uri[:100] + "…" + uri[-10:]
