"""generated → chosen: pick the frame to publish.

A person picks by iteration (`bot choose ARTWORK --iteration N`); unattended, the frame with
the lowest CLIP loss (the closest to the prompt, as CLIP sees it) is taken. A learned critic
can replace `lowest_loss` later without changing anything else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from storage.artworks import transition
from storage.models import Artwork, ArtworkState
from storage.models.frame import Frame


class ChooseError(ValueError):
    pass


@dataclass(frozen=True)
class Choice:
    artwork_id: int
    frame: Frame
    changed: bool


def choose_frame(session: Session, artwork: Artwork, iteration: int | None = None) -> Choice:
    """Mark one frame of `artwork` as chosen and move the artwork to `chosen`.

    Idempotent: choosing the chosen frame again changes nothing. An artwork already past
    `chosen` (pinned, minted, ...) keeps its choice: its image is already on IPFS.
    """
    if artwork.state not in (ArtworkState.GENERATED.value, ArtworkState.CHOSEN.value):
        raise ChooseError(f"artwork {artwork.id} is {artwork.state}, not generated")
    frames = session.exec(
        select(Frame).where(Frame.artwork_id == artwork.id).order_by(col(Frame.id))
    ).all()
    if not frames:
        raise ChooseError(f"artwork {artwork.id} has no frames")
    if iteration is None:
        pick = lowest_loss(frames)
    else:
        matching = [f for f in frames if f.iteration == iteration]
        if not matching:
            found = sorted({f.iteration for f in frames})
            raise ChooseError(
                f"artwork {artwork.id} has no frame at iteration {iteration} (has {found})"
            )
        pick = matching[-1]  # the latest run's frame at that iteration
    changed = False
    for frame in frames:
        if frame.chosen != (frame.id == pick.id):
            frame.chosen = frame.id == pick.id
            session.add(frame)
            changed = True
    changed |= transition(session, artwork, ArtworkState.CHOSEN)
    return Choice(artwork.id or 0, pick, changed)


def lowest_loss(frames: Sequence[Frame]) -> Frame:
    """The frame with the lowest loss; frames without a loss come last, ties go to the later."""
    return min(
        frames, key=lambda f: (f.loss is None, f.loss if f.loss is not None else 0.0, -f.iteration)
    )
