"""Safe decoding: every bad-image case gives one clear line, and good odd images come out right."""

from __future__ import annotations

import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from skimage import data

from generator.decode import DecodePolicy, ImageRejected, decode_image
from tests.generator.images import animated, encode, photo, video_bytes

POLICY = DecodePolicy(max_bytes=5_000_000, max_pixels=5_000_000, min_side=128)


def _reject(data_: bytes, policy: DecodePolicy = POLICY) -> str:
    with pytest.raises(ImageRejected) as caught:
        decode_image(data_, policy)
    reason = str(caught.value)
    assert reason and "\n" not in reason and len(reason) <= 300
    return reason


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height, with one tiny IDAT (a bomb's first bytes)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_truncated_and_corrupt_files_are_refused_with_the_reason() -> None:
    jpeg = encode(photo("astronaut"), "JPEG")
    png = encode(photo("astronaut"))
    assert "truncated or corrupt JPEG" in _reject(jpeg[: len(jpeg) // 2])
    assert "truncated or corrupt PNG" in _reject(png[: len(png) // 3])
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0xFF  # a bit flip inside IDAT: the CRC no longer matches
    assert "corrupt PNG" in _reject(bytes(flipped))
    assert _reject(b"") == "empty file"


def test_caps_come_before_decoding() -> None:
    assert "over the 100-byte cap" in _reject(b"\x89PNG" + b"\0" * 200, DecodePolicy(100))
    reason = _reject(_png_header_only(3000, 3000))
    assert "3000x3000" in reason and "5000000-pixel cap" in reason
    # Past twice Pillow's own limit its guard answers first, in open(), before our check.
    assert "decompression bomb refused by Pillow" in _reject(_png_header_only(100_000, 100_000))
    # Pillow's own guard stays on, process-wide: nothing here switched it off.
    assert Image.MAX_IMAGE_PIXELS is not None and Image.MAX_IMAGE_PIXELS > 0


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda tmp: video_bytes(tmp, "mp4", "mp4v"), "a video (MP4/QuickTime"),
        (lambda tmp: video_bytes(tmp, "avi", "MJPG"), "a video (AVI)"),
        (lambda tmp: b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
        (lambda tmp: b"\xef\xbb\xbf  <!DOCTYPE html><html><body>404</body></html>", "HTML page"),
        (lambda tmp: b'{"error": "not found"}', "JSON text"),
        (lambda tmp: encode(photo("coffee"), "TIFF"), "a TIFF image"),
        (lambda tmp: (Path(data.__file__).parent / "multipage.tif").read_bytes(), "a TIFF image"),
        (lambda tmp: encode(photo("coffee"), "AVIF"), "an AVIF image"),
        (lambda tmp: encode(Image.fromarray(photo("coffee")).convert("L"), "EPS"), "EPS"),
        (lambda tmp: encode(photo("coffee"), "BMP"), "a BMP image"),
        (lambda tmp: encode(photo("coffee"), "PDF"), "a PDF document"),
        (lambda tmp: bytes(range(256)) * 4, "unknown content (starts with 00 01 02"),
    ],
)
def test_what_is_not_an_accepted_raster_image_is_named(tmp_path: Path, make, expected) -> None:
    reason = _reject(make(tmp_path))
    assert expected in reason, reason
    assert "not an accepted image (PNG, JPEG, GIF, WebP)" in reason


def test_cmyk_palette_alpha_16_bit_and_exif_come_out_as_upright_rgb() -> None:
    astronaut = Image.fromarray(photo("astronaut"))
    cmyk = decode_image(encode(astronaut.convert("CMYK"), "JPEG", quality=95), POLICY)
    assert "CMYK converted to RGB" in cmyk.notes
    reference = decode_image(encode(astronaut, "JPEG", quality=95), POLICY)
    assert np.abs(cmyk.rgb.astype(int) - reference.rgb.astype(int)).mean() < 8

    palette = Image.new("P", (200, 200), 0)
    palette.putpalette([255, 0, 0] + [0, 0, 255] * 255)
    palette.paste(1, (100, 0, 200, 200))  # right half blue, left half index 0 = transparent
    flat = decode_image(encode(palette, "PNG", transparency=0), POLICY)
    assert tuple(flat.rgb[10, 10]) == (255, 255, 255)  # transparency flattened onto white
    assert tuple(flat.rgb[10, 190]) == (0, 0, 255)

    deep = np.zeros((200, 200), np.uint16)
    deep[:, :100], deep[:, 100:] = 65535, 32896
    grey = decode_image(encode(Image.fromarray(deep)), POLICY)
    assert tuple(grey.rgb[5, 5]) == (255, 255, 255) and tuple(grey.rgb[5, 150]) == (128,) * 3
    assert "16-bit scaled to 8-bit" in grey.notes

    wide = astronaut.crop((0, 0, 512, 256))
    exif = wide.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    upright = decode_image(encode(wide, "JPEG", exif=exif), POLICY)
    assert (upright.width, upright.height) == (256, 512)
    assert upright.rgb.shape[0] > upright.rgb.shape[1]
    assert "EXIF orientation 6 applied" in upright.notes


@pytest.mark.parametrize("fmt", ["GIF", "WEBP", "PNG"])
def test_animated_images_give_their_first_frame(fmt: str) -> None:
    decoded = decode_image(animated(fmt), POLICY)
    assert "animated: first frame used" in decoded.notes
    # The first frame is the astronaut, not the red frames after it.
    assert decoded.rgb[..., 0].mean() < 200 and decoded.rgb.std() > 20


def test_large_images_are_decoded_reduced() -> None:
    big = Image.fromarray(photo("astronaut")).resize((2048, 2048))
    jpeg = decode_image(encode(big, "JPEG"), POLICY)
    assert "decoded at 1/8 size" in jpeg.notes and jpeg.rgb.shape == (128, 128, 3)
    assert (jpeg.width, jpeg.height) == (2048, 2048)
    png = decode_image(encode(big), POLICY)
    assert png.rgb.shape == (128, 128, 3)  # reduced right after decoding, x16


def _mutations(seed: int, count: int) -> list[tuple[str, bytes]]:
    """Seeded mutations of real photos in every accepted format (and some that are not)."""
    rng = random.Random(seed)
    sources = []
    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        image = Image.fromarray(photo(name)).resize((160, 120))
        sources += [
            encode(image, "JPEG", quality=80),
            encode(image, "JPEG", quality=80, progressive=True),
            encode(image),
            encode(image.convert("P")),
            encode(image, "GIF"),
            encode(image, "WEBP"),
            encode(image, "TIFF"),
            encode(image, "AVIF"),
        ]
    sources += [animated("GIF"), animated("WEBP"), animated("PNG")]
    cases = []
    for index in range(count):
        original = bytearray(rng.choice(sources))
        kind = rng.choice(["flip", "truncate", "splice", "zero", "insert", "header"])
        if kind == "flip":
            for _ in range(rng.randint(1, 20)):
                original[rng.randrange(len(original))] ^= 1 << rng.randrange(8)
        elif kind == "truncate":
            del original[rng.randrange(8, len(original)) :]
        elif kind == "splice":
            other = rng.choice(sources)
            cut = rng.randrange(8, len(original))
            original[cut:] = other[rng.randrange(len(other)) :]
        elif kind == "zero":
            start = rng.randrange(len(original))
            original[start : start + rng.randint(1, 500)] = b"\0" * rng.randint(1, 500)
        elif kind == "insert":
            at = rng.randrange(len(original))
            original[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        else:  # header fields: sizes, bit depths, chunk lengths
            for _ in range(4):
                original[rng.randrange(8, min(64, len(original)))] = rng.randrange(256)
        cases.append((f"#{index} {kind}", bytes(original)))
    return cases


def test_mutation_fuzz_never_escapes_with_anything_but_a_one_line_reason() -> None:
    """400 seeded mutations of real photos: each decodes or is refused in one line."""
    decoded = refused = 0
    for label, blob in _mutations(seed=2021, count=400):
        try:
            result = decode_image(blob, POLICY)
        except ImageRejected as exc:
            reason = str(exc)
            assert reason and "\n" not in reason and len(reason) <= 300, (label, reason)
            refused += 1
        else:
            assert result.rgb.dtype == np.uint8 and result.rgb.ndim == 3, label
            assert result.rgb.shape[2] == 3 and min(result.rgb.shape[:2]) >= 1, label
            decoded += 1
    assert decoded + refused == 400 and refused > 100 and decoded > 20


def test_decoding_memory_is_bounded_by_the_pixel_cap(tmp_path: Path) -> None:
    """A 25M-pixel RGBA PNG (under 300 KB on disk) costs its decoded frame (100 MB) and a small
    working copy, not the several frames' worth it used to."""
    import subprocess
    import sys

    path = tmp_path / "bomb-ish.png"
    Image.new("RGBA", (5000, 5000), (10, 20, 30, 128)).save(path, "PNG")
    assert path.stat().st_size < 300_000
    script = (
        "import resource, sys\n"
        "from generator.decode import DecodePolicy, decode_image\n"
        "data = open(sys.argv[1], 'rb').read()\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "decoded = decode_image(data, DecodePolicy(max_pixels=40_000_000))\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(before, after, decoded.rgb.shape[0])\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script, str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    before, after, side = (int(v) for v in completed.stdout.split())
    assert side == 556  # reduced x9 right after decoding (shorter side stays >= 512)
    assert (after - before) / 1024 < 140, (before, after)  # KiB -> MiB: one 100 MB frame


def test_truncated_chunk_stream_reports_without_pillow_types() -> None:
    png = encode(photo("chelsea"))
    broken = png[:33] + b"\x00\x00\x00\x10IDAT" + b"\x01" * 16 + b"\x00\x00\x00\x00"
    reason = _reject(broken)
    assert reason.startswith("truncated or corrupt PNG image")
    assert "Error" not in reason.split(":")[0]


def test_no_pillow_global_is_touched() -> None:
    limit = Image.MAX_IMAGE_PIXELS
    decode_image(encode(photo("coffee"), "JPEG"), POLICY)
    decode_image(encode(photo("coffee")), POLICY)
    assert (Image.MAX_IMAGE_PIXELS, limit) == (limit, 89_478_485)
