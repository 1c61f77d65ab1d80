"""The generator executor the settings name (BOT_EXECUTOR), for `bot generate` and the daemon.

`inprocess` (the default) loads the models here, on BOT_GENERATOR_DEVICE. `ray` starts (or
connects to) a Ray cluster at BOT_RAY_ADDRESS and loads the models on its actors, from the
weights this machine ships through the object store, or from BOT_RAY_WEIGHTS_DIR on the
workers' hosts. Either way the caller gets a `GenerationExecutor` to pass to
`generate_artworks` and to close when done (a context manager).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.extras import require_extra
from bot.settings import Settings
from bot.settings_pipeline import ExecutorKind

if TYPE_CHECKING:
    from generator.executor import GenerationExecutor


class ExecutorSetupError(Exception):
    """The executor cannot be built: one line saying why and what to do."""


def require_executor_extra(settings: Settings) -> None:
    """BOT_EXECUTOR=ray without Ray installed: `MissingExtra`, one line naming the extra
    (the CLI prints it and exits with 2), before anything heavy is read."""
    if settings.executor is ExecutorKind.RAY:
        require_extra("ray", "BOT_EXECUTOR=ray")


def open_executor(settings: Settings, device: str | None = None) -> GenerationExecutor:
    """Build the configured executor (models loaded, actors ready). `device` overrides
    BOT_GENERATOR_DEVICE (`bot generate --device`). Raises ExecutorSetupError."""
    from generator.weights import MissingWeights

    require_executor_extra(settings)
    device_name = device or settings.generator_device
    try:
        if settings.executor is ExecutorKind.RAY:
            return _ray_executor(settings, device_name)
        return _in_process_executor(settings, device_name)
    except (MissingWeights, ValueError) as exc:
        raise ExecutorSetupError(str(exc)) from exc


def _in_process_executor(settings: Settings, device_name: str) -> GenerationExecutor:
    from generator.batching import resolve_device
    from generator.executor import InProcessExecutor
    from generator.loading import load_models

    device = resolve_device(device_name)
    models = load_models(
        settings.weights_cache_dir,
        settings.generator_vqgan,
        settings.generator_clip,
        device,
        allow_smoke_test_models=settings.allow_smoke_test_models,
    )
    return InProcessExecutor(models, device)


def _ray_executor(settings: Settings, device_name: str) -> GenerationExecutor:
    from generator.loading import WeightBytes, read_weight_bytes, resolve_weight_files
    from generator.ray_executor import ExecutorUnavailable, RayExecutor, RayOptions
    from generator.worker import WeightsInDir

    weights: WeightBytes | WeightsInDir
    if settings.ray_weights_dir:
        weights = WeightsInDir(
            Path(settings.ray_weights_dir),
            settings.generator_vqgan,
            settings.generator_clip,
            settings.allow_smoke_test_models,
        )
    else:
        files = resolve_weight_files(
            settings.weights_cache_dir,
            settings.generator_vqgan,
            settings.generator_clip,
            allow_smoke_test_models=settings.allow_smoke_test_models,
        )
        weights = read_weight_bytes(files)
    options = RayOptions(
        address=settings.ray_address,
        device=device_name.split(":")[0],  # an actor sees only its own GPU, as cuda:0
        cpu_actors=settings.ray_cpu_actors,
        cpus_per_actor=settings.ray_cpus_per_actor,
        actor_timeout_s=settings.ray_actor_timeout_s,
        local_object_store_mb=settings.ray_object_store_mb,
    )
    try:
        return RayExecutor(weights, options)
    except ExecutorUnavailable as exc:
        raise ExecutorSetupError(str(exc)) from None
