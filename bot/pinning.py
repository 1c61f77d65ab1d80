"""The configured IPFS pinner, and the frame-pinning hooks wired to `BOT_IPFS_PIN_FRAMES`.

Commands and pipeline stages get their pinner here, so the choice (local blockstore, kubo,
pinning service) is made in one place from settings.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.context import AppContext
from bot.settings import Settings
from storage.ipfs.pinner import Pinner
from storage.models.frame import Frame


def pinner_from_settings(settings: Settings, kind: str | None = None) -> Pinner:
    """The configured pinner (or `kind`), built from settings."""
    from storage.ipfs.factory import make_pinner

    token = settings.pinning_service_token
    return make_pinner(
        kind or settings.ipfs_pinner.value,
        ipfs_dir=settings.ipfs_dir,
        api_url=settings.ipfs_api_url,
        service_url=settings.pinning_service_url,
        service_token=token.get_secret_value() if token else None,
        provide_via_kubo=settings.ipfs_provide_via_kubo,
    )


def frame_pin_hook(context: AppContext) -> Callable[[Frame], None] | None:
    """With BOT_IPFS_PIN_FRAMES, every frame is pinned as it is written (progress-loss
    protection, as the seed's cloud upload was); otherwise no hook."""
    settings = context.settings
    if not settings.ipfs_pin_frames:
        return None
    from bot.pipeline.frame_pins import make_frame_pin_hook

    return make_frame_pin_hook(
        context.engine,
        pinner_from_settings(settings),
        context.blobs,
        cid_version=settings.ipfs_cid_version,
    )


def unpin_frames_hook(context: AppContext) -> Callable[[int], None] | None:
    """With BOT_IPFS_PIN_FRAMES, a listed artwork's frames that were not chosen are unpinned."""
    settings = context.settings
    if not settings.ipfs_pin_frames:
        return None
    from bot.pipeline.frame_pins import unpin_unchosen_frames
    from storage.db import session_scope

    pinner = pinner_from_settings(settings)

    def on_listed(artwork_id: int) -> None:
        with session_scope(context.engine) as session:
            unpin_unchosen_frames(session, pinner, artwork_id)

    return on_listed
