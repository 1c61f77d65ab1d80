from __future__ import annotations

import pytest

from storage.models import PIPELINE_ORDER, Artwork, ArtworkState, IllegalTransition


def test_forward_path_is_allowed_one_step_at_a_time() -> None:
    artwork = Artwork(listing_id=1)
    for target in PIPELINE_ORDER[1:]:
        artwork.move_to(target)
    assert artwork.state == "sold"


def test_skipping_a_stage_is_refused() -> None:
    artwork = Artwork(listing_id=1)
    with pytest.raises(IllegalTransition):
        artwork.move_to(ArtworkState.MINTED)


def test_failure_records_stage_and_retry_goes_back() -> None:
    artwork = Artwork(listing_id=1, state="chosen")
    artwork.fail(ArtworkState.PINNED, "node down")
    assert (artwork.state, artwork.failed_stage, artwork.attempts) == ("failed", "pinned", 1)
    artwork.move_to(ArtworkState.CHOSEN)
    assert artwork.failed_stage is None and artwork.error is None


def test_rejection_keeps_its_reason_and_sold_is_final() -> None:
    artwork = Artwork(listing_id=1)
    artwork.move_to(ArtworkState.REJECTED, reason="nsfw")
    assert artwork.reason == "nsfw"
    sold = Artwork(listing_id=2, state="sold")
    with pytest.raises(IllegalTransition):
        sold.move_to(ArtworkState.FAILED)
