"""What a pipeline pass needs, passed in: the app context, the worker's lease id, how to show
progress, a stop flag, hooks, and the resources stages build once and reuse (the pinner, the
publisher with its unlocked wallet, the generator's models)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from sqlalchemy.engine import Engine

from bot.context import AppContext
from bot.pipeline.retry import FailedArtwork, RetryPolicy
from bot.settings import Settings
from storage.leases import new_owner_id

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from bot.notify.webhook import Notifier, NullNotifier

T = TypeVar("T")


class Tracker(Protocol):
    """One piece of long work in progress: `advance(n)` after n more items are done."""

    def advance(self, n: int = 1) -> None: ...


ProgressFactory = Callable[[str, int | None], AbstractContextManager[Tracker]]


class _Silent:
    def advance(self, n: int = 1) -> None:
        pass


@contextmanager
def silent_progress(description: str, total: int | None) -> Iterator[Tracker]:
    """No progress display (tests, library use); the CLI passes bot.cli.progress.progress."""
    yield _Silent()


class StageUnavailable(Exception):
    """A stage cannot run with this configuration (no weights, no wallet, ...): the message
    says what is missing and how to provide it. Reported once; the other stages go on."""


@dataclass
class PipelineContext:
    app: AppContext
    owner: str = field(default_factory=new_owner_id)  # this worker's lease id
    progress: ProgressFactory = silent_progress
    stop: threading.Event = field(default_factory=threading.Event)
    # Told about artworks parked as failed, sales and new highest bids (bot/notify); None or
    # a NullNotifier when no webhook is configured.
    notifier: Notifier | NullNotifier | None = None
    # Called with each artwork parked as failed (after it is committed), after the notifier.
    on_parked: list[Callable[[FailedArtwork], None]] = field(default_factory=list)
    # Said once to whoever runs the pipeline (e.g. that the images come from untrained
    # smoke-test models): `bot run` prints them loudly after the cycle.
    notices: list[str] = field(default_factory=list)
    _resources: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def settings(self) -> Settings:
        return self.app.settings

    @property
    def engine(self) -> Engine:
        return self.app.engine

    @property
    def policy(self) -> RetryPolicy:
        settings = self.app.settings
        return RetryPolicy(
            max_attempts=settings.retry_max_attempts,
            backoff_s=settings.retry_backoff_s,
            backoff_max_s=settings.retry_backoff_max_s,
        )

    def close_resources(self) -> None:
        """Free what the resources hold (a Ray executor's actors and cluster); each is built
        again if the context is used afterwards. A failing close is logged, never raised."""
        with self._lock:
            resources, self._resources = self._resources, {}
        for name, resource in resources.items():
            close = getattr(resource, "close", None)
            if callable(close):
                try:
                    close()
                except Exception:
                    log.exception("closing the pipeline's %s failed", name)

    def resource(self, name: str, build: Callable[[], T]) -> T:
        """Build a resource once per context (the daemon keeps one context, so the models are
        loaded and the wallet unlocked once). A build that raises is tried again next time."""
        with self._lock:
            if name not in self._resources:
                self._resources[name] = build()
            return self._resources[name]  # type: ignore[no-any-return]
