"""Is a frame a near-copy of its source NFT? Perceptual-hash evidence, robust to edits.

Marketplaces delist near-copies of existing NFTs, and a VQGAN+CLIP run starts from the source
image, so its early frames are near-copies by construction. Copies are often disguised (mirrored,
cropped, recoloured), so the frame is hashed against *variants* of the source:

- orientations of the source: as is, mirrored left-right, flipped top-bottom;
- the frame as is and its centre crops (90 … 60% of the side): a frame that is the source with
  a border, or zoomed out, matches through them;
- a crop of the source *aligned* to the frame: the frame's edge map is searched in each
  orientation's edge map at scales 50 … 100% (OpenCV normalised cross-correlation on 128-px
  edge images), and the best-matching region of the source is cut out at full resolution —
  an arbitrary crop of the source becomes a straight comparison;
- hashes (64 bits each, `imagehash`): pHash and dHash of the grey image (hue changes hardly
  move them) and pHash of the edge-magnitude image (recolouring, inverting or re-toning keeps
  the edges where they are).

For each comparison the three hashes vote: its distance is the one two of them agree on (the
median; for the grey hashes the distance to the inverted image counts too). The evidence is the
smallest such distance over all comparisons, with the one that gave it. Copies, mirrors, crops,
inversions and recolours land within a few bits; unrelated photos 20 or more bits apart, and
noise-like frames of an untrained model too (tests/generator/test_scores.py).
`verdict` combines it with the CLIP image similarity against thresholds from settings.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageOps

HASH_BITS = 64
FRAME_CROPS = (0.9, 0.8, 0.7, 0.6)
ALIGN_SCALES = tuple(round(0.5 + 0.05 * i, 2) for i in range(11))  # 0.50 … 1.00
ALIGN_SIDE = 128  # edge maps for the alignment search: small is fast and ignores texture
_EDGE_SIDE = 256
Hasher = Callable[[Image.Image], object]


@dataclass(frozen=True)
class HashEvidence:
    distance: int  # smallest Hamming distance found, of HASH_BITS
    match: str  # which hash and variants gave it, e.g. "pHash, frame vs source mirrored"


@dataclass(frozen=True)
class NearCopyThresholds:
    max_hash_distance: int  # at or below: a near-copy
    min_clip_similarity: float  # at or above: a near-copy


@dataclass(frozen=True)
class Verdict:
    near_copy: bool
    reason: str


def _centre_crop(image: Image.Image, fraction: float) -> Image.Image:
    width, height = image.size
    w, h = max(1, round(width * fraction)), max(1, round(height * fraction))
    left, top = (width - w) // 2, (height - h) // 2
    return image.crop((left, top, left + w, top + h))


def _edges(image: Image.Image) -> Image.Image:
    """Gradient magnitude of the grey image, stretched to 0..255 (colour-blind structure)."""
    grey = image.convert("L")
    grey.thumbnail((_EDGE_SIDE, _EDGE_SIDE), Image.Resampling.LANCZOS)
    return Image.fromarray(_stretch(_gradient(np.asarray(grey, dtype=np.float32))), mode="L")


def _gradient(pixels: np.ndarray) -> np.ndarray:
    dx = np.zeros_like(pixels)
    dy = np.zeros_like(pixels)
    dx[:, 1:-1] = pixels[:, 2:] - pixels[:, :-2]
    dy[1:-1, :] = pixels[2:, :] - pixels[:-2, :]
    return np.hypot(dx, dy)


def _stretch(magnitude: np.ndarray) -> np.ndarray:
    peak = float(magnitude.max())
    scaled = magnitude * (255.0 / peak) if peak > 0 else magnitude
    return scaled.astype(np.uint8)


def _edge_map(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    grey = image.convert("L").resize(size, Image.Resampling.BILINEAR)
    return _gradient(np.asarray(grey, dtype=np.float32))


def hashers() -> dict[str, Hasher]:
    import imagehash

    return {
        "pHash": imagehash.phash,
        "dHash": imagehash.dhash,
        "edge pHash": lambda image: imagehash.phash(_edges(image)),
    }


def orientations(source: Image.Image) -> dict[str, Image.Image]:
    source = source.convert("RGB")
    return {
        "source": source,
        "source mirrored": ImageOps.mirror(source),
        "source flipped": ImageOps.flip(source),
    }


@dataclass
class _Oriented:
    label: str
    image: Image.Image
    edges: np.ndarray  # ALIGN_SIDE² edge map for the alignment search
    hashes: dict[str, object] = field(default_factory=dict)


@dataclass
class SourceIndex:
    """Every source orientation with its hashes and edge map, built once per artwork."""

    oriented: list[_Oriented]

    @classmethod
    def of(cls, sources: Sequence[Image.Image]) -> SourceIndex:
        functions = hashers()
        oriented = []
        for index, source in enumerate(sources):
            suffix = "" if index == 0 else f" (original {index})"
            for label, image in orientations(source).items():
                entry = _Oriented(label + suffix, image, _edge_map(image, (ALIGN_SIDE,) * 2))
                entry.hashes = {name: hasher(image) for name, hasher in functions.items()}
                oriented.append(entry)
        return cls(oriented)


def _templates(frame: Image.Image) -> list[tuple[float, np.ndarray]]:
    """The frame's edge map at every search scale (computed once, searched in each source)."""
    aspect = frame.height / frame.width
    templates = []
    for scale in ALIGN_SCALES:
        width = max(8, round(ALIGN_SIDE * scale))
        height = max(8, min(ALIGN_SIDE, round(width * aspect)))
        template = _edge_map(frame, (width, height))
        if float(template.std()) > 0.0:  # a flat frame has no structure to place
            templates.append((scale, template))
    return templates


def _aligned_crop(
    templates: list[tuple[float, np.ndarray]], source: _Oriented
) -> tuple[Image.Image, str] | None:
    """The region of `source` that best matches the whole frame (normalised correlation)."""
    import cv2

    best: tuple[float, tuple[int, int], np.ndarray] | None = None
    for _scale, template in templates:
        result = cv2.matchTemplate(source.edges, template, cv2.TM_CCOEFF_NORMED)
        _min, peak, _where, location = cv2.minMaxLoc(result)
        if best is None or peak > best[0]:
            best = (float(peak), (int(location[0]), int(location[1])), template)
    if best is None:
        return None
    _peak, (x, y), template = best
    height, width = template.shape
    factor_x = source.image.width / ALIGN_SIDE
    factor_y = source.image.height / ALIGN_SIDE
    box = (
        round(x * factor_x),
        round(y * factor_y),
        round((x + width) * factor_x),
        round((y + height) * factor_y),
    )
    share = round(100 * width / ALIGN_SIDE)
    return source.image.crop(box), f"{source.label} {share}% crop at {box[:2]}"


def _agreed_distance(
    frame_hashes: dict[str, object], source_hashes: dict[str, object]
) -> tuple[int, dict[str, int]]:
    """The distance two of the three hashes agree on (the median of the three).

    A grey hash of an inverted image is the complement of the original's, so for the grey
    hashes the distance to the complement counts too (min(d, 64 − d)); the edge hash is
    inversion-blind already. Taking the median means a single hash that happens to land near
    the source (a flat or noisy image hashes to near-arbitrary bits) is never enough.
    """
    distances: dict[str, int] = {}
    for name, frame_hash in frame_hashes.items():
        distance = int(frame_hash - source_hashes[name])  # type: ignore[operator]
        if name != "edge pHash":
            distance = min(distance, HASH_BITS - distance)
        distances[name] = distance
    return sorted(distances.values())[1], distances


def hash_evidence(frame: Image.Image, index: SourceIndex) -> HashEvidence:
    """The closest match between the frame and any source variant, in bits of HASH_BITS."""
    if not index.oriented:
        raise ValueError("no source image to compare the frame with")
    functions = hashers()
    frame = frame.convert("RGB")
    best: HashEvidence | None = None

    def consider(
        frame_hashes: dict[str, object], source_hashes: dict[str, object], what: str
    ) -> None:
        nonlocal best
        distance, each = _agreed_distance(frame_hashes, source_hashes)
        if best is None or distance < best.distance:
            detail = ", ".join(f"{name} {bits}" for name, bits in each.items())
            best = HashEvidence(distance, f"{what}: {detail}")

    variants = {"frame": frame}
    variants.update({f"frame {round(f * 100)}% crop": _centre_crop(frame, f) for f in FRAME_CROPS})
    for variant, image in variants.items():
        frame_hashes = {name: hasher(image) for name, hasher in functions.items()}
        for source in index.oriented:
            consider(frame_hashes, source.hashes, f"{variant} vs {source.label}")
    full = {name: hasher(frame) for name, hasher in functions.items()}
    templates = _templates(frame)
    for source in index.oriented:
        aligned = _aligned_crop(templates, source)
        if aligned is None:
            continue
        crop, where = aligned
        crop_hashes = {name: hasher(crop) for name, hasher in functions.items()}
        consider(full, crop_hashes, f"frame vs {where}")
    assert best is not None
    return best


def verdict(
    hash_distance: int | None,
    clip_similarity: float | None,
    thresholds: NearCopyThresholds,
    *,
    hash_match: str | None = None,
) -> Verdict:
    """Near-copy when either signal crosses its threshold; the reason names the evidence.

    `clip_similarity` is None when no trustworthy CLIP scored the frame (not scored yet, or
    only an untrained smoke-test CLIP, whose similarities mean nothing)."""
    reasons = []
    if hash_distance is not None and hash_distance <= thresholds.max_hash_distance:
        where = f" ({hash_match})" if hash_match else ""
        reasons.append(
            f"perceptual hash {hash_distance}/{HASH_BITS} bits from the source{where}; "
            f"more than {thresholds.max_hash_distance} needed"
        )
    if clip_similarity is not None and clip_similarity >= thresholds.min_clip_similarity:
        reasons.append(
            f"CLIP image similarity {clip_similarity:.3f} to the source; "
            f"below {thresholds.min_clip_similarity:.3f} needed"
        )
    if reasons:
        return Verdict(True, "near-copy of the source: " + "; ".join(reasons))
    return Verdict(False, "not a near-copy")
