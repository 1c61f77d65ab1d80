from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from generator.images import image_to_tensor
from generator.optimiser import GenerationJob, GenerationSettings, StepFrames, VqganClip
from generator.prompts import Prompt

SMALL = {"size": 48, "steps": 3, "cutn": 4}


def _image(seed: int) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (50, 70, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def _jobs() -> list[GenerationJob]:
    return [
        GenerationJob(1, [Prompt("Crypto Punks")], seed=7, init_image=_image(1)),
        GenerationJob(2, [Prompt("dreams"), Prompt("blurry", -0.5)], seed=8, init_image=_image(2)),
        GenerationJob(3, [Prompt("a cat", 1.0, 0.1)], seed=9),  # random tokens, no init image
    ]


def _run(generator: VqganClip, jobs: list[GenerationJob]) -> tuple[list[StepFrames], torch.Tensor]:
    steps: list[StepFrames] = []
    z = generator.run(jobs, on_step=steps.append)
    for step in steps:
        step.wait()
    return steps, z


def test_every_iteration_is_kept_with_its_loss(tiny_models) -> None:
    generator = VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="fp32"))
    steps, z = _run(generator, _jobs())
    assert [s.iteration for s in steps] == [0, 1, 2]
    assert steps[0].pixels.shape == (3, 48, 48, 3) and steps[0].pixels.dtype == torch.uint8
    assert steps[0].losses.shape == (3,) and torch.isfinite(steps[0].losses).all()
    assert z.shape == (3, 16, 12, 12)  # tiny VQGAN: embed_dim 16, f = 4


def test_same_seed_same_frames_other_seed_differs(tiny_models) -> None:
    settings = GenerationSettings(**SMALL, precision="fp32")
    job = _jobs()[0]
    first, _ = _run(VqganClip(*tiny_models, "cpu", settings), [job])
    again, _ = _run(VqganClip(*tiny_models, "cpu", settings), [job])
    other, _ = _run(
        VqganClip(*tiny_models, "cpu", settings),
        [GenerationJob(1, job.prompts, seed=123, init_image=job.init_image)],
    )
    assert all(torch.equal(a.pixels, b.pixels) for a, b in zip(first, again, strict=True))
    assert torch.equal(first[-1].losses, again[-1].losses)
    assert not torch.equal(first[-1].losses, other[-1].losses)


def test_batch_equals_one_by_one_with_the_same_seeds(tiny_models) -> None:
    generator = VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="fp32"))
    jobs = _jobs()
    batch, _ = _run(generator, jobs)
    for index, job in enumerate(jobs):
        alone, _ = _run(generator, [job])
        for together, single in zip(batch, alone, strict=True):
            assert torch.allclose(together.losses[index], single.losses[0], rtol=1e-4, atol=1e-5)
            difference = (together.pixels[index].float() - single.pixels[0].float()).abs()
            assert difference.mean() < 0.5  # uint8 levels: rounding noise at most


def test_first_frame_is_the_vqgan_reconstruction_of_the_init_image(tiny_models) -> None:
    vqgan, perceptor = tiny_models
    decodes = []
    handle = vqgan.decoder.register_forward_hook(lambda *_: decodes.append(1))
    try:
        generator = VqganClip(
            vqgan, perceptor, "cpu", GenerationSettings(**SMALL, precision="fp32")
        )
        job = _jobs()[0]
        steps, _ = _run(generator, [job])
        assert len(decodes) == SMALL["steps"]  # one decode per step, none extra for saving
        x = image_to_tensor(job.init_image, 48).unsqueeze(0) * 2 - 1
        with torch.no_grad():
            expected = vqgan.decode(vqgan.encode(x)).add(1).div(2).clamp(0, 1)
    finally:
        handle.remove()
    expected_u8 = expected.mul(255).round()[0].permute(1, 2, 0)
    assert (steps[0].pixels[0].float() - expected_u8).abs().max() <= 1


def test_z_stays_inside_the_codebook_box(tiny_models) -> None:
    vqgan, _ = tiny_models
    settings = GenerationSettings(size=48, steps=4, cutn=4, lr=5.0, precision="fp32")
    _, z = _run(VqganClip(*tiny_models, "cpu", settings), _jobs()[:1])
    low = vqgan.codebook.min(0).values.view(1, -1, 1, 1)
    high = vqgan.codebook.max(0).values.view(1, -1, 1, 1)
    assert (z >= low).all() and (z <= high).all()


def test_bf16_autocast_loss_stays_close_to_fp32(tiny_models) -> None:
    jobs = _jobs()[:2]
    exact, _ = _run(
        VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="fp32")), jobs
    )
    fast_gen = VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="bf16"))
    assert fast_gen.autocast_dtype is torch.bfloat16
    fast, _ = _run(fast_gen, jobs)
    assert torch.allclose(fast[0].losses, exact[0].losses, rtol=0.02)


def test_bf16_is_checked_once_and_dropped_when_the_loss_moves_too_much(tiny_models) -> None:
    jobs = _jobs()[:2]
    kept = VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="bf16"))
    _run(kept, jobs)
    assert kept.autocast_dtype is torch.bfloat16 and 0 < kept.bf16_check < 0.01
    strict = GenerationSettings(**SMALL, precision="bf16", bf16_tolerance=0.0)
    dropped = VqganClip(*tiny_models, "cpu", strict)
    dropped_steps, _ = _run(dropped, jobs)
    assert dropped.autocast_dtype is None
    # The check rewinds the random streams: the fp32 fallback equals a plain fp32 run.
    exact, _ = _run(
        VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL, precision="fp32")), jobs
    )
    for a, b in zip(dropped_steps, exact, strict=True):
        assert torch.equal(a.losses, b.losses) and torch.equal(a.pixels, b.pixels)


def test_auto_precision_is_fp32_on_cpu(tiny_models) -> None:
    assert VqganClip(*tiny_models, "cpu", GenerationSettings(**SMALL)).autocast_dtype is None


def test_init_weight_and_original_cutouts_run(tiny_models) -> None:
    settings = GenerationSettings(
        **SMALL, precision="fp32", init_weight=1.0, cut_method="random", cut_pow=0.5
    )
    steps, _ = _run(VqganClip(*tiny_models, "cpu", settings), _jobs()[:1])
    assert torch.isfinite(steps[-1].losses).all()


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="precision"):
        GenerationSettings(precision="fp8")
    with pytest.raises(ValueError, match="no prompt"):
        GenerationJob(1, [], seed=0)


@pytest.mark.gpu
def test_cuda_batch_matches_sequential_and_bf16_is_close(tiny_models) -> None:
    vqgan, perceptor = tiny_models
    jobs = _jobs()
    exact = VqganClip(vqgan, perceptor, "cuda", GenerationSettings(**SMALL, precision="fp32"))
    batch, _ = _run(exact, jobs)
    for index, job in enumerate(jobs):
        alone, _ = _run(exact, [job])
        assert torch.allclose(batch[-1].losses[index], alone[-1].losses[0], rtol=1e-3)
    fast = VqganClip(vqgan, perceptor, "cuda", GenerationSettings(**SMALL))
    assert fast.autocast_dtype is torch.bfloat16
    first, _ = _run(fast, jobs)
    assert torch.allclose(first[0].losses, batch[0].losses, rtol=0.02)


@pytest.mark.gpu
def test_cuda_loop_does_not_synchronise_with_the_host(tiny_models) -> None:
    import warnings

    generator = VqganClip(*tiny_models, "cuda", GenerationSettings(**SMALL))
    jobs = _jobs()
    generator.run(jobs[:1])  # warm-up: kernels, cuBLAS handles, text embeddings
    seen: list[StepFrames] = []
    torch.cuda.synchronize()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            generator.run(jobs, on_step=seen.append)
        finally:
            torch.cuda.set_sync_debug_mode("default")
    syncs = [str(w.message) for w in caught if "synchroniz" in str(w.message).lower()]
    assert syncs == [], syncs[:3]
    assert len(seen) == SMALL["steps"]
