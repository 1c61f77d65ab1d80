"""Settings of preparation (filters, categories, the prompt) and of choosing the frame
(scores, weighted rank, near-copy guard, review page, upscaling).

A mixin of `bot.settings.Settings`; the README's "Preparation" and "Choosing the frame"
sections describe them for users. Bounds keep a typo from silently disabling a filter or the
near-copy guard.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator


class FrameSettings(BaseModel):
    # --- preparation: filters, categories, the prompt (issue 12) ----------------------------
    prepare_resize: Literal["stretch", "crop", "pad"] = Field(
        "stretch",
        description="How the source becomes a square init image: stretch (as the study did), "
        "crop (centre) or pad (white).",
    )
    prompt_template: str = Field(
        "{category}",
        max_length=500,
        description="Generation prompt; {category} (the study's choice), {title} (the "
        "listing's own title) and {series} (its series title) are filled in.",
    )
    prepare_min_side: int = Field(
        256,
        ge=1,
        le=20_000,
        description="Quality filter: the shorter side of the source at least this, in pixels.",
    )
    prepare_min_sharpness: float = Field(
        5.0,
        ge=0,
        le=1_000_000,
        description="Blur filter: variance of the Laplacian of the luma (source stretched to "
        "512x512) at least this; 0 turns it off.",
    )
    prepare_max_single_colour: float = Field(
        0.98,
        gt=0,
        le=1,
        description="Blank filter: share of pixels in the most common colour at most this; "
        "1 turns it off.",
    )
    prepare_min_contrast: float = Field(
        5.0,
        ge=0,
        le=128,
        description="Near-blank filter: standard deviation of the luma (0-255 scale) at least "
        "this.",
    )
    prepare_max_blockiness: float = Field(
        2.5,
        ge=1,
        le=1000,
        description="JPEG blocking filter: block-boundary steps / in-block steps at most this "
        "(clean images are about 1).",
    )
    prepare_max_text: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Text filter: share of the image covered by text lines at most this.",
    )
    prepare_min_confidence: float = Field(
        0.5,
        ge=0,
        le=1,
        description="CLIP's probability for a category at least this, else the image is "
        "'other' and rejected.",
    )
    prepare_face_min_area: float = Field(
        0.03,
        ge=0,
        le=1,
        description="A detected face covering at least this share of the image makes it Faces, "
        "a smaller one People.",
    )
    prepare_clip_batch: int = Field(
        16, ge=1, le=512, description="Images per CLIP forward pass in prepare."
    )

    @field_validator("prompt_template")
    @classmethod
    def _prompt_template(cls, value: str) -> str:
        from generator.prompts import check_prompt_template

        return check_prompt_template(value)

    # --- choosing the frame: scores, weighted rank, near-copy guard, review, upscaling ------
    choose_clip: str | None = Field(
        None, description="CLIP weights that score frames; default: BOT_GENERATOR_CLIP."
    )
    choose_aesthetic: str = Field(
        "laion_aesthetic_vit_b32",
        description="Aesthetic head weights name; its score is used when the file is present.",
    )
    choose_batch: int = Field(16, ge=1, le=512, description="Frames scored per batch.")
    choose_weight_prompt: float = Field(
        1.0, ge=0.0, le=100.0, description="Rank weight of the CLIP prompt match."
    )
    choose_weight_source: float = Field(
        0.5, ge=0.0, le=100.0, description="Rank weight of the CLIP likeness to the source."
    )
    choose_weight_critic: float = Field(
        0.5, ge=0.0, le=100.0, description="Rank weight of the VQGAN discriminator critic."
    )
    choose_weight_aesthetic: float = Field(
        1.0, ge=0.0, le=100.0, description="Rank weight of the aesthetic score (when present)."
    )
    choose_weight_sharpness: float = Field(
        0.25, ge=0.0, le=100.0, description="Rank weight of sharpness (log variance of Laplacian)."
    )
    choose_weight_colourfulness: float = Field(
        0.1, ge=0.0, le=100.0, description="Rank weight of colourfulness."
    )
    choose_weight_blockiness: float = Field(
        0.25, ge=0.0, le=100.0, description="Rank weight against blockiness (lower is better)."
    )
    near_copy_max_hash_distance: int = Field(
        10,
        ge=0,
        le=32,
        description="A frame within this many bits (of 64) of any source variant is a near-copy.",
    )
    near_copy_min_clip_similarity: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description="A frame with at least this CLIP image similarity to the source is a "
        "near-copy.",
    )
    review_host: str = Field(
        "127.0.0.1", description="Address `bot review` binds; keep it on loopback."
    )
    review_port: int = Field(8765, ge=0, le=65535, description="Port of `bot review` (0: any).")
    upscale_enabled: bool = Field(
        False, description="Upscale the chosen frame before it is pinned (ESRGAN, spandrel)."
    )
    upscale_scale: int = Field(4, ge=2, le=4, description="Upscale factor: 2 or 4.")
    upscale_model: str | None = Field(
        None, description="Upscaler weights; default realesrgan_x4plus (x4) / _x2plus (x2)."
    )
    upscale_tile: int = Field(
        256, ge=32, le=4096, description="Input tile side for upscaling (bounds memory)."
    )
    upscale_tile_overlap: int = Field(
        16, ge=0, le=256, description="Context pixels around each upscaling tile."
    )

    @field_validator("upscale_scale")
    @classmethod
    def _upscale_scale(cls, value: int) -> int:
        if value not in (2, 4):
            raise ValueError("upscale_scale must be 2 or 4 (the Real-ESRGAN models)")
        return value

    @property
    def upscaler_name(self) -> str:
        return self.upscale_model or f"realesrgan_x{self.upscale_scale}plus"

    @property
    def upscaler_label(self) -> str:
        """What an upscaled image records as its upscaler: 'realesrgan_x4plus x4'."""
        return f"{self.upscaler_name} x{self.upscale_scale}"
