"""Preparation: scores per artwork, the prompt it was generated with, who rejected it, overrides.

`artworks.category` used to hold the listing's series title (curation copied it there and it
was the prompt). From here on it is one of the study's five categories, decided by `prepare`
or a person, and the prompt is recorded on the artwork when it is generated. Existing rows:

- artworks with frames keep the prompt they were generated with (the latest frame's), and
  their category is cleared (the series title stays on the listing, where the metadata reads it);
- artworks not generated yet lose the series title as category; `prepared` ones go back to
  `candidate` (an event says why) so `bot prepare` gives them a category; failed ones that
  failed generating without a frame are retried from `prepare` for the same reason;
- rejected artworks were rejected by curation (`rejected_by = 'curate'`).

Revision ID: 0008
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime, utcnow

revision = "0008"
down_revision = "0012"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
_HAS_FRAMES = "EXISTS (SELECT 1 FROM frames f WHERE f.artwork_id = artworks.id)"
_BACK_TO_CANDIDATE = (
    "schema 0008: prepared again, to get one of the five categories (the series title is no "
    "longer the prompt)"
)


def upgrade() -> None:
    with op.batch_alter_table("artworks") as batch:
        batch.add_column(sa.Column("prompt", sa.Text()))
        batch.add_column(sa.Column("rejected_by", sa.String()))
        batch.add_column(sa.Column("override_category", sa.String()))
        batch.add_column(sa.Column("override_reason", sa.Text()))
        batch.add_column(sa.Column("override_source", sa.String()))
        batch.add_column(sa.Column("override_at", TS))
    op.create_table(
        "preparation_scores",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("artwork_id", sa.Integer(), sa.ForeignKey("artworks.id"), nullable=False),
        sa.Column("source_format", sa.String(), nullable=False),
        sa.Column("source_width", sa.Integer(), nullable=False),
        sa.Column("source_height", sa.Integer(), nullable=False),
        sa.Column("sharpness", sa.Float(), nullable=False),
        sa.Column("single_colour", sa.Float(), nullable=False),
        sa.Column("contrast", sa.Float(), nullable=False),
        sa.Column("blockiness", sa.Float()),
        sa.Column("text_score", sa.Float(), nullable=False),
        sa.Column("faces", sa.Integer()),
        sa.Column("face_area", sa.Float()),
        sa.Column("clip_category", sa.String()),
        sa.Column("clip_confidence", sa.Float()),
        sa.Column("clip_runner_up", sa.String()),
        sa.Column("clip_runner_up_confidence", sa.Float()),
        sa.Column("clip_model", sa.String()),
        sa.Column("notes", sa.Text()),
        sa.Column("measured_at", TS, nullable=False),
        sa.UniqueConstraint("artwork_id"),
    )
    now = sa.bindparam("now", value=utcnow(), type_=UTCDateTime())
    reason = sa.bindparam("reason", value=_BACK_TO_CANDIDATE, type_=sa.Text())
    op.execute(
        sa.text(
            "UPDATE artworks SET prompt = (SELECT f.prompt FROM frames f WHERE f.artwork_id ="
            f" artworks.id ORDER BY f.id DESC LIMIT 1) WHERE {_HAS_FRAMES}"
        )
    )
    op.execute(
        sa.text(
            "INSERT INTO artwork_events (artwork_id, from_state, to_state, reason, at) SELECT id,"
            f" 'prepared', 'candidate', :reason, :now FROM artworks WHERE state = 'prepared' AND"
            f" NOT {_HAS_FRAMES}"
        ).bindparams(reason, now)
    )
    op.execute(
        sa.text(
            "UPDATE artworks SET state = 'candidate', state_changed_at = :now, updated_at = :now"
            f" WHERE state = 'prepared' AND NOT {_HAS_FRAMES}"
        ).bindparams(now)
    )
    op.execute(
        sa.text(
            "UPDATE artworks SET failed_stage = 'prepared' WHERE state = 'failed' AND"
            f" failed_stage = 'generated' AND NOT {_HAS_FRAMES}"
        )
    )
    op.execute(sa.text("UPDATE artworks SET category = NULL"))
    op.execute(sa.text("UPDATE artworks SET rejected_by = 'curate' WHERE state = 'rejected'"))


def downgrade() -> None:
    # The older code reads the prompt from `category`: give it back the prompt, or the title.
    op.execute(
        sa.text(
            "UPDATE artworks SET category = COALESCE(prompt, (SELECT l.title FROM listings l"
            " WHERE l.id = artworks.listing_id), category)"
        )
    )
    op.drop_table("preparation_scores")
    with op.batch_alter_table("artworks") as batch:
        batch.drop_column("override_at")
        batch.drop_column("override_source")
        batch.drop_column("override_reason")
        batch.drop_column("override_category")
        batch.drop_column("rejected_by")
        batch.drop_column("prompt")
