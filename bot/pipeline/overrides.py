"""A person's decisions about artworks: a category, a rejection, or back to automatic.

An override is stored on the artwork (`override_category` / `override_reason`, with where it
came from and when), written to its event log, and wins over the automatic decision every time
`prepare` runs again. It applies until generation: once frames exist, they were made with
the prompt of the category at that time, so the category no longer changes.

- a category: an artwork rejected by `prepare` or a person, or failed, comes back as a
  candidate (the next `bot prepare` prepares it with that category, skipping the filters and
  CLIP); a prepared artwork gets the category at once; a candidate keeps it for its
  preparation; one that curation rejected keeps it for when curation selects it (a category
  does not overrule nsfw, price or rank);
- a rejection: the artwork is rejected now (`rejected_by = person`), and stays so;
- `auto`: the override is removed; a person's rejection goes back to candidate.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from generator.category_names import CATEGORIES, canonical_category
from storage.artworks import record_note, transition
from storage.db import session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.types import utcnow

AUTO = "auto"
MAX_REASON = 500
_OPEN = (ArtworkState.CANDIDATE.value, ArtworkState.PREPARED.value, ArtworkState.REJECTED.value)


class OverrideError(ValueError):
    pass


def _check_open(artwork: Artwork) -> None:
    """Overrides are for artworks not generated yet."""
    if artwork.state in _OPEN:
        return
    if artwork.state == ArtworkState.FAILED.value and artwork.failed_stage in (None, "prepared"):
        return
    frames = f", made with the prompt {artwork.prompt!r}" if artwork.prompt else ""
    raise OverrideError(
        f"artwork {artwork.id} is {artwork.state}{frames}: a person's category or rejection "
        "applies only until generation"
    )


def _stamp(artwork: Artwork, source: str) -> None:
    artwork.override_source = source[:200]
    artwork.override_at = utcnow()


def set_category(session: Session, artwork: Artwork, text: str, *, source: str) -> str:
    """Give `artwork` a person's category; returns what changed (empty when nothing did)."""
    category = canonical_category(text)
    if category is None:
        raise OverrideError(
            f"{text.strip()!r} is not a category: {', '.join(CATEGORIES)}, reject:REASON or auto"
        )
    _check_open(artwork)
    if artwork.override_category == category and artwork.override_reason is None:
        return ""
    artwork.override_category, artwork.override_reason = category, None
    _stamp(artwork, source)
    note = f"a person set the category to {category} ({source})"
    result = f"category {category}"
    if artwork.state == ArtworkState.PREPARED.value:
        artwork.category = category
        record_note(session, artwork, note)
    elif artwork.state == ArtworkState.CANDIDATE.value or _curation_rejected(artwork):
        record_note(session, artwork, note)
        if artwork.state == ArtworkState.REJECTED.value:
            result += f" (kept for when curation selects it; now rejected: {artwork.reason})"
    else:  # rejected by prepare or a person, or failed: back in line for `bot prepare`
        transition(session, artwork, ArtworkState.CANDIDATE, reason=note)
    session.add(artwork)
    return result


def _curation_rejected(artwork: Artwork) -> bool:
    """Curation's rules (still images, nsfw, years, price, rank) are not a person's category
    to overrule: the category waits until curation selects the artwork."""
    return artwork.state == ArtworkState.REJECTED.value and artwork.rejected_by in ("curate", None)


def reject(session: Session, artwork: Artwork, reason: str, *, source: str) -> str:
    """Reject `artwork` for a person's reason; returns what changed (empty when nothing did)."""
    reason = " ".join(reason.split())[:MAX_REASON]
    if not reason:
        raise OverrideError("a rejection needs a reason (reject:REASON, --reason TEXT)")
    _check_open(artwork)
    if artwork.override_reason == reason and artwork.state == ArtworkState.REJECTED.value:
        return ""
    artwork.override_reason, artwork.override_category = reason, None
    _stamp(artwork, source)
    full = f"rejected by a person: {reason}"
    if artwork.state == ArtworkState.REJECTED.value:
        artwork.reason = full
        record_note(session, artwork, f"{full} ({source})")
    else:
        transition(session, artwork, ArtworkState.REJECTED, reason=full)
    artwork.rejected_by = "person"
    artwork.category = None
    session.add(artwork)
    return "rejected"


def clear(session: Session, artwork: Artwork, *, source: str) -> str:
    """Back to the automatic decision."""
    if artwork.override_category is None and artwork.override_reason is None:
        return ""
    _check_open(artwork)
    artwork.override_category = artwork.override_reason = None
    _stamp(artwork, source)
    note = f"a person's decision removed: automatic again ({source})"
    if artwork.state == ArtworkState.REJECTED.value and artwork.rejected_by == "person":
        transition(session, artwork, ArtworkState.CANDIDATE, reason=note)
    else:
        record_note(session, artwork, note)
    session.add(artwork)
    return "automatic again"


def apply_label(session: Session, artwork: Artwork, label: str, *, source: str) -> str:
    """A label as the labels file writes it: a category, `reject:REASON` or `auto`."""
    text = label.strip()
    kind, sep, rest = text.partition(":")
    if sep and kind.strip().lower() == "reject":
        return reject(session, artwork, rest, source=source)
    if text.lower() == "reject":
        raise OverrideError("a rejection needs a reason: reject:REASON")
    if text.lower() == AUTO:
        return clear(session, artwork, source=source)
    return set_category(session, artwork, text, source=source)


# --- the labels file -----------------------------------------------------------------------


@dataclass
class LabelsReport:
    applied: int = 0
    unchanged: int = 0
    problems: list[str] = field(default_factory=list)


def _find_artwork(session: Session, column: str, value: str) -> Artwork:
    value = value.strip()
    if column == "artwork":
        if not value.isdigit():
            raise OverrideError(f"artwork id {value!r} is not a number")
        artwork = session.get(Artwork, int(value))
        if artwork is None:
            raise OverrideError(f"artwork {value} does not exist")
        return artwork
    if value.isdigit():
        listing = session.get(Listing, int(value))
    else:
        marketplace, sep, item_id = value.partition(":")
        if not sep:
            raise OverrideError(f"listing {value!r} is neither an id nor MARKETPLACE:ITEM_ID")
        listing = session.exec(
            select(Listing).where(Listing.marketplace == marketplace, Listing.item_id == item_id)
        ).first()
    if listing is None:
        raise OverrideError(f"listing {value!r} does not exist")
    artwork = session.exec(select(Artwork).where(Artwork.listing_id == listing.id)).first()
    if artwork is None:
        raise OverrideError(f"listing {value!r} has no artwork yet (run `bot curate`)")
    return artwork


def import_labels(engine: Engine, path: Path) -> LabelsReport:
    """Apply a labels CSV: a header with `artwork` or `listing`, and `label` (or `category`);
    each label a category, `reject:REASON` or `auto`. Bad rows are reported by line and
    skipped; the rest are applied in one transaction."""
    report = LabelsReport()
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OverrideError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise OverrideError(f"{path}: {exc.strerror or exc}") from None
    reader = csv.reader(io.StringIO(text))
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as exc:
        raise OverrideError(f"{path}: line 1: {exc}") from None
    key = next((name for name in ("artwork", "listing") if name in header), None)
    label_column = next((name for name in ("label", "category") if name in header), None)
    if key is None or label_column is None:
        raise OverrideError(
            f"{path}: the header needs an 'artwork' or 'listing' column and a 'label' column "
            f"(found {', '.join(header) or 'nothing'})"
        )
    key_at, label_at = header.index(key), header.index(label_column)
    with session_scope(engine) as session:
        line = 1
        while True:
            try:
                row = next(reader, None)
            except csv.Error as exc:
                report.problems.append(f"line {reader.line_num}: {exc}; the rest is not read")
                break
            line = reader.line_num
            if row is None:
                break
            if not any(cell.strip() for cell in row):
                continue
            if len(row) <= max(key_at, label_at):
                report.problems.append(f"line {line}: {len(row)} field(s), expected {len(header)}")
                continue
            try:
                artwork = _find_artwork(session, key, row[key_at])
                changed = apply_label(
                    session, artwork, row[label_at], source=f"{path.name} line {line}"
                )
            except OverrideError as exc:
                report.problems.append(f"line {line}: {exc}")
                continue
            if changed:
                report.applied += 1
            else:
                report.unchanged += 1
    return report
