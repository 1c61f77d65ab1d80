"""The VQGAN+CLIP optimisation loop, batched over artworks.

Each artwork in a batch has its own init image, prompts, seed and random streams; the losses
are independent (summed only to run one backward) and Adam is elementwise, so a batch gives
the same frames as running the artworks one by one with the same seeds, up to float noise.

Per step: straight-through quantise z -> decode (once; the frame is this decode) ->
clamp-with-gradient -> cutouts + augmentations + noise -> CLIP -> spherical distance losses ->
backward -> Adam -> clamp z into the codebook box. The decoder and CLIP run under bf16
autocast on CUDA. Nothing in the loop waits for the GPU: frames and losses are copied to the
host asynchronously and handed to `on_step`, whose consumer (a background writer) waits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Generator, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import clip
import torch
import torch.nn.functional as F  # noqa: N812
from clip.model import CLIP
from PIL import Image

from generator.clip_model import CLIP_MEAN, CLIP_STD
from generator.cutouts import DEFAULT_AUGMENTS, ArtworkRng, CutoutSettings, MakeCutouts
from generator.images import image_to_tensor
from generator.ops import clamp_with_grad, prompt_loss, vector_quantize
from generator.prompts import Prompt
from generator.vqgan import VQGAN

PRECISIONS = ("auto", "bf16", "fp32")
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GenerationSettings:
    """Defaults from the seed (512², 20 iterations) and the reference (cutn 32, Adam 0.1)."""

    size: int = 512
    steps: int = 20
    cutn: int = 32
    cut_method: str = "pooled"
    cut_pow: float = 1.0
    augments: tuple[str, ...] = DEFAULT_AUGMENTS
    noise_fac: float = 0.1
    lr: float = 0.1
    init_weight: float = 0.0
    precision: str = "auto"
    # bf16 is kept only if, on the first batch, its loss is within this relative distance of
    # the fp32 loss for the same z and cutouts; otherwise the run falls back to fp32.
    bf16_tolerance: float = 0.01

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {PRECISIONS}")
        if self.steps < 1 or self.cutn < 1:
            raise ValueError("steps and cutn must be at least 1")


@dataclass
class GenerationJob:
    """One artwork's run: its prompts, its seed and (normally) the source NFT as init image."""

    key: int
    prompts: Sequence[Prompt]
    seed: int
    init_image: Image.Image | None = None

    def __post_init__(self) -> None:
        if not self.prompts:
            raise ValueError(f"job {self.key}: no prompt")


@dataclass
class StepFrames:
    """One iteration of a batch: the decoded frames and their losses, on their way to the host."""

    iteration: int
    jobs: list[GenerationJob]
    pixels: torch.Tensor  # [B, H, W, 3] uint8 on the CPU, valid after wait()
    losses: torch.Tensor  # [B] float32 on the CPU, valid after wait()
    _ready: torch.cuda.Event | None = field(default=None, repr=False)

    def wait(self) -> None:
        if self._ready is not None:
            self._ready.synchronize()


def resolve_precision(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype, or None for plain fp32."""
    if precision == "fp32":
        return None
    if precision == "bf16":
        return torch.bfloat16
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return None


class VqganClip:
    def __init__(
        self,
        vqgan: VQGAN,
        perceptor: CLIP,
        device: torch.device | str,
        settings: GenerationSettings,
    ) -> None:
        self.device = torch.device(device)
        self.vqgan = vqgan.to(self.device).eval().requires_grad_(False)
        self.perceptor = perceptor.to(self.device).eval().requires_grad_(False)
        self.settings = settings
        self.autocast_dtype = resolve_precision(settings.precision, self.device)
        factor = vqgan.downsample_factor
        self.side = settings.size // factor * factor
        if self.side < factor:
            raise ValueError(f"size {settings.size} is smaller than the VQGAN factor {factor}")
        self.tokens = self.side // factor
        cut_size = int(self.perceptor.visual.input_resolution)
        self.make_cutouts = MakeCutouts(
            CutoutSettings(
                cut_size=cut_size,
                cutn=settings.cutn,
                method=settings.cut_method,
                cut_pow=settings.cut_pow,
                noise_fac=settings.noise_fac,
                augments=settings.augments,
            )
        )
        self._mean = torch.tensor(CLIP_MEAN, device=self.device).view(1, 3, 1, 1)
        self._std = torch.tensor(CLIP_STD, device=self.device).view(1, 3, 1, 1)
        codebook = self.vqgan.codebook.float()
        self._z_min = codebook.min(dim=0).values.view(1, -1, 1, 1)
        self._z_max = codebook.max(dim=0).values.view(1, -1, 1, 1)
        self._text_cache: dict[str, torch.Tensor] = {}
        self.bf16_check: float | None = None  # measured relative loss difference, once

    # --- pieces -----------------------------------------------------------------------------
    def _autocast(self) -> AbstractContextManager[object]:
        if self.autocast_dtype is None:
            return nullcontext()
        return torch.autocast(self.device.type, dtype=self.autocast_dtype)

    def text_embedding(self, text: str) -> torch.Tensor:
        if text not in self._text_cache:
            tokens = clip.tokenize([text], truncate=True).to(self.device)
            with torch.no_grad():
                self._text_cache[text] = self.perceptor.encode_text(tokens).float()
        return self._text_cache[text]

    def synth(self, z: torch.Tensor) -> torch.Tensor:
        """z [B, D, h, w] -> image [B, 3, H, W] in [0, 1]; one decode, gradient to z."""
        codebook = self.vqgan.codebook
        z_q = vector_quantize(z.movedim(1, 3), codebook).movedim(3, 1)  # fp32: exact argmin
        with self._autocast():
            decoded = self.vqgan.decode(z_q)
        return clamp_with_grad(decoded.float().add(1).div(2), 0.0, 1.0)

    def embed_cutouts(self, image: torch.Tensor, rngs: Sequence[ArtworkRng]) -> torch.Tensor:
        cutouts = self.make_cutouts(image, rngs)
        with self._autocast():
            embeddings = self.perceptor.encode_image((cutouts - self._mean) / self._std)
        return embeddings.float()

    def initial_z(self, jobs: Sequence[GenerationJob], rngs: Sequence[ArtworkRng]) -> torch.Tensor:
        """Encode each init image (VQGAN.encode returns codebook vectors); random tokens for a
        job without one, drawn from that job's own generator."""
        latents: list[torch.Tensor | None] = [None] * len(jobs)
        with_image = [i for i, job in enumerate(jobs) if job.init_image is not None]
        if with_image:
            pixels = torch.stack(
                [image_to_tensor(jobs[i].init_image, self.side) for i in with_image]  # type: ignore[arg-type]
            ).to(self.device)
            with torch.no_grad():
                encoded = self.vqgan.encode(pixels * 2 - 1)
            for slot, i in enumerate(with_image):
                latents[i] = encoded[slot]
        codebook = self.vqgan.codebook
        for i, rng in enumerate(rngs):
            if latents[i] is None:
                codes = torch.randint(
                    codebook.shape[0], (self.tokens * self.tokens,), generator=rng.cpu
                )
                grid = codebook[codes.to(self.device)].view(self.tokens, self.tokens, -1)
                latents[i] = grid.permute(2, 0, 1)
        return torch.stack(latents).float()  # type: ignore[arg-type]

    def losses(
        self,
        embeddings: torch.Tensor,
        jobs: Sequence[GenerationJob],
        z: torch.Tensor,
        z_orig: torch.Tensor,
    ) -> torch.Tensor:
        """[B] loss per artwork: the init-image term (if weighted) plus each prompt's term."""
        cutn = self.settings.cutn
        per_job = []
        for index, job in enumerate(jobs):
            mine = embeddings[index * cutn : (index + 1) * cutn]
            total = embeddings.new_zeros(())
            if self.settings.init_weight:
                total = total + F.mse_loss(z[index], z_orig[index]) * self.settings.init_weight / 2
            for prompt in job.prompts:
                target = self.text_embedding(prompt.text)
                total = total + prompt_loss(mine, target, prompt.weight, prompt.stop)
            per_job.append(total)
        return torch.stack(per_job)

    # --- the loop -----------------------------------------------------------------------------
    def run(
        self,
        jobs: Sequence[GenerationJob],
        on_step: Callable[[StepFrames], None] | None = None,
    ) -> torch.Tensor:
        """Optimise all `jobs` together for `settings.steps` iterations.

        Iteration i's frame is the decode of z before step i's update (as the reference's
        checkin shows it), with that step's loss. Returns the final z [B, D, h, w].
        """
        steps = self._loop(jobs, keep_frames=on_step is not None)
        while True:
            try:
                step = next(steps)
            except StopIteration as finished:
                return finished.value  # type: ignore[no-any-return]
            if on_step is not None:
                on_step(step)

    def iter_steps(self, jobs: Sequence[GenerationJob]) -> Iterator[StepFrames]:
        """The same run as `run(jobs, on_step)`, as an iterator of its steps: a consumer that
        must yield each step itself (a Ray worker streaming frames back) drives it. The next
        step is computed only when the consumer asks for it."""
        yield from self._loop(jobs, keep_frames=True)

    def _loop(
        self, jobs: Sequence[GenerationJob], *, keep_frames: bool
    ) -> Generator[StepFrames, None, torch.Tensor]:
        jobs = list(jobs)
        rngs = [ArtworkRng(job.seed, self.device) for job in jobs]  # seeded before anything
        for job in jobs:  # text embeddings before the loop: their upload would be a sync
            for prompt in job.prompts:
                self.text_embedding(prompt.text)
        z = self.initial_z(jobs, rngs)
        z_orig = z.detach().clone()
        if self.autocast_dtype is not None and self.bf16_check is None:
            # One artwork is enough to judge the model at this size, and costs 1/B of a batch.
            self._check_bf16(jobs[:1], rngs[:1], z[:1], z_orig[:1])
        z.requires_grad_(True)
        optimiser = torch.optim.Adam([z], lr=self.settings.lr)
        for iteration in range(self.settings.steps):
            optimiser.zero_grad(set_to_none=True)
            image = self.synth(z)
            embeddings = self.embed_cutouts(image, rngs)
            losses = self.losses(embeddings, jobs, z, z_orig)
            if keep_frames:
                yield self._to_host(iteration, jobs, image, losses)
            losses.sum().backward()
            optimiser.step()
            with torch.no_grad():
                z.copy_(torch.maximum(torch.minimum(z, self._z_max), self._z_min))
        return z.detach()

    def _check_bf16(
        self,
        jobs: list[GenerationJob],
        rngs: list[ArtworkRng],
        z: torch.Tensor,
        z_orig: torch.Tensor,
    ) -> None:
        """Once per generator, before the loop: compare the step-0 loss under autocast with
        fp32 on identical cutouts; keep bf16 only within `bf16_tolerance` (else fp32)."""
        states = [(rng.cpu.get_state(), rng.device.get_state()) for rng in rngs]

        def rewind() -> None:  # the loop must start from the same random streams
            for rng, (cpu_state, device_state) in zip(rngs, states, strict=True):
                rng.cpu.set_state(cpu_state)
                rng.device.set_state(device_state)

        def loss_at_start() -> torch.Tensor:
            rewind()
            with torch.no_grad():
                return self.losses(self.embed_cutouts(self.synth(z), rngs), jobs, z, z_orig)

        low = loss_at_start()
        dtype, self.autocast_dtype = self.autocast_dtype, None
        exact = loss_at_start()
        rewind()
        difference = float(((low - exact).abs() / exact.abs().clamp_min(1e-6)).max())
        self.bf16_check = difference
        if difference <= self.settings.bf16_tolerance:
            self.autocast_dtype = dtype
        else:
            log.warning(
                "bf16 autocast moves the loss by %.2g (relative, above %.2g): using fp32",
                difference,
                self.settings.bf16_tolerance,
            )

    def _to_host(
        self, iteration: int, jobs: list[GenerationJob], image: torch.Tensor, losses: torch.Tensor
    ) -> StepFrames:
        with torch.no_grad():
            pixels = image.detach().mul(255).round_().clamp_(0, 255).to(torch.uint8)
            pixels = pixels.permute(0, 2, 3, 1)
            if self.device.type != "cuda":
                return StepFrames(iteration, jobs, pixels.contiguous(), losses.detach().clone())
            host_pixels = pixels.to("cpu", non_blocking=True)
            host_losses = losses.detach().to("cpu", non_blocking=True)
            ready = torch.cuda.Event()
            ready.record()
        return StepFrames(iteration, jobs, host_pixels, host_losses, ready)
