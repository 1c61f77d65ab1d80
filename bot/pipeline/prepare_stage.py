"""candidate → prepared (or rejected): decode, filter, categorise, make the init image.

For each artwork, streamed one at a time (memory stays bounded whatever the batch size):
1. its source image is decoded safely (generator/decode.py); an image that cannot be decoded
   fails the artwork at this stage, naming the artwork, its listing and the reason;
2. it is resized to the generation size (BOT_PREPARE_RESIZE) and scored: source size, blur,
   single colour, contrast, JPEG blocking, text (generator/quality.py, text_regions.py);
3. the first quality or text rule it breaks rejects it, with the reason;
4. the rest are categorised by CLIP in batches (generator/categories.py), with the face
   detector as a second signal for Faces versus People; `other` is rejected, as in the study;
5. a person's decision always wins: a person's category skips the filters and CLIP, a
   person's rejection is never undone here (overrides: bot/pipeline/overrides.py).
The scores land in `preparation_scores`, the category on the artwork, the init image (also
for rejected artworks, so the report can show them) in the blob store. Each artwork is
written in its own transaction, so a bad image never undoes a good one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sqlalchemy.engine import Engine
from sqlmodel import Session, and_, col, or_, select

from bot.pipeline.prepare_models import CategoryModel, ClipUnavailable
from bot.settings import Settings
from generator.decode import DecodedImage, DecodePolicy, ImageRejected, decode_image, one_line
from generator.quality import QualityScores, QualityThresholds, first_failure, measure
from storage.artworks import record_failure, record_note, transition
from storage.blobstore import BlobNotFound, BlobStore
from storage.db import session_scope
from storage.errors import StoreError
from storage.models import PIPELINE_ORDER, Artwork, ArtworkState, Listing
from storage.models.preparation import PreparationScores

log = logging.getLogger(__name__)
PREPARED, REJECTED, FAILED, SKIPPED = "prepared", "rejected", "failed", "skipped"
BY_PREPARE = "prepare"  # artworks.rejected_by: curate, prepare or person


@dataclass(frozen=True)
class PrepareOptions:
    size: int = 512
    resize: str = "stretch"
    decode: DecodePolicy = field(default_factory=DecodePolicy)
    quality: QualityThresholds = field(default_factory=QualityThresholds)
    max_text: float = 0.1
    min_confidence: float = 0.5
    face_min_area: float = 0.03
    clip_batch: int = 16


def options_from_settings(settings: Settings, *, size: int | None = None) -> PrepareOptions:
    return PrepareOptions(
        size=size or settings.generator_size,
        resize=settings.prepare_resize,
        decode=DecodePolicy(
            max_bytes=settings.download_max_bytes,
            max_pixels=settings.download_max_pixels,
            min_side=max(size or settings.generator_size, 512),
        ),
        quality=QualityThresholds(
            min_side=settings.prepare_min_side,
            min_sharpness=settings.prepare_min_sharpness,
            max_single_colour=settings.prepare_max_single_colour,
            min_contrast=settings.prepare_min_contrast,
            max_blockiness=settings.prepare_max_blockiness,
        ),
        max_text=settings.prepare_max_text,
        min_confidence=settings.prepare_min_confidence,
        face_min_area=settings.prepare_face_min_area,
        clip_batch=settings.prepare_clip_batch,
    )


@dataclass(frozen=True)
class PrepareOutcome:
    artwork_id: int
    status: str  # prepared | rejected | failed | skipped
    detail: str
    ok: bool  # what was asked of this artwork is done (a rejection is a decision, so ok)
    category: str | None = None


@dataclass
class PrepareReport:
    outcomes: list[PrepareOutcome] = field(default_factory=list)
    clip_missing: str | None = None  # why artworks that need CLIP were left as they were
    clip_label: str | None = None
    smoke_test: bool = False

    def count(self, status: str) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failures(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok)


@dataclass
class _Measured:
    """An artwork decoded and scored, waiting for CLIP (kept small: no full-size pixels)."""

    artwork_id: int
    png: bytes
    scores: QualityScores
    text: float
    source_format: str
    notes: list[str]
    clip_input: Any = None  # CLIP's preprocessed view
    face_view: np.ndarray | None = None  # at most 384 px, for the face detector


def select_for_prepare(
    session: Session,
    artwork_ids: Sequence[int] | None = None,
    *,
    redo: bool = False,
    retry_failed: bool = False,
    limit: int | None = None,
) -> list[int]:
    """Candidates (plus failed-at-prepare, and what prepare decided before when `redo`), best
    curation rank first. Explicit ids are taken as they are: the stage decides per artwork."""
    query = select(Artwork.id)
    if artwork_ids:
        query = query.where(col(Artwork.id).in_(list(artwork_ids)))
    else:
        wanted = [col(Artwork.state) == ArtworkState.CANDIDATE.value]
        if retry_failed:
            wanted.append(
                and_(Artwork.state == ArtworkState.FAILED.value, Artwork.failed_stage == PREPARED)
            )
        if redo:
            wanted.append(col(Artwork.state) == ArtworkState.PREPARED.value)
            wanted.append(
                and_(
                    Artwork.state == ArtworkState.REJECTED.value, Artwork.rejected_by == BY_PREPARE
                )
            )
        query = query.where(or_(*wanted))
    query = query.order_by(col(Artwork.rank).is_(None), col(Artwork.rank), col(Artwork.id))
    if limit:
        query = query.limit(limit)
    return [int(i) for i in session.exec(query).all() if i is not None]


def _eligibility(artwork: Artwork, *, redo: bool, explicit: bool) -> PrepareOutcome | None:
    """None when the stage should (re)decide this artwork, else why not."""
    artwork_id, state = artwork.id or 0, artwork.state
    if state == ArtworkState.CANDIDATE.value:
        return None
    if state == ArtworkState.FAILED.value and artwork.failed_stage in (PREPARED, None):
        return None  # selected because a retry was asked (or the id was named)
    if state == ArtworkState.PREPARED.value or (
        state == ArtworkState.REJECTED.value and artwork.rejected_by == BY_PREPARE
    ):
        if redo:
            return None
        what = "prepared already" if state == PREPARED else f"rejected already: {artwork.reason}"
        return PrepareOutcome(artwork_id, SKIPPED, f"artwork {artwork_id} is {what}", True)
    if state in {s.value for s in PIPELINE_ORDER[2:]}:
        return PrepareOutcome(artwork_id, SKIPPED, f"artwork {artwork_id} is {state} already", True)
    who = f" by {artwork.rejected_by}" if artwork.rejected_by else ""
    detail = f"artwork {artwork_id} is {state}{who}" + (
        f": {artwork.reason}" if artwork.reason else ""
    )
    return PrepareOutcome(artwork_id, SKIPPED, detail, not explicit)


def _measure(
    blobs: BlobStore, artwork: Artwork, listing: Listing, options: PrepareOptions
) -> tuple[_Measured, DecodedImage]:
    """Decode and score one source image; ValueError with the reason when it cannot be."""
    from generator.images import encode_png
    from generator.resize import resize_square
    from generator.text_regions import text_score

    if not listing.image_blob:
        raise ValueError(
            f"no local image (image_cid {listing.image_cid or 'none'}, image_uri "
            f"{listing.image_uri or 'none'}): run `bot images fetch` first"
        )
    try:
        data = blobs.read_bytes(listing.image_blob)
    except BlobNotFound:
        raise ValueError(
            f"image blob {listing.image_blob} is missing from the blob store"
        ) from None
    try:
        decoded = decode_image(data, options.decode)
    except ImageRejected as exc:
        raise ValueError(f"image blob {listing.image_blob[:12]}…: {exc}") from None
    del data
    init = resize_square(decoded.rgb, options.size, options.resize)
    measured = _Measured(
        artwork_id=artwork.id or 0,
        png=encode_png(init, {"source": listing.image_blob, "resize": options.resize}),
        scores=measure(decoded),
        text=text_score(decoded.rgb),
        source_format=decoded.format,
        notes=list(decoded.notes),
    )
    return measured, decoded


def _label(artwork_id: int, listing: Listing | None) -> str:
    if listing is None:
        return f"artwork {artwork_id}"
    return f"artwork {artwork_id}, listing {listing.id} ({listing.marketplace}:{listing.item_id})"


class _Stage:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        options: PrepareOptions,
        model_factory: Callable[[], CategoryModel] | None,
        on_outcome: Callable[[PrepareOutcome], None] | None,
    ) -> None:
        self.engine, self.blobs, self.options = engine, blobs, options
        self.model_factory = model_factory
        self.model: CategoryModel | None = None
        self.on_outcome = on_outcome
        self.report = PrepareReport()
        self.pending: list[_Measured] = []

    def emit(self, outcome: PrepareOutcome) -> None:
        self.report.outcomes.append(outcome)
        if self.on_outcome is not None:
            self.on_outcome(outcome)

    # --- per artwork ----------------------------------------------------------------------
    def analyse(self, artwork_id: int, *, redo: bool, explicit: bool) -> None:
        with session_scope(self.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if artwork is None:
                self.emit(
                    PrepareOutcome(
                        artwork_id, FAILED, f"artwork {artwork_id} does not exist", False
                    )
                )
                return
            skip = _eligibility(artwork, redo=redo, explicit=explicit)
            if skip is not None:
                self.emit(skip)
                return
            listing = session.get(Listing, artwork.listing_id)
            label = _label(artwork_id, listing)
            person_rejected = artwork.override_reason
            person_category = artwork.override_category
            if person_rejected is not None:
                measured = decoded = None
            try:
                if listing is None:
                    raise ValueError(f"listing {artwork.listing_id} does not exist")
                if person_rejected is None:
                    measured, decoded = _measure(self.blobs, artwork, listing, self.options)
            except StoreError:  # the store itself is broken: the command says so, once
                raise
            except Exception as exc:  # one artwork, one line; the batch goes on
                if not isinstance(exc, ValueError):  # a bug: the traceback at DEBUG level
                    log.debug("prepare: %s", label, exc_info=True)
                reason = f"{label}: {one_line(exc, 400) or type(exc).__name__}"
                record_failure(session, artwork, ArtworkState.PREPARED, reason)
                self.emit(PrepareOutcome(artwork_id, FAILED, reason, False))
                return
        if person_rejected is not None or measured is None or decoded is None:
            self.finish_rejected(
                artwork_id, None, f"rejected by a person: {person_rejected}", "person"
            )
            return
        if person_category is not None:
            self.finish_prepared(
                measured, person_category, None, f"{person_category} (a person's category)"
            )
            return
        rule = first_failure(measured.scores, self.options.quality)
        if rule is None and measured.text > self.options.max_text:
            rule = (
                f"text-heavy: text lines cover {measured.text:.0%} of the image (over "
                f"{self.options.max_text:.0%})"
            )
        if rule is not None:
            self.finish_rejected(artwork_id, measured, rule, BY_PREPARE)
            return
        model = self.category_model()
        if model is None:
            self.emit(
                PrepareOutcome(
                    artwork_id,
                    FAILED,
                    f"{label}: not categorised: {self.report.clip_missing}",
                    False,
                )
            )
            return
        from generator.resize import fit_within

        measured.clip_input = model.classifier.preprocess(decoded.rgb)
        measured.face_view = fit_within(decoded.rgb, 384)
        self.pending.append(measured)
        if len(self.pending) >= self.options.clip_batch:
            self.categorise_pending()

    def category_model(self) -> CategoryModel | None:
        if self.model is None and self.report.clip_missing is None:
            if self.model_factory is None:
                self.report.clip_missing = "no CLIP model was given to the stage"
                return None
            try:
                self.model = self.model_factory()
            except ClipUnavailable as exc:
                self.report.clip_missing = str(exc)
                return None
            self.report.clip_label = self.model.label
            self.report.smoke_test = self.model.smoke_test
        return self.model

    def categorise_pending(self) -> None:
        from generator.categories import decide, needs_faces

        batch, self.pending = self.pending, []
        if not batch:
            return
        assert self.model is not None
        model = self.model
        try:
            probabilities = model.classifier.probabilities([m.clip_input for m in batch])
        except Exception as exc:  # the model itself failed: these artworks fail, the run goes on
            log.debug("CLIP failed on a batch of %d", len(batch), exc_info=True)
            for measured in batch:
                self.fail(measured.artwork_id, f"CLIP failed: {one_line(exc)}")
            return
        for measured, probs in zip(batch, probabilities, strict=True):
            faces = None
            if needs_faces(probs) and measured.face_view is not None:
                faces = model.faces().detect(measured.face_view)
            decision = decide(
                probs,
                min_confidence=self.options.min_confidence,
                faces=faces,
                face_min_area=self.options.face_min_area,
            )
            clip = {
                "clip_category": decision.category,
                "clip_confidence": decision.confidence,
                "clip_runner_up": decision.runner_up,
                "clip_runner_up_confidence": decision.runner_up_confidence,
                "clip_model": model.label,
                "faces": None if faces is None else faces.count,
                "face_area": None if faces is None else faces.largest_area,
            }
            if decision.reason is not None:
                self.finish_rejected(
                    measured.artwork_id, measured, decision.reason, BY_PREPARE, clip
                )
            else:
                self.finish_prepared(measured, decision.category, clip, decision.detail)

    # --- writing --------------------------------------------------------------------------
    def _store_scores(
        self, session: Session, measured: _Measured, clip: dict[str, Any] | None
    ) -> None:
        row = session.exec(
            select(PreparationScores).where(PreparationScores.artwork_id == measured.artwork_id)
        ).first() or PreparationScores(
            artwork_id=measured.artwork_id,
            source_format="",
            source_width=0,
            source_height=0,
            sharpness=0,
            single_colour=0,
            contrast=0,
            text_score=0,
        )
        values: dict[str, Any] = {
            "source_format": measured.source_format,
            "source_width": measured.scores.source_width,
            "source_height": measured.scores.source_height,
            "sharpness": measured.scores.sharpness,
            "single_colour": measured.scores.single_colour,
            "contrast": measured.scores.contrast,
            "blockiness": measured.scores.blockiness,
            "text_score": measured.text,
            "notes": "; ".join(measured.notes) or None,
            "faces": None,
            "face_area": None,
            "clip_category": None,
            "clip_confidence": None,
            "clip_runner_up": None,
            "clip_runner_up_confidence": None,
            "clip_model": None,
            **(clip or {}),
        }
        from storage.types import utcnow

        for name, value in values.items():
            setattr(row, name, value)
        row.measured_at = utcnow()
        session.add(row)

    def _still_mine(self, artwork: Artwork | None) -> bool:
        """Nobody moved it on while it was being measured (another worker, a person)."""
        if artwork is None:
            return False
        state = artwork.state
        return (
            state in (ArtworkState.CANDIDATE.value, ArtworkState.PREPARED.value)
            or (
                state == ArtworkState.REJECTED.value
                and artwork.rejected_by in (BY_PREPARE, "person")
            )
            or (state == ArtworkState.FAILED.value and artwork.failed_stage in (PREPARED, None))
        )

    def finish_prepared(
        self, measured: _Measured, category: str, clip: dict[str, Any] | None, detail: str
    ) -> None:
        artwork_id = measured.artwork_id
        blob = self.blobs.put_bytes(measured.png).sha256
        with session_scope(self.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if not self._still_mine(artwork):
                self.emit(
                    PrepareOutcome(
                        artwork_id, SKIPPED, f"artwork {artwork_id} changed meanwhile", False
                    )
                )
                return
            assert artwork is not None
            self._store_scores(session, measured, clip)
            before = artwork.category if artwork.state == ArtworkState.PREPARED.value else None
            artwork.category, artwork.init_image_blob = category, blob
            if artwork.state == ArtworkState.REJECTED.value:
                transition(session, artwork, ArtworkState.CANDIDATE, reason="prepared again")
            if artwork.state == ArtworkState.PREPARED.value:
                if before != category:
                    record_note(session, artwork, f"category {before} → {category} (prepare again)")
                session.add(artwork)
            else:
                transition(session, artwork, ArtworkState.PREPARED, reason=f"category {category}")
        self.emit(
            PrepareOutcome(
                artwork_id, PREPARED, f"{detail}; init image {blob[:12]}", True, category
            )
        )

    def finish_rejected(
        self,
        artwork_id: int,
        measured: _Measured | None,
        reason: str,
        by: str,
        clip: dict[str, Any] | None = None,
    ) -> None:
        blob = self.blobs.put_bytes(measured.png).sha256 if measured is not None else None
        with session_scope(self.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            if not self._still_mine(artwork):
                self.emit(
                    PrepareOutcome(
                        artwork_id, SKIPPED, f"artwork {artwork_id} changed meanwhile", False
                    )
                )
                return
            assert artwork is not None
            if measured is not None:
                self._store_scores(session, measured, clip)
                artwork.init_image_blob = blob
            if artwork.state == ArtworkState.REJECTED.value:
                if artwork.reason != reason:
                    artwork.reason = reason
                    record_note(session, artwork, f"rejected again: {reason}")
            else:
                transition(session, artwork, ArtworkState.REJECTED, reason=reason)
            artwork.rejected_by = by
            artwork.category = None
            session.add(artwork)
        self.emit(PrepareOutcome(artwork_id, REJECTED, reason, True, "other" if clip else None))

    def fail(self, artwork_id: int, reason: str) -> None:
        with session_scope(self.engine) as session:
            artwork = session.get(Artwork, artwork_id)
            listing = session.get(Listing, artwork.listing_id) if artwork else None
            reason = f"{_label(artwork_id, listing)}: {reason}"
            if artwork is not None and self._still_mine(artwork):
                record_failure(session, artwork, ArtworkState.PREPARED, reason)
        self.emit(PrepareOutcome(artwork_id, FAILED, reason, False))


def prepare_artworks(
    engine: Engine,
    blobs: BlobStore,
    options: PrepareOptions,
    *,
    model_factory: Callable[[], CategoryModel] | None = None,
    artwork_ids: Sequence[int] | None = None,
    limit: int | None = None,
    redo: bool = False,
    retry_failed: bool = False,
    on_outcome: Callable[[PrepareOutcome], None] | None = None,
) -> PrepareReport:
    """Prepare the selected artworks (see the module docstring); CLIP is loaded through
    `model_factory` only when an artwork needs it."""
    stage = _Stage(engine, blobs, options, model_factory, on_outcome)
    with session_scope(engine) as session:
        ids = select_for_prepare(
            session, artwork_ids, redo=redo, retry_failed=retry_failed, limit=limit
        )
    for missing in sorted(set(artwork_ids or ()) - set(ids)):
        stage.emit(PrepareOutcome(missing, FAILED, f"artwork {missing} does not exist", False))
    for artwork_id in ids:
        stage.analyse(artwork_id, redo=redo, explicit=bool(artwork_ids))
    stage.categorise_pending()
    return stage.report
