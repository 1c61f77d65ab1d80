"""The one loop (bot/pipeline/runner.py) with the real prepare stage and with test stages
that fail on purpose: retries with exponential backoff, parking after the limit, `bot failed`
and `bot retry`, unavailable stages skipped, one artwork's bug kept on that artwork, leases
released."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import update
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.context import AppContext
from bot.pipeline.context import PipelineContext, StageUnavailable, Tracker
from bot.pipeline.retry import RetryPolicy, failed_artworks
from bot.pipeline.runner import run_pass, run_stage
from bot.pipeline.stages import PrepareStage, Stage
from bot.settings import load_settings
from storage.artworks import record_failure, transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkEvent, ArtworkState, Listing
from storage.types import utcnow

S = ArtworkState
runner = CliRunner()


class Flaky(Stage):
    """candidate → prepared, failing the first `failures` attempts of each artwork."""

    name = "flaky"
    entry = (S.CANDIDATE,)
    failed_as = S.PREPARED
    failures: ClassVar[int] = 2
    calls: ClassVar[list[int]] = []

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        type(self).calls.append(artwork_id)
        with session_scope(ctx.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            assert artwork is not None and artwork.state == S.CANDIDATE.value
            assert artwork.claim_owner == ctx.owner  # worked on under this worker's lease
            if artwork.attempts < self.failures:
                record_failure(session, artwork, S.PREPARED, f"flaky {artwork.attempts + 1}")
            else:
                transition(session, artwork, S.PREPARED)


class Buggy(Stage):
    name = "buggy"
    entry = (S.CANDIDATE,)
    failed_as = S.PREPARED

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        if artwork_id % 2:
            raise ZeroDivisionError("a bug")
        with session_scope(ctx.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            assert artwork is not None
            transition(session, artwork, S.PREPARED)


class Unavailable(Stage):
    name = "needs-a-gpu"
    entry = (S.CANDIDATE,)
    failed_as = S.PREPARED

    def available(self, ctx: PipelineContext) -> None:
        raise StageUnavailable("no GPU here")

    def advance(self, artwork_ids: Sequence[int], ctx: PipelineContext, tracker: Tracker) -> None:
        raise AssertionError("never called")


@pytest.fixture
def pipeline(data_dir: Path, store_env: str, monkeypatch: pytest.MonkeyPatch) -> PipelineContext:
    """On SQLite and on PostgreSQL (`store_env` points the settings at the database)."""
    monkeypatch.setenv("BOT_RETRY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("BOT_RETRY_BACKOFF_S", "60")
    monkeypatch.setenv("BOT_RETRY_BACKOFF_MAX_S", "100")
    Flaky.calls = []
    return PipelineContext(app=AppContext(load_settings()))


def add_candidates(ctx: PipelineContext, n: int) -> list[int]:
    with session_scope(ctx.engine) as session:
        ids = []
        for i in range(n):
            listing = Listing(source="t", marketplace="t", item_id=f"i{i}", title="Cats")
            session.add(listing)
            session.flush()
            artwork = Artwork(listing_id=listing.id or 0, state="candidate", rank=i + 1)
            session.add(artwork)
            session.flush()
            ids.append(artwork.id or 0)
    return ids


def artworks(ctx: PipelineContext) -> dict[int, Artwork]:
    with session_scope(ctx.engine) as session:
        return {a.id or 0: a for a in session.exec(select(Artwork)).all()}


def make_due(ctx: PipelineContext) -> None:
    """Time passes: every scheduled retry is due."""
    with ctx.engine.begin() as connection:
        connection.execute(
            update(Artwork.__table__)  # type: ignore[attr-defined]
            .where(col(Artwork.next_attempt_at).is_not(None))
            .values(next_attempt_at=utcnow() - timedelta(seconds=1))
        )


def test_backoff_doubles_up_to_the_cap_and_parks_at_the_limit() -> None:
    policy = RetryPolicy(max_attempts=4, backoff_s=60, backoff_max_s=200)
    assert [policy.delay_s(n) for n in (1, 2, 3, 4, 5)] == [60, 120, 200, 200, 200]
    assert not policy.parked(3) and policy.parked(4)


def test_a_failing_stage_is_retried_with_backoff_and_succeeds(pipeline: PipelineContext) -> None:
    (artwork_id,) = add_candidates(pipeline, 1)
    first = run_stage(Flaky(), pipeline)
    assert list(first.failed) == [artwork_id]
    row = artworks(pipeline)[artwork_id]
    assert (row.state, row.failed_stage, row.attempts) == ("failed", "prepared", 1)
    assert row.next_attempt_at is not None
    wait = (row.next_attempt_at - utcnow()).total_seconds()
    assert 50 < wait <= 60
    assert run_stage(Flaky(), pipeline).taken == 0  # not due yet: the backoff holds
    make_due(pipeline)
    second = run_stage(Flaky(), pipeline)
    assert list(second.failed) == [artwork_id]
    row = artworks(pipeline)[artwork_id]
    assert row.attempts == 2
    assert 110 > (row.next_attempt_at - utcnow()).total_seconds() > 90  # type: ignore[operator]
    make_due(pipeline)
    third = run_stage(Flaky(), pipeline)
    assert third.advanced == [artwork_id]
    row = artworks(pipeline)[artwork_id]
    assert (row.state, row.attempts, row.next_attempt_at, row.claim_owner) == (
        "prepared",
        0,  # the next stage starts with a fresh count
        None,
        None,  # lease released
    )
    with session_scope(pipeline.engine) as session:
        reasons = [
            e.reason or ""
            for e in session.exec(
                select(ArtworkEvent).where(ArtworkEvent.artwork_id == artwork_id)
            ).all()
        ]
    assert any(r.startswith("retry 2 of flaky after: flaky 1") for r in reasons)


def test_after_the_limit_an_artwork_is_parked_until_a_person_retries(
    pipeline: PipelineContext, data_dir: Path
) -> None:
    Flaky.failures = 99
    try:
        parked_seen: list[int] = []
        pipeline.on_parked.append(lambda failed: parked_seen.append(failed.artwork_id))
        ids = add_candidates(pipeline, 2)
        for _ in range(3):
            make_due(pipeline)
            run_stage(Flaky(), pipeline)
        assert sorted(parked_seen) == ids
        rows = failed_artworks(pipeline.engine, pipeline.policy)
        assert [(r.artwork_id, r.parked, r.attempts) for r in rows] == [
            (ids[0], True, 3),
            (ids[1], True, 3),
        ]
        make_due(pipeline)
        assert run_stage(Flaky(), pipeline).taken == 0  # parked: the pipeline leaves it alone

        listed = runner.invoke(app, ["failed", "--json"])
        assert listed.exit_code == 0
        shown = json.loads(listed.output)
        assert shown[0]["parked"] and shown[0]["stage"] == "prepared"
        assert shown[0]["error"] == "flaky 3" and shown[0]["attempts"] == 3
        table = runner.invoke(app, ["failed"], terminal_width=200)
        assert "parked" in table.output and "flaky 3" in table.output

        retried = runner.invoke(app, ["retry", str(ids[0])])
        assert retried.exit_code == 0, retried.output
        with session_scope(pipeline.engine) as session:
            event = session.exec(
                select(ArtworkEvent)
                .where(ArtworkEvent.artwork_id == ids[0])
                .order_by(col(ArtworkEvent.id).desc())
            ).first()
        assert event is not None and "backoff reset after 3 failed attempt(s)" in (
            event.reason or ""
        )
        Flaky.failures = 0
        again = run_stage(Flaky(), pipeline)
        assert again.advanced == [ids[0]]  # the other one stays parked
        assert runner.invoke(app, ["retry", "--all"]).exit_code == 0
        assert run_stage(Flaky(), pipeline).advanced == [ids[1]]
        # Exit codes: nothing named, a bad id, a non-failed artwork.
        assert runner.invoke(app, ["retry"]).exit_code == 2
        assert runner.invoke(app, ["retry", "999"]).exit_code == 1
        assert runner.invoke(app, ["retry", str(ids[0])]).exit_code == 1
    finally:
        Flaky.failures = 2


def test_an_unexpected_error_stays_on_its_artwork_and_the_rest_go_on(
    pipeline: PipelineContext,
) -> None:
    ids = add_candidates(pipeline, 4)
    report = run_stage(Buggy(), pipeline)
    odd = [i for i in ids if i % 2]
    assert sorted(report.failed) == odd
    assert sorted(report.advanced) == [i for i in ids if not i % 2]
    rows = artworks(pipeline)
    assert all("unexpected ZeroDivisionError: a bug" in (rows[i].error or "") for i in odd)
    assert {row.claim_owner for row in rows.values()} == {None}


def test_a_stage_that_cannot_run_is_skipped_and_the_rest_goes_on(
    pipeline: PipelineContext,
) -> None:
    add_candidates(pipeline, 2)
    report = run_pass(pipeline, [Unavailable(), Flaky()])
    skipped, flaky = report.stages[0], report.stages[-1]
    assert skipped.skipped == "no GPU here" and skipped.taken == 0
    assert len(flaky.failed) == 2


def test_a_batch_limit_is_filled_round_after_round(
    pipeline: PipelineContext, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Flaky, "failures", 0)
    pipeline.app.settings.stage_batch = 3
    add_candidates(pipeline, 7)
    report = run_pass(pipeline, [Flaky()])
    assert [len(stage.advanced) for stage in report.stages] == [3, 3, 1]
    assert sorted(Flaky.calls) == sorted(artworks(pipeline))


def test_the_real_prepare_stage_records_a_bad_image_and_retries_later(
    pipeline: PipelineContext,
) -> None:
    (artwork_id,) = add_candidates(pipeline, 1)  # its listing has no image at all
    report = run_stage(PrepareStage(), pipeline)
    assert list(report.failed) == [artwork_id]
    row = artworks(pipeline)[artwork_id]
    assert row.failed_stage == "prepared" and "no local image" in (row.error or "")
    assert row.next_attempt_at is not None


def test_a_policy_refusal_parks_the_artwork_at_once_and_pins_nothing(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A frame of the untrained smoke-test models outside dry-run: the pin guard refuses it;
    retrying cannot change that, so the artwork waits for a person (bot failed / bot retry)."""
    from bot.pipeline.stages import PinStage
    from storage.models.frame import Frame
    from storage.models.pin import Pin

    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
    monkeypatch.setenv("BOT_RETRY_MAX_ATTEMPTS", "4")
    ctx = PipelineContext(app=AppContext(load_settings()))
    (artwork_id,) = add_candidates(ctx, 1)
    blob = ctx.app.blobs.put_bytes(b"\x89PNG not looked at: refused before")
    with session_scope(ctx.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        assert artwork is not None
        artwork.state = S.CHOSEN.value
        session.add(artwork)
        session.add(
            Frame(
                artwork_id=artwork_id,
                iteration=0,
                blob_sha256=blob.sha256,
                loss=1.0,
                prompt="Cats",
                seed=1,
                model="smoke_vqgan_tiny+smoke_clip_tiny (untrained smoke test)",
                width=8,
                height=8,
                chosen=True,
            )
        )
    with caplog.at_level(logging.ERROR, logger="bot.pipeline.runner"):
        report = run_stage(PinStage(), ctx)
    assert list(report.parked) == [artwork_id]
    # One refusal, not "after 4 attempts": the log says it waits for a person.
    assert f"artwork {artwork_id} parked for a person at pinned, not retried" in caplog.text
    assert "attempts" not in caplog.text
    (failed,) = failed_artworks(ctx.engine, ctx.policy)
    assert failed.parked and failed.attempts == 4 and failed.stage == "pinned"
    assert "refused" in failed.error and "smoke" in failed.error
    with session_scope(ctx.engine) as session:
        assert session.exec(select(Pin)).all() == []
    make_due(ctx)
    assert run_stage(PinStage(), ctx).taken == 0  # parked: not retried by the pipeline
    listed = json.loads(runner.invoke(app, ["failed", "--json"]).output)
    assert listed[0]["refused"] is True and listed[0]["parked"] is True
    table = runner.invoke(app, ["failed"], terminal_width=200).output
    assert f"{artwork_id} " in table and "refused" in table and "4/4" not in table
