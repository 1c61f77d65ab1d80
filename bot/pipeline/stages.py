"""The stage registry: one small object per transition of the artwork state machine.

Each stage names the states it takes artworks from (`entry`), the stage name its failures are
recorded under (`failed_as`, the artwork's `failed_stage`), whether it resumes a failed
artwork itself (`resumes_failed`: the irreversible mint and list steps, which reconcile with
the marketplace first) or the runner moves it back to its entry state, and `advance(ids,
ctx, tracker)`, idempotent: an artwork not due any more is left as it is. `available(ctx)`
raises StageUnavailable with what is missing (no weights, no wallet), once per pass.

The runner (bot/pipeline/runner.py) does the rest uniformly for all of them: which artworks
are due, leases, retries with backoff, parking, progress.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, ClassVar

from sqlalchemy import ColumnElement, case, not_, or_
from sqlmodel import col

from bot.pipeline.context import PipelineContext, StageUnavailable, Tracker
from bot.pipeline.retry import REFUSED
from storage.artworks import record_failure
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import Artwork, ArtworkState

log = logging.getLogger(__name__)
S = ArtworkState


class Stage:
    """Base: the per-artwork form. Batch stages override `advance`."""

    name: ClassVar[str]
    entry: ClassVar[tuple[ArtworkState, ...]]
    failed_as: ClassVar[ArtworkState]
    resumes_failed: ClassVar[bool] = False
    has_housekeeping: ClassVar[bool] = False  # runs `housekeeping` even when nothing is due

    def enabled(self, ctx: PipelineContext) -> bool:
        """False: an optional stage turned off by the settings; the runner passes it by."""
        return True

    def available(self, ctx: PipelineContext) -> None:
        """Raise StageUnavailable when this configuration cannot run the stage."""

    def batch_limit(self, ctx: PipelineContext) -> int:
        return ctx.settings.stage_batch

    def progress_total(self, artwork_ids: Sequence[int], ctx: PipelineContext) -> int:
        """How many units `advance` reports for these artworks (artworks, by default)."""
        return len(artwork_ids)

    def order_by(self) -> Sequence[ColumnElement[Any]]:
        """Best curation rank first (the ranking is the reason an artwork exists)."""
        return (col(Artwork.rank).is_(None), col(Artwork.rank).asc())

    def due_filter(self, ctx: PipelineContext) -> Sequence[ColumnElement[bool]]:
        """What else, besides its entry state, makes an artwork due for this stage (a stage
        that shares its entry state with the next one says which artworks are still its)."""
        return ()

    def has_advanced(self, artwork: Artwork, state_before: str) -> bool:
        """Whether the stage moved a (not failed) artwork on: by default, to a new state."""
        return artwork.state != state_before

    def housekeeping(self, ctx: PipelineContext) -> None:
        """Work of this stage that is not about due artworks (relisting expired orders)."""

    def advance(self, artwork_ids: Sequence[int], ctx: PipelineContext, tracker: Tracker) -> None:
        for artwork_id in artwork_ids:
            if ctx.stop.is_set():
                return  # finish the artwork in hand, leave the rest (their leases are freed)
            try:
                self.advance_one(artwork_id, ctx)
            except (StoreError, StageUnavailable):
                raise
            except Exception as exc:  # one artwork's bug is recorded on it; the rest go on
                log.exception("%s: artwork %s: unexpected error", self.name, artwork_id)
                record_unexpected(ctx, self, [artwork_id], exc)
            tracker.advance()

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        """One artwork; a stage overrides this or, for batches, `advance`."""
        raise TypeError(f"stage {self.name}: overrides neither advance nor advance_one")


def record_unexpected(
    ctx: PipelineContext, stage: Stage, artwork_ids: Sequence[int], exc: Exception
) -> None:
    """A bug or an unforeseen error, recorded as a failure of the stage on the artworks it
    left waiting (whatever it interrupted is safe: every stage is idempotent, and the
    irreversible ones reconcile before they send again)."""
    error = f"{stage.name}: unexpected {type(exc).__name__}: {exc}"
    waiting = {s.value for s in (*stage.entry, S.FAILED)}
    with session_scope(ctx.engine) as session:
        for artwork_id in artwork_ids:
            artwork = session.get(Artwork, artwork_id)
            if artwork is not None and artwork.state in waiting:
                record_failure(session, artwork, stage.failed_as, error)


def _require_generator_extra(ctx: PipelineContext) -> None:
    from bot.extras import EXTRAS, missing_modules

    absent = missing_modules("generate")
    if absent:
        raise StageUnavailable(
            f"the generator extra is not installed (missing: {', '.join(absent)}): "
            f"{EXTRAS['generate'].install_hint}"
        )


class PrepareStage(Stage):
    """Batch form: decode, filter and categorise (CLIP in batches); a person's category or
    rejection always wins (bot/pipeline/prepare_stage.py)."""

    name = "prepare"
    entry = (S.CANDIDATE,)
    failed_as = S.PREPARED

    def available(self, ctx: PipelineContext) -> None:
        _require_generator_extra(ctx)  # decoding, filters and CLIP are the generator's code

    def _category_model(self, ctx: PipelineContext) -> Any:
        def build() -> Any:
            from bot.pipeline.prepare_models import SMOKE_TEST_CATEGORIES, load_category_model

            settings = ctx.settings
            model = load_category_model(
                settings.weights_cache_dir,
                settings.generator_clip,
                settings.generator_device,
                allow_smoke_test_models=settings.allow_smoke_test_models,
            )
            if model.smoke_test:  # load_category_model logged it; a person must see it too
                ctx.notices.append(SMOKE_TEST_CATEGORIES)
            return model

        return ctx.resource("category_model", build)

    def advance(self, artwork_ids: Sequence[int], ctx: PipelineContext, tracker: Tracker) -> None:
        from bot.pipeline.prepare_stage import (
            FAILED,
            PrepareOutcome,
            options_from_settings,
            prepare_artworks,
        )

        options = options_from_settings(ctx.settings)
        chunk = max(1, options.clip_batch)  # one CLIP batch at a time: a stop waits for one only

        def show(outcome: PrepareOutcome) -> None:
            if outcome.status == FAILED:
                log.warning("prepare: %s", outcome.detail)
            tracker.advance()

        for start in range(0, len(artwork_ids), chunk):
            if ctx.stop.is_set():
                return  # the rest keep their state; their leases are freed
            report = prepare_artworks(
                ctx.engine,
                ctx.app.blobs,
                options,
                model_factory=lambda: self._category_model(ctx),
                artwork_ids=list(artwork_ids[start : start + chunk]),
                on_outcome=show,
            )
            if report.clip_missing:  # nothing to categorise with: wait, it is not their fault
                raise StageUnavailable(f"prepare: {report.clip_missing}")


class GenerateStage(Stage):
    """Batch form: many artworks optimised together, on the executor the settings name
    (in-process, or Ray actors: BOT_EXECUTOR); the models are loaded once per context."""

    name = "generate"
    entry = (S.PREPARED,)
    failed_as = S.GENERATED

    def available(self, ctx: PipelineContext) -> None:
        _require_generator_extra(ctx)
        from bot.executors import ExecutorSetupError, require_executor_extra
        from bot.extras import MissingExtra
        from generator.weights import WeightsStore

        settings = ctx.settings
        try:
            require_executor_extra(settings)
        except (MissingExtra, ExecutorSetupError) as exc:
            raise StageUnavailable(str(exc)) from None
        if settings.executor.value == "ray" and settings.ray_weights_dir:
            return  # the actors load by name on their own hosts: they check there
        store = WeightsStore(settings.weights_cache_dir)
        names = (settings.generator_vqgan, settings.generator_clip)
        missing = [name for name in names if not store.available(name)]
        if missing and not settings.allow_smoke_test_models:
            fetch = "; ".join(f"bot models download {name}" for name in missing)
            raise StageUnavailable(
                f"weights missing under {settings.weights_cache_dir} ({', '.join(missing)}): "
                f"{fetch}"
            )

    def progress_total(self, artwork_ids: Sequence[int], ctx: PipelineContext) -> int:
        return len(artwork_ids) * ctx.settings.generator_steps  # one unit per artwork-step

    def _executor(self, ctx: PipelineContext) -> Any:
        def build() -> Any:
            from bot.executors import ExecutorSetupError, open_executor
            from bot.pipeline.generate_stage import SMOKE_TEST_WARNING

            try:
                executor = open_executor(ctx.settings)
            except ExecutorSetupError as exc:
                raise StageUnavailable(f"generator: {exc}") from None
            if executor.smoke_test:  # the loader logged it; a person must see it too
                ctx.notices.append(SMOKE_TEST_WARNING)
            log.info("generate: %s with %s", executor.description, executor.label)
            return executor

        return ctx.resource("executor", build)

    def advance(self, artwork_ids: Sequence[int], ctx: PipelineContext, tracker: Tracker) -> None:
        from bot.pinning import frame_pin_hook
        from bot.pipeline.generate_stage import generate_artworks
        from generator.optimiser import GenerationSettings

        settings = ctx.settings
        options = GenerationSettings(
            size=settings.generator_size,
            steps=settings.generator_steps,
            cutn=settings.generator_cutn,
        )
        report = generate_artworks(
            ctx.engine,
            ctx.app.blobs,
            self._executor(ctx),
            options,
            artwork_ids=list(artwork_ids),
            batch_size=settings.generator_batch,
            on_frame_saved=frame_pin_hook(ctx.app),
            prompt_template=settings.prompt_template,
            progress=False,
            on_step=tracker.advance,  # artwork-steps
        )
        for outcome in report.outcomes:
            if not outcome.ok:
                log.warning("generate: artwork %s: %s", outcome.artwork_id, outcome.detail)


def park_refused(ctx: PipelineContext, artwork_id: int, stage: ArtworkState, why: str) -> None:
    """A policy refusal (a smoke-test frame outside dry-run, an unforced near-copy): retrying
    cannot change it, so the artwork is parked for a person at once (bot failed shows why)."""
    with session_scope(ctx.engine) as session:
        artwork = session.get(Artwork, artwork_id)
        if artwork is None or not record_failure(session, artwork, stage, f"{REFUSED}{why}"):
            return
        session.refresh(artwork)
        if artwork.attempts < ctx.policy.max_attempts:
            artwork.attempts = ctx.policy.max_attempts  # parked: only `bot retry` resumes it
            session.add(artwork)


class ChooseStage(Stage):
    """Batch form: the frames are scored (models loaded once per pass), then each artwork
    gets its best-ranked frame that is not a near-copy (bot/pipeline/choose_stage.py); a
    person's earlier choice is kept."""

    name = "choose"
    entry = (S.GENERATED,)
    failed_as = S.CHOSEN

    def available(self, ctx: PipelineContext) -> None:
        if ctx.settings.choose.value == "review":
            raise StageUnavailable(
                "BOT_CHOOSE=review: generated artworks wait for a person "
                "(bot review, or bot choose ARTWORK --iteration N)"
            )

    def _scorer(self, ctx: PipelineContext) -> Any:
        def build() -> Any:
            _require_generator_extra(ctx)
            from bot.pipeline.score_stage import scorer_from_settings
            from generator.weights import MissingWeights

            try:
                loaded = scorer_from_settings(ctx.settings)
            except (MissingWeights, ValueError) as exc:
                raise StageUnavailable(f"scoring frames needs the CLIP weights: {exc}") from None
            if loaded.smoke_test:
                ctx.notices.append("frames scored with the untrained smoke-test CLIP")
            return loaded

        return ctx.resource("scorer", build)

    def advance(self, artwork_ids: Sequence[int], ctx: PipelineContext, tracker: Tracker) -> None:
        from bot.pipeline.choose_stage import (
            ChooseError,
            artworks_to_score,
            choose_automatically,
            near_copy_thresholds,
            rank_weights,
        )

        todo = artworks_to_score(ctx.engine, list(artwork_ids), False)
        if todo:
            from bot.pipeline.score_stage import score_artworks

            scorer = self._scorer(ctx)
            for outcome in score_artworks(ctx.engine, ctx.app.blobs, scorer, todo, progress=False):
                if not outcome.ok:
                    log.warning("choose: scoring: %s", outcome.detail)
        weights, thresholds = rank_weights(ctx.settings), near_copy_thresholds(ctx.settings)
        for artwork_id in artwork_ids:
            if ctx.stop.is_set():
                return
            with session_scope(ctx.engine) as session:
                artwork = session.get(Artwork, artwork_id)
                if artwork is not None and artwork.state == S.GENERATED.value:
                    try:
                        choose_automatically(session, artwork, weights, thresholds)
                    except ChooseError as exc:
                        log.warning("choose: %s", exc)
                        record_failure(session, artwork, S.CHOSEN, str(exc))
            tracker.advance()


def needs_upscaling(label: str) -> ColumnElement[bool]:
    """SQL: the artwork's chosen frame has no upscaled image made by the upscaler `label`
    (a new choice drops the old image: bot/pipeline/choose_stage.py)."""
    return or_(
        col(Artwork.upscaled_blob).is_(None),
        col(Artwork.upscale_model).is_(None),
        col(Artwork.upscale_model) != label,
    )


class UpscaleStage(Stage):
    """chosen → chosen with an upscaled image, when BOT_UPSCALE_ENABLED (off: not run)."""

    name = "upscale"
    entry = (S.CHOSEN,)
    failed_as = S.PINNED  # as bot/pipeline/upscale_stage.py records it: the pin is what waits

    def enabled(self, ctx: PipelineContext) -> bool:
        return bool(ctx.settings.upscale_enabled)

    def due_filter(self, ctx: PipelineContext) -> Sequence[ColumnElement[bool]]:
        return (needs_upscaling(ctx.settings.upscaler_label),)

    def has_advanced(self, artwork: Artwork, state_before: str) -> bool:
        """It keeps the state: upscaled (it took only artworks without) is its progress."""
        return artwork.state != state_before or artwork.upscaled_blob is not None

    def available(self, ctx: PipelineContext) -> None:
        _require_generator_extra(ctx)
        self._context(ctx)

    def _context(self, ctx: PipelineContext) -> Any:
        from bot.pipeline.upscale_stage import upscale_context

        try:
            return ctx.resource(
                "upscaler", lambda: upscale_context(ctx.engine, ctx.app.blobs, ctx.settings)
            )
        except ValueError as exc:
            raise StageUnavailable(f"upscaling: {exc}") from None

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        from bot.pipeline.upscale_stage import upscale_artwork
        from generator.convert import ConversionError
        from generator.weights import MissingWeights

        try:
            outcome = upscale_artwork(artwork_id, self._context(ctx))
        except (MissingWeights, ConversionError) as exc:
            raise StageUnavailable(f"upscaling: {exc}") from None
        log.info("upscale: artwork %s: %s", artwork_id, outcome.detail)


class PinStage(Stage):
    name = "pin"
    entry = (S.CHOSEN,)
    failed_as = S.PINNED
    resumes_failed = True  # pin_artwork moves a failed artwork back itself

    def due_filter(self, ctx: PipelineContext) -> Sequence[ColumnElement[bool]]:
        """With upscaling on, a chosen artwork is the upscale stage's until it is upscaled."""
        if not ctx.settings.upscale_enabled:
            return ()
        return (not_(needs_upscaling(ctx.settings.upscaler_label)),)

    def available(self, ctx: PipelineContext) -> None:
        self._targets(ctx)

    def _targets(self, ctx: PipelineContext) -> Any:
        from bot.pinning import targets_from_settings

        try:
            return ctx.resource("pin_targets", lambda: targets_from_settings(ctx.settings))
        except ValueError as exc:
            raise StageUnavailable(f"IPFS pin targets: {exc}") from None

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        from bot.cli.pins import generator_version
        from bot.pipeline.choose_stage import near_copy_thresholds
        from bot.pipeline.guards import PinPolicy, PublishRefused
        from bot.pipeline.pin_stage import PinStageError, pin_artwork
        from storage.ipfs.targets import UnreachableTargets

        settings = ctx.settings
        policy = PinPolicy(
            marketplace_mode=settings.marketplace_mode.value,
            thresholds=near_copy_thresholds(settings),
            upscale_enabled=settings.upscale_enabled,
        )
        try:
            result = pin_artwork(
                ctx.engine,
                artwork_id,
                targets=self._targets(ctx),
                blobs=ctx.app.blobs,
                profile=settings.cid_profile,
                generator_version=generator_version(),
                policy=policy,
                unreachable=ctx.resource("pin_targets_unreachable", UnreachableTargets),
            )
        except PinStageError as exc:  # not chosen any more: nothing for this stage
            log.info("pin: %s", exc)
            return
        except PublishRefused as exc:
            log.warning("pin: %s", exc)
            park_refused(ctx, artwork_id, S.PINNED, str(exc))
            return
        if result.detail:
            log.info("pin: artwork %s: %s", artwork_id, result.detail)


class _PublishStage(Stage):
    resumes_failed = True  # reconcile with the marketplace before anything is sent again

    def available(self, ctx: PipelineContext) -> None:
        self.publisher(ctx)

    def publisher(self, ctx: PipelineContext) -> Any:
        from bot.pipeline.publish import open_publisher
        from marketplace.wallet import WalletError

        try:
            return ctx.resource("publisher", lambda: open_publisher(ctx.app))
        except WalletError as exc:
            raise StageUnavailable(
                f"wallet: {exc} (bot wallet create, and BOT_WALLET_PASSPHRASE)"
            ) from None

    def order_by(self) -> Sequence[ColumnElement[Any]]:
        # What an earlier run left in flight is reconciled before anything new starts.
        in_flight = [s.value for s in (S.MINTING, S.LISTING, S.FAILED)]
        return (case((col(Artwork.state).in_(in_flight), 0), else_=1), *super().order_by())


class MintStage(_PublishStage):
    name = "mint"
    entry = (S.PINNED, S.MINTING)
    failed_as = S.MINTING

    def batch_limit(self, ctx: PipelineContext) -> int:
        return min(ctx.settings.stage_batch, ctx.settings.publish_cap)

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        from bot.pipeline.guards import publish_refusal
        from bot.pipeline.mint_stage import advance_mint

        publisher = self.publisher(ctx)
        with session_scope(ctx.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            new = artwork is not None and artwork.state == S.PINNED.value
        refusal = publish_refusal(ctx.engine, artwork_id, publisher.mode) if new else None
        if refusal:  # nothing sent; one in flight is still reconciled below
            log.warning("mint: %s", refusal)
            park_refused(ctx, artwork_id, S.MINTING, refusal)
            return
        advance_mint(publisher, artwork_id)


class ListStage(_PublishStage):
    name = "list"
    entry = (S.MINTED, S.LISTING)
    failed_as = S.LISTING
    has_housekeeping = True

    def housekeeping(self, ctx: PipelineContext) -> None:
        from bot.pipeline.list_stage import relist_expired

        for artwork_id, state in relist_expired(self.publisher(ctx)).items():
            log.info("artwork %s: expired sell order replaced: %s", artwork_id, state.value)

    def advance_one(self, artwork_id: int, ctx: PipelineContext) -> None:
        from bot.pipeline.list_stage import advance_listing

        advance_listing(self.publisher(ctx), artwork_id)


def default_stages() -> list[Stage]:
    """The state machine's stages in order (DESIGN.md)."""
    return [
        PrepareStage(),
        GenerateStage(),
        ChooseStage(),
        UpscaleStage(),
        PinStage(),
        MintStage(),
        ListStage(),
    ]


def stage_named(name: str, stages: Sequence[Stage] | None = None) -> Stage:
    for stage in stages or default_stages():
        if stage.name == name:
            return stage
    known = ", ".join(stage.name for stage in stages or default_stages())
    raise KeyError(f"unknown stage {name!r}; stages: {known}")
