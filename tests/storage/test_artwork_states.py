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


def test_a_listed_artwork_never_fails_again() -> None:
    listed = Artwork(listing_id=1, state="listed")
    with pytest.raises(IllegalTransition):
        listed.move_to(ArtworkState.FAILED)
    listed.move_to(ArtworkState.LISTING)  # an expired sell order is replaced: that stays


def _artwork_in(tmp_path, state: ArtworkState):  # type: ignore[no-untyped-def]
    from tests.marketplace.helpers import add_pinned_artwork, new_engine

    engine = new_engine(tmp_path)
    return engine, add_pinned_artwork(engine, 1, state=state)


@pytest.mark.parametrize("state", [ArtworkState.MINTED, ArtworkState.LISTED, ArtworkState.SOLD])
def test_a_failure_of_a_stage_the_artwork_has_passed_changes_nothing(tmp_path, state) -> None:  # type: ignore[no-untyped-def]
    from storage.artworks import record_failure
    from storage.db import session_scope

    engine, artwork_id = _artwork_in(tmp_path, state)
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        assert not record_failure(session, artwork, ArtworkState.MINTING, "already exists")
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None and artwork.state == state.value and artwork.attempts == 0


def test_a_failure_read_before_another_process_listed_it_is_not_recorded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from storage.artworks import record_failure, transition
    from storage.db import session_scope

    engine, artwork_id = _artwork_in(tmp_path, ArtworkState.MINTING)
    with session_scope(engine) as stale:
        artwork = stale.get(Artwork, artwork_id)  # this process reads `minting`...
        assert artwork is not None and artwork.state == "minting"
        with session_scope(engine) as other:  # ...another one mints and lists it meanwhile
            fresh = other.get(Artwork, artwork_id)
            assert fresh is not None
            for target in (ArtworkState.MINTED, ArtworkState.LISTING, ArtworkState.LISTED):
                transition(other, fresh, target)
        assert not record_failure(stale, artwork, ArtworkState.MINTING, "late refusal")
        assert artwork.state == "listed"
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None and artwork.state == "listed" and artwork.error is None


def test_a_transition_from_a_state_read_before_another_process_moved_it_is_refused(
    tmp_path,
) -> None:  # type: ignore[no-untyped-def]
    from storage.artworks import StaleState, transition
    from storage.db import session_scope
    from storage.models import ArtworkEvent

    engine, artwork_id = _artwork_in(tmp_path, ArtworkState.MINTED)
    with (
        pytest.raises(StaleState, match="another process moved it from minted"),
        session_scope(engine) as stale,
    ):
        artwork = stale.get(Artwork, artwork_id)
        assert artwork is not None
        with session_scope(engine) as other:
            fresh = other.get(Artwork, artwork_id)
            assert fresh is not None
            transition(other, fresh, ArtworkState.LISTING)
            transition(other, fresh, ArtworkState.LISTED)
        transition(stale, artwork, ArtworkState.LISTING)  # from its stale `minted`
    with session_scope(engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None and artwork.state == "listed"
        events = session.exec(__import__("sqlmodel").select(ArtworkEvent)).all()
        assert [e.to_state for e in events] == ["listing", "listed"]
