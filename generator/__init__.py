"""Everything that makes pixels: VQGAN+CLIP from the source NFT, batched and fast.

Modules, one job each:
- `registry`: the known weights (names, URLs, SHA-256).
- `download`: resumable, checksummed downloads into the weights cache.
- `convert`: Lightning `.ckpt` / CLIP `.pt` -> pruned safetensors + config, once.
- `weights`: find, convert and load weights by name (never unpickles after conversion).
- `vqgan`, `clip_model`: the networks, built from taming modules and `clip.model`.
- `ops`, `cutouts`, `prompts`: the differentiable pieces of the reference algorithm.
- `optimiser`: the batched VQGAN+CLIP loop; `batching`: batch size for the memory there is.
- `frames`: background PNG writer that records one `Frame` row per kept iteration.
- `images`: image <-> tensor and PNG helpers; `tiny`: random-weight tiny models in real formats.
- preparation: `decode` (safe decoding of untrusted bytes), `resize` (the init image),
  `quality`, `text_regions`, `faces` (the signals), `category_names` and `categories` (CLIP
  zero-shot over the study's five categories).
- Choosing the frame: `frame_scores` (every score of a batch of frames) from `clip_scores`,
  `critic` (the VQGAN's discriminator), `aesthetic` (LAION's linear head), `image_quality`
  (sharpness, colourfulness, blockiness) and `near_copy` (perceptual hashes against the
  source's variants); `contact_sheet`; `upscale` (ESRGAN via spandrel, tiled);
  `model_names` (frame model labels, smoke-test names; no torch).

This package never imports `bot/`; settings values, sessions and hooks are passed in.
"""

import warnings

# The `clip` package imports pkg_resources, which warns on every start; we pin setuptools so it
# still exists, and the warning says nothing a user can act on.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

__version__ = "0.1.0"
