"""Choosing the frame: frame scores and near-copy evidence, the choice and its reason, the
upscaled image.

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.types import TypeEngine

revision = "0011"
down_revision = "0009"  # the head of main when merged (ids are assigned per task)
branch_labels = None
depends_on = None


def _timestamp() -> TypeEngine[Any]:
    return sa.DateTime(timezone=True)


# (name, type) pairs: Column objects are built per run, since one attaches to one table.
_FRAME_COLUMNS: tuple[tuple[str, Callable[[], TypeEngine[Any]]], ...] = (
    ("prompt_similarity", sa.Float),
    ("source_similarity", sa.Float),
    ("critic", sa.Float),
    ("aesthetic", sa.Float),
    ("sharpness", sa.Float),
    ("colourfulness", sa.Float),
    ("blockiness", sa.Float),
    ("hash_distance", sa.Integer),
    ("hash_match", sa.String),
    ("score_models", sa.String),
    ("scored_at", _timestamp),
    ("near_copy_override", sa.Text),
)
_ARTWORK_COLUMNS: tuple[tuple[str, Callable[[], TypeEngine[Any]]], ...] = (
    ("chosen_by", sa.String),
    ("choice_reason", sa.Text),
    ("upscaled_blob", sa.String),
    ("upscaled_frame_id", sa.Integer),
    ("upscale_model", sa.String),
)


def upgrade() -> None:
    for name, kind in _FRAME_COLUMNS:
        op.add_column("frames", sa.Column(name, kind()))
    for name, kind in _ARTWORK_COLUMNS:
        op.add_column("artworks", sa.Column(name, kind()))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+, PostgreSQL): a batch copy of `artworks` would have to
    # drop the table the frames and pins point at, which foreign keys forbid.
    for name, _kind in reversed(_ARTWORK_COLUMNS):
        op.drop_column("artworks", name)
    for name, _kind in reversed(_FRAME_COLUMNS):
        op.drop_column("frames", name)
