"""Frame scores on real photos with known properties (scikit-image's sample images)."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image, ImageFilter, ImageOps
from skimage import data as photos

from generator.clip_scores import embed_images, to_batch
from generator.frame_scores import FrameScorer, ScoreJob, prompt_texts
from generator.image_quality import blockiness, colourfulness, sharpness
from generator.near_copy import NearCopyThresholds, SourceIndex, hash_evidence, verdict

THRESHOLDS = NearCopyThresholds(max_hash_distance=10, min_clip_similarity=0.95)


def photo(name: str) -> Image.Image:
    return Image.fromarray(getattr(photos, name)()).convert("RGB")


def jpeg(image: Image.Image, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")


def recolour(image: Image.Image, hue_shift: int = 90) -> Image.Image:
    hsv = np.asarray(image.convert("HSV")).copy()
    hsv[..., 0] = (hsv[..., 0].astype(int) + hue_shift) % 256
    return Image.fromarray(hsv, mode="HSV").convert("RGB")


@pytest.fixture(scope="module")
def astronaut() -> Image.Image:
    return photo("astronaut")


def test_sharpness_drops_with_blur(astronaut: Image.Image) -> None:
    blurred = astronaut.filter(ImageFilter.GaussianBlur(3))
    assert sharpness(astronaut) > 20 * sharpness(blurred)
    assert sharpness(Image.new("RGB", (64, 64), (120, 30, 200))) == 0.0


def test_colourfulness_is_zero_for_grey_and_orders_photos(astronaut: Image.Image) -> None:
    grey = astronaut.convert("L").convert("RGB")
    assert colourfulness(grey) == pytest.approx(0.0, abs=1e-9)
    assert colourfulness(photo("coffee")) > 50 > colourfulness(photo("chelsea")) > 20
    assert colourfulness(Image.new("RGB", (8, 8), (255, 0, 0))) == pytest.approx(
        0.3 * 255 * 1.118, rel=1e-3
    )


def test_blockiness_finds_jpeg_blocks(astronaut: Image.Image) -> None:
    assert blockiness(astronaut) < 1.1
    assert blockiness(jpeg(astronaut, 5)) > 2.5
    assert blockiness(jpeg(astronaut, 95)) < 1.2
    assert blockiness(astronaut.filter(ImageFilter.GaussianBlur(3))) < 1.1


# --- near-copy evidence -------------------------------------------------------------------


@pytest.fixture(scope="module")
def index(astronaut: Image.Image) -> SourceIndex:
    return SourceIndex.of([astronaut])


def disguised(astronaut: Image.Image) -> dict[str, Image.Image]:
    side = astronaut.width
    return {
        "a copy": astronaut.copy(),
        "a mirrored copy": ImageOps.mirror(astronaut),
        "an upside-down copy": ImageOps.flip(astronaut),
        "a re-encoded, resized copy": jpeg(astronaut.resize((300, 300)), 60),
        "a recoloured crop": recolour(astronaut)
        .crop((50, 50, side - 50, side - 50))
        .resize((side, side)),
        "a mirrored, recoloured off-centre crop": ImageOps.mirror(
            recolour(astronaut, 60).crop((80, 40, 480, 440))
        ).resize((side, side)),
        "an inverted 70% crop": ImageOps.invert(astronaut.crop((60, 60, 418, 418))).resize(
            (side, side)
        ),
        "a copy in a frame": ImageOps.expand(astronaut.resize((410, 410)), border=51, fill=0),
    }


def test_disguised_copies_of_the_source_are_found(
    astronaut: Image.Image, index: SourceIndex
) -> None:
    for what, image in disguised(astronaut).items():
        evidence = hash_evidence(image, index)
        assert evidence.distance <= 6, (what, evidence)
        assert verdict(evidence.distance, None, THRESHOLDS).near_copy, what
    assert "vs source mirrored:" in hash_evidence(ImageOps.mirror(astronaut), index).match


def test_other_photos_and_noise_are_not_near_copies(index: SourceIndex) -> None:
    others = {name: photo(name) for name in ("coffee", "chelsea", "rocket", "camera", "retina")}
    rng = np.random.default_rng(0)
    for seed in range(3):  # what an untrained model makes: noise, flat or speckled
        pixels = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
        others[f"noise {seed}"] = Image.fromarray(pixels).resize((512, 512))
    others["flat grey"] = Image.new("RGB", (512, 512), (128, 128, 128))
    for name, image in others.items():
        evidence = hash_evidence(image, index)
        assert evidence.distance >= 16, (name, evidence)
        assert not verdict(evidence.distance, None, THRESHOLDS).near_copy


def test_the_verdict_names_its_evidence() -> None:
    by_clip = verdict(30, 0.97, THRESHOLDS)
    assert by_clip.near_copy and "CLIP image similarity 0.970" in by_clip.reason
    by_hash = verdict(4, 0.2, THRESHOLDS, hash_match="dHash, frame vs source mirrored")
    assert by_hash.near_copy and "4/64 bits" in by_hash.reason and "mirrored" in by_hash.reason
    assert not verdict(11, 0.949, THRESHOLDS).near_copy
    assert not verdict(None, None, THRESHOLDS).near_copy
    with pytest.raises(ValueError, match="no source"):
        hash_evidence(photo("coffee"), SourceIndex.of([]))


# --- CLIP-based scores through the real scorer --------------------------------------------


def test_clip_scores_copy_flip_and_other(tiny_models: tuple, astronaut: Image.Image) -> None:
    _, clip_model = tiny_models
    scorer = FrameScorer(clip_model, torch.device("cpu"), discriminator_for=lambda _: None)
    frames = [astronaut, ImageOps.mirror(astronaut), photo("coffee").resize((512, 512))]
    scores = scorer.score(
        ScoreJob(1, frames, ["an astronaut"] * 3, sources=[astronaut], vqgan=None)
    )
    copy, mirrored, other = scores
    assert copy.source_similarity == pytest.approx(1.0, abs=1e-4)
    assert mirrored.source_similarity == pytest.approx(1.0, abs=1e-4)  # vs the mirrored source
    assert other.source_similarity < 0.9999
    assert copy.hash_distance == 0 and other.hash_distance >= 16
    for entry in scores:
        assert -1.0 <= entry.prompt_similarity <= 1.0
        assert entry.critic is None and entry.aesthetic is None
        assert entry.sharpness > 0 and entry.colourfulness > 0 and entry.blockiness >= 1.0
    # batched scoring equals scoring one frame at a time
    single = FrameScorer(
        clip_model, torch.device("cpu"), discriminator_for=lambda _: None, batch_size=1
    ).score(ScoreJob(1, frames, ["an astronaut"] * 3, sources=[astronaut], vqgan=None))
    for a, b in zip(scores, single, strict=True):
        assert a.prompt_similarity == pytest.approx(b.prompt_similarity, abs=1e-5)
        assert a.source_similarity == pytest.approx(b.source_similarity, abs=1e-5)


def test_prompt_match_uses_the_positive_prompt_parts() -> None:
    assert prompt_texts("Sea|blurry:-0.5") == [("Sea", 1.0)]
    assert prompt_texts("Sea:2|sky") == [("Sea", 2.0), ("sky", 1.0)]
    assert prompt_texts("Series: Dreams") == [("Series: Dreams", 1.0)]


def test_prompt_similarity_is_the_cosine_of_clip_embeddings(
    tiny_models: tuple, astronaut: Image.Image
) -> None:
    import clip

    _, clip_model = tiny_models
    scorer = FrameScorer(clip_model, torch.device("cpu"), discriminator_for=lambda _: None)
    [score] = scorer.score(ScoreJob(1, [astronaut], ["a cat"], sources=[astronaut], vqgan=None))
    with torch.no_grad():
        image = embed_images(clip_model, to_batch([astronaut]), torch.device("cpu"))[0]
        text = clip_model.encode_text(clip.tokenize(["a cat"])).float()[0]
    expected = float(image @ (text / text.norm()))
    assert score.prompt_similarity == pytest.approx(expected, abs=1e-5)
