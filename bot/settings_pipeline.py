"""Settings of the bot as a loop: where the generator runs (in process or on Ray), the
pipeline's retries and leases, the daemon's schedule and its log file.

A mixin of `bot.settings.Settings`; the README's "Running the bot" and "Scaling out"
sections describe them for users.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from bot import settings_checks as checks
from bot.settings_types import blank_is_unset


class ExecutorKind(StrEnum):
    INPROCESS = "inprocess"
    RAY = "ray"


class ChooseMode(StrEnum):
    AUTO = "auto"
    REVIEW = "review"


class PipelineSettings(BaseModel):
    # --- scaling out: where the generator runs (bot generate, the daemon) ---------------------
    executor: ExecutorKind = Field(
        ExecutorKind.INPROCESS,
        description="Where the generator's models run: inprocess (this process), or ray "
        "(actors on a Ray cluster, one per GPU; needs pip install 'nftbot[ray]'). The "
        "database, blobs, IPFS and the marketplace stay with the process that runs the bot.",
    )
    ray_address: Annotated[str, AfterValidator(checks.ray_address)] = Field(
        "local",
        description="BOT_EXECUTOR=ray: a running cluster's head as host:port (or ray://host:port, "
        "or auto for the one on this machine); local starts a private cluster on 127.0.0.1 "
        "(dashboard off) that stops with the command.",
    )
    ray_cpu_actors: int = Field(
        1,
        ge=1,
        le=1024,
        description="BOT_EXECUTOR=ray: actors when the cluster has no GPU (or "
        "BOT_GENERATOR_DEVICE=cpu); with GPUs there is one actor per GPU.",
    )
    ray_cpus_per_actor: int = Field(
        1, ge=1, le=256, description="BOT_EXECUTOR=ray: CPUs (torch threads) per CPU actor."
    )
    ray_weights_dir: Annotated[
        Annotated[str, AfterValidator(checks.path_text)] | None, BeforeValidator(blank_is_unset)
    ] = Field(
        None,
        description="BOT_EXECUTOR=ray: a weights dir that every worker host has at this path (a "
        "shared mount); empty: the weights are shipped from this machine through Ray's object "
        "store.",
    )
    ray_actor_timeout_s: float = Field(
        600.0,
        ge=10,
        le=86_400,
        description="BOT_EXECUTOR=ray: an actor that sends no frame, or does not start, for this "
        "many seconds counts as lost: it is stopped and replaced, its batch goes to another.",
    )
    ray_object_store_mb: Annotated[int | None, BeforeValidator(blank_is_unset)] = Field(
        None,
        ge=100,
        le=1_048_576,
        description="BOT_RAY_ADDRESS=local: the object store's size in MiB; empty: Ray's default.",
    )

    # --- pipeline, retries, leases and the daemon (bot run, bot daemon) --------------------------
    choose: ChooseMode = Field(
        ChooseMode.AUTO,
        description="How `bot run` and the daemon choose frames: auto (scored), or review "
        "(wait for a person: bot choose / the review page).",
    )
    retry_max_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="Failures of one stage before an artwork is parked as failed for a person "
        "(bot failed, bot retry).",
    )
    retry_backoff_s: float = Field(
        60.0, ge=1, le=86_400, description="Wait before the first retry (seconds); doubles each."
    )
    retry_backoff_max_s: float = Field(
        21_600.0, ge=1, le=604_800, description="Longest wait between retries (seconds)."
    )
    generator_cutn: int = Field(
        32, ge=1, le=256, description="CLIP cutouts per artwork and step in bot run / daemon."
    )
    stage_batch: int = Field(
        50, ge=1, le=10_000, description="Artworks a stage takes per pass of the pipeline."
    )
    lease_ttl_s: float = Field(
        900.0,
        ge=5,
        le=86_400,
        description="How long a worker's lease on an artwork in work lasts unless renewed "
        "(seconds); after it, another worker takes the artwork.",
    )
    daemon_scrape_interval_s: float = Field(
        21_600.0, ge=1, le=604_800, description="Daemon: scrape every this many seconds."
    )
    daemon_tick_interval_s: float = Field(
        300.0, ge=1, le=86_400, description="Daemon: a pipeline pass every this many seconds."
    )
    daemon_sync_interval_s: float = Field(
        900.0, ge=1, le=86_400, description="Daemon: bid and sale sync every this many seconds."
    )
    daemon_report_interval_s: float = Field(
        86_400.0, ge=1, le=604_800, description="Daemon: the report every this many seconds."
    )
    daemon_pin_check_interval_s: float = Field(
        86_400.0,
        ge=1,
        le=604_800,
        description="Daemon: re-check the pins every this many seconds.",
    )
    daemon_heartbeat_s: float = Field(
        30.0, ge=0.5, le=3_600, description="Daemon: heartbeat written every this many seconds."
    )
    daemon_stop_grace_s: float = Field(
        60.0,
        ge=0,
        le=3_600,
        description="On SIGTERM/SIGINT, how long the daemon lets the current step finish before "
        "it abandons it (safe: steps resume on the next start).",
    )
    log_file: Annotated[
        Annotated[Path, BeforeValidator(checks.path_text)] | None,
        BeforeValidator(blank_is_unset),
    ] = Field(None, description="Daemon log file (rotated); default <data_dir>/logs/bot.log.")
    log_json: bool = Field(False, description="Daemon log file as JSON lines.")
    log_max_bytes: int = Field(
        10_000_000, ge=10_000, le=1_000_000_000, description="Log file size before it rotates."
    )
    log_backups: int = Field(5, ge=1, le=100, description="Rotated log files kept.")
