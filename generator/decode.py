"""Safe decoding of untrusted image bytes into one RGB still, with bounded memory.

Every source image comes from a stranger, so the rules are:

- Only the raster formats the downloader accepts (PNG, JPEG, GIF, WebP) are opened, and Pillow
  is told so (`Image.open(formats=...)`): a TIFF, AVIF, EPS or PSD never reaches its decoder,
  whatever its bytes claim. Videos, SVG/HTML/XML and other text posing as an image are named.
- Byte cap first, then the pixel cap on the header's width x height before any pixel is
  decoded (a few KB can inflate to gigabytes). Pillow's own decompression-bomb guard
  (`Image.MAX_IMAGE_PIXELS`) is left as it is, process-wide, as the outer line; our cap is
  per call, so nothing global changes and threads do not race on it.
- Decoded at reduced size where the format allows it (JPEG DCT scaling through `draft`), then
  reduced by an integer factor right after decoding (`Image.reduce`), so the colour
  conversions below work on a small image: peak memory is the decoded frame (at most the pixel
  cap x 4 bytes, less for JPEG) plus a small working copy.
- Any exception from the decoder (truncated, corrupt, or a decoder bug) becomes `ImageRejected`
  with one line that says why; callers never see a Pillow exception type.
- Still output: the first frame of an animated GIF/WebP/APNG, EXIF orientation applied, CMYK,
  palette (with its transparency), 16-bit and float modes converted to 8-bit RGB, alpha
  flattened onto white (NFT art with alpha is usually drawn for a light page).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

ACCEPTED_FORMATS = ("PNG", "JPEG", "GIF", "WEBP")
JPEG_BLOCK = 8
_PROBE_SIDE = 512
_STRIP_ROWS = 256  # the blockiness probe: a grid-aligned crop of at most this side
_DEPTH = {"I;16": "16-bit", "I": "32-bit integer", "F": "32-bit float"}
_TRANSPOSE = {  # EXIF orientation -> the operation that shows the image upright
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class ImageRejected(ValueError):
    """The bytes are not a usable still image; `str()` is one line saying why."""


@dataclass(frozen=True)
class DecodePolicy:
    max_bytes: int = 50_000_000
    max_pixels: int = 40_000_000
    # The working image is reduced only while its shorter side stays at least this long.
    min_side: int = 512


@dataclass
class DecodedImage:
    rgb: np.ndarray  # uint8 [H, W, 3], upright: the working image (maybe reduced)
    format: str  # PNG, JPEG, GIF or WEBP
    width: int  # the source's size, upright
    height: int
    notes: list[str] = field(default_factory=list)  # e.g. "CMYK converted to RGB"
    # JPEG only: luma of a grid-aligned crop at decode scale, and the block period in it (8 at
    # full size, 4 when decoded at half size, ...; 0 when blocks are below 2 px there).
    block_probe: np.ndarray | None = None
    block_period: int = 0


def one_line(text: object, limit: int = 200) -> str:
    line = " ".join(str(text).split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def decode_image(data: bytes, policy: DecodePolicy) -> DecodedImage:
    """Decode untrusted bytes into an upright RGB working image, or raise ImageRejected."""
    if not data:
        raise ImageRejected("empty file")
    if len(data) > policy.max_bytes:
        raise ImageRejected(
            f"{len(data)} bytes is over the {policy.max_bytes}-byte cap (BOT_DOWNLOAD_MAX_BYTES)"
        )
    fmt = sniff_format(data)
    try:
        return _decode(data, fmt, policy)
    except ImageRejected:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageRejected(f"decompression bomb refused by Pillow: {one_line(exc)}") from None
    except MemoryError:
        raise ImageRejected(f"out of memory decoding this {fmt} image") from None
    except Exception as exc:  # every decoder error, whatever its type: one artwork, one line
        detail = one_line(exc) or type(exc).__name__
        raise ImageRejected(f"truncated or corrupt {fmt} image: {detail}") from None


def _decode(data: bytes, fmt: str, policy: DecodePolicy) -> DecodedImage:
    notes: list[str] = []
    if fmt == "PNG":
        # Decoding does not check the chunks' CRCs; verify() does, without inflating pixels, so
        # flipped bits are refused instead of becoming garbage pixels.
        with Image.open(io.BytesIO(data), formats=[fmt]) as header:
            _check_size(header.size, fmt, policy)
            header.verify()
    with Image.open(io.BytesIO(data), formats=[fmt]) as opened:
        width, height = _check_size(opened.size, fmt, policy)
        orientation = _orientation(opened, notes)
        if getattr(opened, "is_animated", False):
            notes.append("animated: first frame used")
            opened.seek(0)
        period = 0  # JPEG blocks are only measured on JPEG sources (see generator/quality.py)
        if fmt == "JPEG":
            if opened.mode == "CMYK":
                notes.append("CMYK converted to RGB")
            opened.draft(None, (policy.min_side, policy.min_side))
            factor = max(1, round(width / opened.size[0]))
            if factor > 1:
                notes.append(f"decoded at 1/{factor} size")
            period = JPEG_BLOCK // factor if JPEG_BLOCK // factor >= 2 else 0
        opened.load()
        if opened.mode.startswith("I;16") or opened.mode in ("I", "F"):
            notes.append(f"{_DEPTH.get(opened.mode[:4], opened.mode)} scaled to 8-bit")
        probe = _block_probe(opened, period)
        rgb = _to_rgb(_reduce(opened, policy.min_side))
    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])
        notes.append(f"EXIF orientation {orientation} applied")
        if orientation >= 5:
            width, height = height, width
    return DecodedImage(
        rgb=np.asarray(rgb, dtype=np.uint8),
        format=fmt,
        width=width,
        height=height,
        notes=notes,
        block_probe=probe,
        block_period=period if probe is not None else 0,
    )


def _check_size(size: tuple[int, int], fmt: str, policy: DecodePolicy) -> tuple[int, int]:
    width, height = size
    if width < 1 or height < 1:
        raise ImageRejected(f"{fmt} header says {width}x{height} pixels")
    if width * height > policy.max_pixels:
        raise ImageRejected(
            f"{width}x{height} = {width * height} pixels is over the {policy.max_pixels}-"
            "pixel cap (decompression bomb guard, BOT_DOWNLOAD_MAX_PIXELS)"
        )
    return width, height


def _orientation(image: Image.Image, notes: list[str]) -> int:
    try:
        value = image.getexif().get(0x0112, 1)  # Orientation
        return int(value) if int(value) in range(1, 9) else 1
    except Exception:  # a broken EXIF block must not cost the whole image
        notes.append("unreadable EXIF ignored")
        return 1


def _reduce(image: Image.Image, min_side: int) -> Image.Image:
    """Integer-factor box reduction that keeps the shorter side >= min_side."""
    factor = min(image.size) // max(1, min_side)
    if factor < 2:
        return image
    expand = {"P": "RGBA", "PA": "RGBA", "1": "L"}  # reduce() would average palette indices
    if image.mode.startswith("I;16"):
        image = Image.fromarray(_to_uint8(np.asarray(image)), "L")  # exact: the top 8 bits
    elif image.mode in expand:
        image = image.convert(expand[image.mode])
    # In strips: Pillow reduces RGBA/LA through a premultiplied copy of the whole image, which
    # would double the peak; a strip's copy is small.
    width, height = image.size
    step = max(1, _STRIP_ROWS // factor) * factor
    reduced = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    for top in range(0, height, step):
        strip = image.crop((0, top, width, min(height, top + step)))
        reduced.paste(strip.reduce(factor), (0, top // factor))
    return reduced


def _to_rgb(image: Image.Image) -> Image.Image:
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        image = Image.fromarray(_to_uint8(np.asarray(image)), "L")
        mode = "L"
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """16-bit, 32-bit integer and float greyscale to 0..255."""
    if array.dtype == np.uint16 or array.dtype.str.endswith("u2"):
        return (array.astype(np.uint16) >> 8).astype(np.uint8)
    values = array.astype(np.float32)
    finite = values[np.isfinite(values)]
    top = float(finite.max()) if finite.size else 0.0
    if array.dtype.kind == "f" and top <= 1.0:
        values = values * 255.0  # float images in 0..1
    elif top > 255.0:
        values = values / 257.0  # mode I holding 16-bit data (Pillow's 16-bit PNG path)
    return np.nan_to_num(np.clip(values, 0, 255), nan=0.0).astype(np.uint8)


def _block_probe(image: Image.Image, period: int) -> np.ndarray | None:
    """Luma of the central crop, aligned to the block grid, at decode scale."""
    if period == 0:
        return None
    width, height = image.size
    side_w = min(width, _PROBE_SIDE) // period * period
    side_h = min(height, _PROBE_SIDE) // period * period
    if side_w < 4 * period or side_h < 4 * period:
        return None
    left = (width - side_w) // 2 // period * period
    top = (height - side_h) // 2 // period * period
    crop = image.crop((left, top, left + side_w, top + side_h))
    if crop.mode.startswith("I;16") or crop.mode in ("I", "F"):
        return _to_uint8(np.asarray(crop))
    return np.asarray(crop.convert("L"), dtype=np.uint8)


# --- what the bytes are ----------------------------------------------------------------------

_VIDEO_BRANDS = ("isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "qt  ", "M4V ",
                 "M4VH", "M4VP", "3gp4", "3gp5", "3gp6", "3g2a", "dash", "mmp4", "MSNV", "f4v ",
                 "crx ")  # fmt: skip
_HEIF_BRANDS = ("heic", "heix", "hevc", "hevx", "heim", "heis", "mif1", "msf1")


def sniff_format(data: bytes) -> str:
    """PNG, JPEG, GIF or WEBP from the magic bytes; anything else is refused by name."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    raise ImageRejected(f"{describe_content(data)}, not an accepted image (PNG, JPEG, GIF, WebP)")


def describe_content(data: bytes) -> str:
    """What non-image bytes look like, in a few words."""
    head = data[:16]
    if head[4:8] == b"ftyp":
        brand = head[8:12].decode("latin-1")
        if brand in ("avif", "avis"):
            return "an AVIF image"
        if brand in _HEIF_BRANDS:
            return "a HEIF/HEIC image"
        return f"a video (MP4/QuickTime, brand {brand.strip() or '?'!r})"
    signatures: tuple[tuple[bytes, str], ...] = (
        (b"\x1aE\xdf\xa3", "a video (WebM/Matroska)"),
        (b"OggS", "Ogg audio/video"),
        (b"FLV", "a video (FLV)"),
        (b"\x00\x00\x01\xba", "a video (MPEG program stream)"),
        (b"\x00\x00\x01\xb3", "a video (MPEG)"),
        (b"ID3", "MP3 audio"),
        (b"II*\x00", "a TIFF image"),
        (b"MM\x00*", "a TIFF image"),
        (b"BM", "a BMP image"),
        (b"\x00\x00\x01\x00", "an ICO icon"),
        (b"%PDF", "a PDF document"),
        (b"%!PS", "EPS/PostScript"),
        (b"\xc5\xd0\xd3\xc6", "EPS/PostScript"),
        (b"8BPS", "a Photoshop PSD"),
        (b"\x00\x00\x00\x0cjP  ", "a JPEG 2000 image"),
        (b"\xffO\xffQ", "a JPEG 2000 codestream"),
        (b"\xff\n", "a JPEG XL image"),
        (b"\x00\x00\x00\x0cJXL ", "a JPEG XL image"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "gzip data"),
    )
    for magic, name in signatures:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF":
        kind = head[8:12]
        return {b"AVI ": "a video (AVI)", b"WAVE": "WAV audio"}.get(kind, "a RIFF file")
    text = _as_text(data[:2048])
    if text is not None:
        lowered = text.lstrip().lower()
        if "<svg" in lowered:
            return "SVG (vector markup)"
        if lowered.startswith(("<!doctype html", "<html")) or "<body" in lowered:
            return "an HTML page"
        if lowered.startswith("<"):
            return "XML/markup text"
        if lowered.startswith(("{", "[")):
            return "JSON text"
        return "text"
    return "unknown content (starts with " + " ".join(f"{b:02x}" for b in head[:8]) + ")"


def _as_text(chunk: bytes) -> str | None:
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"),
                       (b"\xfe\xff", "utf-16-be")):  # fmt: skip
        if chunk.startswith(bom):
            return chunk[len(bom) :].decode(codec, errors="replace")
    text = chunk.decode("utf-8", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return text if text and printable / len(text) > 0.95 else None
