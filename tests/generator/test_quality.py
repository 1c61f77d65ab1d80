"""Quality, text and face signals on real photographs (scikit-image's) and rendered text."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from generator.decode import DecodePolicy, decode_image
from generator.faces import FaceDetector
from generator.quality import QualityThresholds, first_failure, measure
from generator.resize import ResizeMode, resize_square
from generator.text_regions import text_score
from tests.generator.images import encode, photo, text_page

POLICY = DecodePolicy(min_side=512)
PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "camera", "coins", "grass", "brick")


def _scores(data: bytes):
    return measure(decode_image(data, POLICY))


def test_sharp_photos_pass_and_each_defect_is_named() -> None:
    limits = QualityThresholds()
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = Image.fromarray(photo(name))
        assert first_failure(_scores(encode(image, "JPEG", quality=90)), limits) is None, name
        blurred = _scores(encode(image.filter(ImageFilter.GaussianBlur(3))))
        assert (first_failure(blurred, limits) or "").startswith("blurry: sharpness"), name
        blocky = _scores(encode(image, "JPEG", quality=5))
        assert blocky.blockiness is not None and blocky.blockiness > 2.5, name
        assert (first_failure(blocky, limits) or "").startswith("JPEG blocking"), name
    small = _scores(encode(Image.fromarray(photo("coffee")).resize((150, 100))))
    assert first_failure(small, limits) == (
        "too small: the source is 150x100, shorter side under 256 px"
    )
    blank = _scores(encode(Image.new("RGB", (600, 600), (250, 250, 250))))
    assert (first_failure(blank, limits) or "").startswith("near-blank: 100%")
    rng = np.random.default_rng(0)
    faint = np.clip(rng.normal(128, 2.0, (600, 600, 3)), 0, 255).astype(np.uint8)
    faint[:, :300] += 8  # two faint tones: not one colour, but hardly any contrast
    assert (first_failure(_scores(encode(faint)), limits) or "").startswith("low contrast")


def test_blocking_is_only_measured_on_jpeg_sources() -> None:
    pixel_art = np.kron(np.random.default_rng(1).integers(0, 255, (64, 64, 3)), np.ones((8, 8, 1)))
    scores = _scores(encode(pixel_art.astype(np.uint8)))  # perfect 8-pixel edges, as art
    assert scores.blockiness is None
    assert _scores(encode(photo("astronaut"), "JPEG", quality=95)).blockiness == pytest.approx(
        1.0, abs=0.2
    )


def test_text_score_separates_pages_of_text_from_photographs() -> None:
    pages = [
        photo("page"),  # a scanned page, bundled with scikit-image
        text_page(),
        text_page((1000, 600), 30, (20, 20, 30), (230, 230, 230), lines=8, seed=1),
        text_page((900, 900), 70, (240, 220, 200), (60, 20, 20), lines=6, seed=2),
    ]
    for page in pages:
        assert text_score(page) > 0.15
    for name in PHOTOS:
        assert text_score(photo(name)) < 0.05, name


def test_the_face_detector_on_real_photographs() -> None:
    detector = FaceDetector()
    astronaut = detector.detect(photo("astronaut"))
    assert astronaut.count == 1 and 0.03 < astronaut.largest_area < 0.06
    for name in ("chelsea", "coffee", "rocket", "coins", "grass"):
        assert detector.detect(photo(name)).count == 0, name


@pytest.mark.parametrize("mode", list(ResizeMode))
def test_resize_modes(mode: ResizeMode) -> None:
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, :100] = (255, 0, 0)  # red left third
    out = resize_square(wide, 64, mode)
    assert out.shape == (64, 64, 3) and out.dtype == np.uint8
    if mode is ResizeMode.STRETCH:
        assert tuple(out[32, 5]) == (255, 0, 0) and tuple(out[32, 60]) == (0, 0, 0)
    elif mode is ResizeMode.CROP:
        assert not (out[..., 0] > 200).any()  # the centre square has no red
    else:
        assert tuple(out[2, 32]) == (255, 255, 255)  # white bars above and below
        assert tuple(out[32, 3]) == (255, 0, 0)
