"""How many artworks to optimise at once, and on which device."""

from __future__ import annotations

import logging
from collections.abc import Callable

import torch

log = logging.getLogger(__name__)
MAX_BATCH = 64
CPU_BATCH = 4  # the CPU gains little from larger batches; keep the memory modest
HEADROOM = 0.85  # leave room for the allocator's fragmentation and cuDNN workspaces


def resolve_device(name: str) -> torch.device:
    """auto -> cuda when present, else cpu; cuda/cuda:N must exist."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"generator device {name!r} is not auto, cpu, cuda or cuda:N") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"generator device {name!r} requested but no CUDA GPU is available")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"generator device {name!r}: only {torch.cuda.device_count()} GPU(s) present"
            )
    elif device.type != "cpu":
        raise ValueError(f"generator device {name!r} is not auto, cpu, cuda or cuda:N")
    return device


def choose_batch_size(
    pending: int,
    device: torch.device,
    *,
    requested: int | None = None,
    probe: Callable[[], object] | None = None,
) -> int:
    """The explicit setting if given; on CUDA, what fits the free memory after measuring one
    artwork's peak with `probe` (a one-step run at batch 1); on the CPU a small fixed batch."""
    if pending < 1:
        return 1
    if requested is not None:
        return max(1, min(requested, pending))
    if device.type != "cuda" or probe is None:
        return min(pending, CPU_BATCH)
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    baseline = torch.cuda.memory_allocated(device)
    probe()
    torch.cuda.synchronize(device)
    per_item = max(1, torch.cuda.max_memory_allocated(device) - baseline)
    free, _total = torch.cuda.mem_get_info(device)
    cached_unused = torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    fits = int((free + cached_unused) * HEADROOM // per_item)
    log.info(
        "batch sizing: %.2f GiB per artwork, %.2f GiB free -> batch %d",
        per_item / 2**30,
        (free + cached_unused) / 2**30,
        fits,
    )
    return max(1, min(fits, pending, MAX_BATCH))
