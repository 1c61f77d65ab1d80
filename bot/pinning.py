"""The configured IPFS pin targets, the frame-pinning hooks, and the daily re-verification.

Commands, pipeline stages and the daemon get their targets here, so the choice (local
blockstore, kubo nodes, pinning services; BOT_IPFS_TARGETS or the one BOT_IPFS_PINNER names)
is made in one place from settings.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.context import AppContext
from bot.settings import Settings
from storage.models.frame import Frame

if TYPE_CHECKING:
    from storage.ipfs.targets import PinTarget
    from storage.ipfs.verify import CidReport, VerifyReport

DEFAULT_TIMEOUT_S = 60.0
DEFAULT_SERVICE_POLL_S = 120.0


def targets_from_settings(
    settings: Settings,
    *,
    timeout_s: float | None = None,
    service_poll_timeout_s: float = DEFAULT_SERVICE_POLL_S,
) -> list[PinTarget]:
    """Every configured pin target, built from settings (raises ValueError on a bad one)."""
    from storage.ipfs.targets import make_targets

    return make_targets(
        settings.pin_target_specs,
        ipfs_dir=settings.ipfs_dir,
        timeout_s=timeout_s or DEFAULT_TIMEOUT_S,
        service_poll_timeout_s=service_poll_timeout_s,
    )


def frame_pin_hook(context: AppContext) -> Callable[[Frame], None] | None:
    """With BOT_IPFS_PIN_FRAMES, every frame is pinned to the required targets as it is written
    (progress-loss protection, as the seed's cloud upload was); otherwise no hook."""
    settings = context.settings
    if not settings.ipfs_pin_frames:
        return None
    from bot.pipeline.frame_pins import make_frame_pin_hook

    return make_frame_pin_hook(
        context.engine,
        targets_from_settings(settings),
        context.blobs,
        profile=settings.cid_profile,
    )


def unpin_frames_hook(context: AppContext) -> Callable[[int], None] | None:
    """With BOT_IPFS_PIN_FRAMES, a listed artwork's frames that were not chosen are unpinned."""
    settings = context.settings
    if not settings.ipfs_pin_frames:
        return None
    from bot.pipeline.frame_pins import unpin_unchosen_frames
    from storage.db import session_scope

    targets = targets_from_settings(settings)

    def on_listed(artwork_id: int) -> None:
        with session_scope(context.engine) as session:
            unpin_unchosen_frames(session, targets, artwork_id)

    return on_listed


def verify_pins_from_settings(
    context: AppContext,
    *,
    gateways: bool = True,
    repair: bool = True,
    on_cid: Callable[[CidReport], None] | None = None,
) -> VerifyReport:
    """`bot pins verify`, as the daemon calls it daily: read every published CID back from each
    target and gateway, check the bytes against the CID (with the pin's recorded profile), and
    re-pin to each target that lost it. Never raises for one CID; see `VerifyReport.ok`."""
    from storage.ipfs.blockstore import LocalBlockstore
    from storage.ipfs.verify import verify_pins

    settings = context.settings
    timeout_s = settings.ipfs_verify_timeout_s
    # A re-pin a service has not finished within the timeout is reported as pending and looked
    # at again next time, so one slow service cannot stretch a daily run over hours.
    targets = targets_from_settings(settings, timeout_s=timeout_s, service_poll_timeout_s=timeout_s)
    return verify_pins(
        context.engine,
        targets,
        blockstore=LocalBlockstore(settings.ipfs_dir),
        gateways=settings.verify_gateways if gateways else (),
        timeout_s=timeout_s,
        repair=repair,
        user_agent=settings.user_agent,
        on_cid=on_cid,
    )
