"""Settings: one source of truth, read from an env file and `BOT_*` environment variables.

Validated at start-up so a typo fails before the daemon does anything: every number has
bounds, every URL, address, price and path is checked (`bot.settings_checks`), and an unknown
`BOT_*` name is an error naming the closest real one (`bot.settings_errors`). Secrets are
`SecretStr` so they never print by accident; `bot config show` redacts them explicitly.
Dry run and testnet are the defaults: the real marketplace needs two explicit settings.
"""

from __future__ import annotations

import json
import os
import typing
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot import settings_checks as checks
from bot.settings_errors import SettingsError, describe_validation_error, env_file_problems
from marketplace.royalties import MAX_ROYALTY_BPS  # the exchange's rule, not a preference

if TYPE_CHECKING:
    from storage.ipfs.profiles import CidProfile
    from storage.ipfs.targets import TargetSpec

DEFAULT_ENV_FILE = Path(".env")
DEFAULT_DATA_ROOT = Path("data")  # the data dir is DEFAULT_DATA_ROOT/<mode> unless set


def _blank_is_unset(value: object) -> object:
    """`BOT_X=` (as copied from .env.example) means "not set" for an optional setting."""
    return None if isinstance(value, str) and not value.strip() else value


def _json_list_or_blank(value: object) -> object:
    """BOT_IPFS_TARGETS is JSON; decoded here (not by pydantic-settings) so that bad JSON is one
    line about this setting, like any other bad value. Blank means no list."""
    if not isinstance(value, str):
        return value
    if not value.strip():
        return []
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"must be a JSON list of targets ({exc.msg} at character {exc.pos})"
        ) from None


def _gateway_list_or_none(value: str) -> str:
    """BOT_IPFS_VERIFY_GATEWAYS: http(s) URLs, or `none` (verify reads no gateway)."""
    if value.strip().lower() == "none":
        return "none"
    return checks.http_url_list(value)


HttpUrl = Annotated[str, AfterValidator(checks.http_url)]
OptionalHttpUrl = Annotated[HttpUrl | None, BeforeValidator(_blank_is_unset)]
DirectoryPath = Annotated[
    Path, BeforeValidator(checks.path_text), AfterValidator(checks.directory_path)
]
Secret = Annotated[SecretStr | None, BeforeValidator(checks.secret_text)]


class MarketplaceMode(StrEnum):
    DRY_RUN = "dry-run"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class ChooseMode(StrEnum):
    AUTO = "auto"
    REVIEW = "review"


class WebhookFormat(StrEnum):
    JSON = "json"
    DISCORD = "discord"
    SLACK = "slack"


def _secret_http_url(value: SecretStr | None) -> SecretStr | None:
    """A secret URL (the webhook's: Discord and Slack put the token in it), checked like any
    URL; the error never quotes it."""
    if value is not None and value.get_secret_value().strip():
        checks.http_url(value.get_secret_value())
    return value


class ExecutorKind(StrEnum):
    INPROCESS = "inprocess"
    RAY = "ray"


class PinnerKind(StrEnum):
    LOCAL = "local"
    KUBO = "kubo"
    PINNING_SERVICE = "pinning-service"


class PinTargetSetting(BaseModel):
    """One entry of BOT_IPFS_TARGETS (a JSON list of these objects)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
    kind: PinnerKind
    url: OptionalHttpUrl = Field(None, description="kubo RPC or service API base URL.")
    token: Secret = Field(None, description="Bearer token (a service's; kubo's if it has one).")
    required: bool = Field(True, description="A pin is done when every required target has it.")
    provide_via: str | None = Field(
        None, description="pinning-service: name of a kubo target to add content to first."
    )


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",  # unknown BOT_* names are reported by load_settings, with a suggestion
        validate_default=True,
    )

    _data_dir_explicit: bool = PrivateAttr(default=False)

    # --- core -----------------------------------------------------------------------------
    data_dir: DirectoryPath = Field(
        DEFAULT_DATA_ROOT,
        description="Where the database, blobs and caches live. Unset: data/<mode> "
        "(data/dry-run, data/testnet, data/mainnet), so modes never share a store; set: used "
        "as given (the store's recorded mode is still checked).",
    )
    database_url: Annotated[
        Annotated[str, AfterValidator(checks.database_url)] | None,
        BeforeValidator(_blank_is_unset),
    ] = Field(
        None,
        description="SQLAlchemy URL, sqlite:///… or postgresql+psycopg://…; "
        "default sqlite:///<data_dir>/bot.db (WAL mode).",
    )
    db_auto_upgrade: bool = Field(
        False,
        description="Daemon: upgrade an older database schema at start instead of refusing "
        "it (SQLite: after a backup copy of the file; PostgreSQL: no file backup, use pg_dump).",
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    # --- curation ---------------------------------------------------------------------------
    curate_trim: float = Field(0.05, ge=0.0, lt=0.5, description="Per-year price trim fraction.")
    curate_years: str = Field(
        "2017-2021", description="Inclusive year range within 1970-2100, e.g. 2017-2021."
    )
    curate_top: int = Field(
        100, ge=1, le=100_000, description="How many candidates curation selects."
    )

    # --- marketplace (Rarible) ----------------------------------------------------------------
    marketplace_mode: MarketplaceMode = Field(
        MarketplaceMode.DRY_RUN, description="dry-run (default), testnet or mainnet."
    )
    mainnet_confirm: bool = Field(
        False, description="Must be true, together with mode=mainnet, to touch real money."
    )
    rarible_api_key: Secret = Field(None, description="X-API-KEY for the Rarible API.")
    rarible_api_url: OptionalHttpUrl = Field(
        None, description="Override the Rarible API base URL (tests, proxies); http(s)."
    )
    wallet_passphrase: Secret = Field(
        None, description="Unlocks the keystore for unattended runs (daemon)."
    )
    publish_cap: int = Field(
        100, ge=1, le=10_000, description="Max items published per collection run."
    )
    listing_kind: str = Field(
        "open-for-bids", description="open-for-bids (lazy mint, no sell order) or fixed-price."
    )
    listing_price_eth: Annotated[str, AfterValidator(checks.price_eth)] = Field(
        "0.05",
        description="Fixed-price listing price in ETH: more than 0, at most 18 decimals.",
    )
    royalty_bps: int = Field(
        1000,
        ge=0,
        le=MAX_ROYALTY_BPS,
        description="Royalty in basis points (1000 = 10%).",
        json_schema_extra={
            "why": "Rarible's exchange reverts every sale whose royalties total more than 50% "
            "(5000 bps), so such an item could be listed but never bought"
        },
    )
    rarible_collection: Annotated[
        Annotated[str, AfterValidator(checks.eth_address)] | None,
        BeforeValidator(_blank_is_unset),
    ] = Field(
        None,
        description="Lazy-mint ERC-721 address (0x + 40 hex); default: Rarible's shared one "
        "per network.",
    )
    listing_duration_days: int = Field(
        30, ge=1, le=3650, description="How long a fixed-price sell order stays valid (days)."
    )

    # --- IPFS -----------------------------------------------------------------------------------
    ipfs_pinner: PinnerKind = Field(PinnerKind.LOCAL, description="local, kubo or pinning-service.")
    ipfs_api_url: HttpUrl = Field("http://127.0.0.1:5001", description="Kubo RPC API base URL.")
    pinning_service_url: OptionalHttpUrl = Field(
        None, description="IPFS Pinning Service API base URL; http(s)."
    )
    pinning_service_token: Secret = Field(None, description="Bearer token for it.")
    ipfs_cid_version: int = Field(1, ge=0, le=1, description="CID version for new content.")
    ipfs_pin_frames: bool = Field(False, description="Pin every generated frame as it is written.")
    ipfs_provide_via_kubo: bool = Field(
        False,
        description="With pinner=pinning-service, also add content to the kubo node at "
        "BOT_IPFS_API_URL and send its addresses as origins, so the service can fetch it.",
    )
    ipfs_gateways: Annotated[str, AfterValidator(checks.http_url_list)] = Field(
        "https://ipfs.io/ipfs/,https://dweb.link/ipfs/",
        description="Comma-separated http(s) gateways tried in order to fetch ipfs:// images.",
    )

    # --- generator ----------------------------------------------------------------------------
    generator_device: Annotated[str, AfterValidator(checks.torch_device)] = Field(
        "auto", description="auto, cpu, cuda or cuda:N."
    )
    generator_steps: int = Field(
        20, ge=1, le=10_000, description="Iterations per artwork, frames kept."
    )
    generator_size: int = Field(512, ge=16, le=2048, description="Output side in pixels.")
    generator_batch: Annotated[int | None, BeforeValidator(_blank_is_unset)] = Field(
        None, ge=1, le=1024, description="Batch size; empty = fit memory."
    )
    generator_vqgan: str = Field(
        "vqgan_wikiart_16384", description="VQGAN weights name (see `bot models list`)."
    )
    generator_clip: str = Field(
        "clip_vit_b32", description="CLIP weights name (see `bot models list`)."
    )
    weights_dir: Annotated[DirectoryPath | None, BeforeValidator(_blank_is_unset)] = Field(
        None, description="Directory of weights placed by hand."
    )
    allow_smoke_test_models: bool = Field(
        False, description="Let the demo use tiny untrained models when real weights are absent."
    )

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
        Annotated[str, AfterValidator(checks.path_text)] | None, BeforeValidator(_blank_is_unset)
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
    ray_object_store_mb: Annotated[int | None, BeforeValidator(_blank_is_unset)] = Field(
        None,
        ge=100,
        le=1_048_576,
        description="BOT_RAY_ADDRESS=local: the object store's size in MiB; empty: Ray's default.",
    )

    # --- choosing the frame: scores, weighted rank, near-copy guard, review, upscaling ------
    # (README "Choosing the frame"; bounds keep a typo from silently disabling the guard)
    choose_clip: str | None = Field(
        None, description="CLIP weights that score frames; default: BOT_GENERATOR_CLIP."
    )
    choose_aesthetic: str = Field(
        "laion_aesthetic_vit_b32",
        description="Aesthetic head weights name; its score is used when the file is present.",
    )
    choose_batch: int = Field(16, ge=1, le=512, description="Frames scored per batch.")
    choose_weight_prompt: float = Field(
        1.0, ge=0.0, le=100.0, description="Rank weight of the CLIP prompt match."
    )
    choose_weight_source: float = Field(
        0.5, ge=0.0, le=100.0, description="Rank weight of the CLIP likeness to the source."
    )
    choose_weight_critic: float = Field(
        0.5, ge=0.0, le=100.0, description="Rank weight of the VQGAN discriminator critic."
    )
    choose_weight_aesthetic: float = Field(
        1.0, ge=0.0, le=100.0, description="Rank weight of the aesthetic score (when present)."
    )
    choose_weight_sharpness: float = Field(
        0.25, ge=0.0, le=100.0, description="Rank weight of sharpness (log variance of Laplacian)."
    )
    choose_weight_colourfulness: float = Field(
        0.1, ge=0.0, le=100.0, description="Rank weight of colourfulness."
    )
    choose_weight_blockiness: float = Field(
        0.25, ge=0.0, le=100.0, description="Rank weight against blockiness (lower is better)."
    )
    near_copy_max_hash_distance: int = Field(
        10,
        ge=0,
        le=32,
        description="A frame within this many bits (of 64) of any source variant is a near-copy.",
    )
    near_copy_min_clip_similarity: float = Field(
        0.95,
        ge=0.5,
        le=1.0,
        description="A frame with at least this CLIP image similarity to the source is a "
        "near-copy.",
    )
    review_host: str = Field(
        "127.0.0.1", description="Address `bot review` binds; keep it on loopback."
    )
    review_port: int = Field(8765, ge=0, le=65535, description="Port of `bot review` (0: any).")
    upscale_enabled: bool = Field(
        False, description="Upscale the chosen frame before it is pinned (ESRGAN, spandrel)."
    )
    upscale_scale: int = Field(4, ge=2, le=4, description="Upscale factor: 2 or 4.")
    upscale_model: str | None = Field(
        None, description="Upscaler weights; default realesrgan_x4plus (x4) / _x2plus (x2)."
    )
    upscale_tile: int = Field(
        256, ge=32, le=4096, description="Input tile side for upscaling (bounds memory)."
    )
    upscale_tile_overlap: int = Field(
        16, ge=0, le=256, description="Context pixels around each upscaling tile."
    )

    # --- scraper ----------------------------------------------------------------------------------
    opensea_api_key: Secret = Field(None, description="X-API-KEY for OpenSea API v2.")
    scrape_rate_per_second: float = Field(
        2.0, ge=0.01, le=1000, description="Per-host request rate."
    )
    scrape_concurrency: int = Field(4, ge=1, le=64, description="Concurrent requests overall.")
    scrape_timeout_s: float = Field(
        30.0,
        ge=0.1,
        le=600,
        description="Connect/read timeout in seconds; a whole request (redirects, headers, "
        "body) must finish within 4x this.",
    )
    download_max_bytes: int = Field(
        50_000_000,
        ge=1024,
        le=1_000_000_000,
        description="Image size cap in bytes.",
    )
    download_max_pixels: int = Field(
        40_000_000,
        ge=1024,
        le=268_435_456,
        description="Decompression-bomb cap in pixels, checked on the header before decoding "
        "(a 40M-pixel RGBA PNG needs about 200 MB to prepare).",
    )
    allow_private_addresses: bool = Field(
        False, description="Allow downloads from loopback/private addresses (tests only)."
    )
    user_agent: Annotated[str, AfterValidator(checks.header_text)] = Field(
        "nftbot/0.1 (+https://github.com/nftbot/nftbot; generative-art publishing bot)",
        max_length=300,
        description="User-Agent sent with every request (printable ASCII).",
    )
    opensea_api_url: OptionalHttpUrl = Field(
        None, description="Override the OpenSea API base URL (default https://api.opensea.io)."
    )
    rarible_collections: Annotated[str, AfterValidator(checks.rarible_collection_ids)] = Field(
        "", description="Comma-separated Rarible collection ids to scrape, e.g. ETHEREUM:0x…"
    )
    opensea_collections: Annotated[str, AfterValidator(checks.opensea_slugs)] = Field(
        "", description="Comma-separated OpenSea slugs to scrape."
    )
    scrape_burst: int = Field(1, ge=1, le=100, description="Requests a host may get back to back.")
    scrape_page_size: int = Field(100, ge=1, le=1000, description="Listings asked per page.")
    scrape_page_rules: Annotated[
        Annotated[Path, BeforeValidator(checks.path_text), AfterValidator(checks.existing_file)]
        | None,
        BeforeValidator(_blank_is_unset),
    ] = Field(None, description="YAML file of per-site CSS-selector rules for the browser source.")
    chromium_path: Annotated[str, AfterValidator(checks.path_text)] = Field(
        "/usr/bin/chromium", description="Chromium binary the browser source launches."
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
        BeforeValidator(_blank_is_unset),
    ] = Field(None, description="Daemon log file (rotated); default <data_dir>/logs/bot.log.")
    log_json: bool = Field(False, description="Daemon log file as JSON lines.")
    log_max_bytes: int = Field(
        10_000_000, ge=10_000, le=1_000_000_000, description="Log file size before it rotates."
    )
    log_backups: int = Field(5, ge=1, le=100, description="Rotated log files kept.")
    # --- IPFS: CID profiles, pin targets, re-verification (issue 11) -------------------------
    ipfs_cid_profile: str = Field(
        "legacy",
        max_length=64,
        description="CID profile for new content: legacy (the legacy layout with "
        "BOT_IPFS_CID_VERSION), legacy-v0, legacy-v1 or unixfs-v1-2025 (kubo's names "
        "unixfs-v0-2015 and legacy-cid-v0 are accepted).",
    )
    ipfs_targets: Annotated[
        list[PinTargetSetting], NoDecode, BeforeValidator(_json_list_or_blank)
    ] = Field(
        [],
        max_length=16,
        description='JSON list of pin targets, e.g. [{"name":"local","kind":"local"},{"name":'
        '"node","kind":"kubo","url":"http://127.0.0.1:5001"},{"name":"pinata","kind":'
        '"pinning-service","url":"https://api.pinata.cloud/psa","token":"…","required":false}]; '
        "empty: the one target BOT_IPFS_PINNER names.",
    )
    ipfs_verify_gateways: Annotated[
        Annotated[str, AfterValidator(_gateway_list_or_none)] | None,
        BeforeValidator(_blank_is_unset),
    ] = Field(
        None,
        description="Comma-separated http(s) gateways `bot pins verify` reads every CID back "
        "through; empty: BOT_IPFS_GATEWAYS; none: no gateway.",
    )
    ipfs_verify_timeout_s: float = Field(
        30.0, ge=1, le=600, description="Per-request timeout of `bot pins verify` in seconds."
    )

    @field_validator("ipfs_cid_profile")
    @classmethod
    def _known_cid_profile(cls, value: str) -> str:
        from storage.ipfs.profiles import get_profile

        if value != "legacy":
            get_profile(value)  # raises with the list of known names
        return value

    @model_validator(mode="after")
    def _ipfs_profile_and_targets_agree(self) -> Settings:
        profile = self.cid_profile
        version_given = "ipfs_cid_version" in self.model_fields_set
        if version_given and profile.cid_version != self.ipfs_cid_version:
            raise ValueError(
                f"BOT_IPFS_CID_PROFILE={self.ipfs_cid_profile} makes CIDv{profile.cid_version} "
                f"but BOT_IPFS_CID_VERSION={self.ipfs_cid_version}: drop one of them"
            )
        from storage.ipfs.targets import check_specs

        try:
            check_specs(self.pin_target_specs)
        except ValueError as exc:
            raise ValueError(
                f"BOT_IPFS_TARGETS: {exc}" if self.ipfs_targets else str(exc)
            ) from None
        return self

    @property
    def cid_profile(self) -> CidProfile:
        """The CID profile new content is imported with."""
        from storage.ipfs.profiles import get_profile, legacy_profile

        if self.ipfs_cid_profile == "legacy":
            return legacy_profile(self.ipfs_cid_version)
        return get_profile(self.ipfs_cid_profile)

    @property
    def pin_target_specs(self) -> list[TargetSpec]:
        """BOT_IPFS_TARGETS, or the one target of BOT_IPFS_PINNER (named after its kind)."""
        from storage.ipfs.targets import TargetSpec

        if not self.ipfs_targets:
            return [self._legacy_target_spec()]
        by_name = {entry.name: entry for entry in self.ipfs_targets}
        specs = []
        for entry in self.ipfs_targets:
            provider = by_name.get(entry.provide_via) if entry.provide_via else None
            if entry.provide_via and (provider is None or provider.kind is not PinnerKind.KUBO):
                raise ValueError(
                    f"pin target {entry.name!r}: provide_via={entry.provide_via!r} must name a "
                    "kubo target in BOT_IPFS_TARGETS"
                )
            specs.append(
                TargetSpec(
                    name=entry.name,
                    kind=entry.kind.value,
                    url=entry.url,
                    token=entry.token.get_secret_value() if entry.token else None,
                    required=entry.required,
                    provider_url=provider.url if provider else None,
                    provider_token=(
                        provider.token.get_secret_value() if provider and provider.token else None
                    ),
                )
            )
        return specs

    def _legacy_target_spec(self) -> TargetSpec:
        from storage.ipfs.targets import TargetSpec

        kind = self.ipfs_pinner
        if kind is PinnerKind.KUBO:
            return TargetSpec("kubo", "kubo", url=self.ipfs_api_url)
        if kind is PinnerKind.PINNING_SERVICE:
            if not self.pinning_service_url or not self.pinning_service_token:
                raise ValueError(
                    "BOT_IPFS_PINNER=pinning-service needs BOT_PINNING_SERVICE_URL and "
                    "BOT_PINNING_SERVICE_TOKEN"
                )
            return TargetSpec(
                "pinning-service",
                "pinning-service",
                url=self.pinning_service_url,
                token=self.pinning_service_token.get_secret_value(),
                provider_url=self.ipfs_api_url if self.ipfs_provide_via_kubo else None,
            )
        return TargetSpec("local", "local")

    @property
    def verify_gateways(self) -> tuple[str, ...]:
        text = self.ipfs_verify_gateways
        if text is None:
            text = self.ipfs_gateways
        elif text == "none":
            return ()
        return tuple(g.strip().rstrip("/") + "/" for g in text.split(",") if g.strip())

    # --- end of the issue-11 IPFS block ----------------------------------------------------

    # --- preparation: filters, categories, the prompt (issue 12) ----------------------------
    prepare_resize: Literal["stretch", "crop", "pad"] = Field(
        "stretch",
        description="How the source becomes a square init image: stretch (as the study did), "
        "crop (centre) or pad (white).",
    )
    prompt_template: str = Field(
        "{category}",
        max_length=500,
        description="Generation prompt; {category} (the study's choice), {title} (the "
        "listing's own title) and {series} (its series title) are filled in.",
    )
    prepare_min_side: int = Field(
        256,
        ge=1,
        le=20_000,
        description="Quality filter: the shorter side of the source at least this, in pixels.",
    )
    prepare_min_sharpness: float = Field(
        5.0,
        ge=0,
        le=1_000_000,
        description="Blur filter: variance of the Laplacian of the luma (source stretched to "
        "512x512) at least this; 0 turns it off.",
    )
    prepare_max_single_colour: float = Field(
        0.98,
        gt=0,
        le=1,
        description="Blank filter: share of pixels in the most common colour at most this; "
        "1 turns it off.",
    )
    prepare_min_contrast: float = Field(
        5.0,
        ge=0,
        le=128,
        description="Near-blank filter: standard deviation of the luma (0-255 scale) at least "
        "this.",
    )
    prepare_max_blockiness: float = Field(
        2.5,
        ge=1,
        le=1000,
        description="JPEG blocking filter: block-boundary steps / in-block steps at most this "
        "(clean images are about 1).",
    )
    prepare_max_text: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Text filter: share of the image covered by text lines at most this.",
    )
    prepare_min_confidence: float = Field(
        0.5,
        ge=0,
        le=1,
        description="CLIP's probability for a category at least this, else the image is "
        "'other' and rejected.",
    )
    prepare_face_min_area: float = Field(
        0.03,
        ge=0,
        le=1,
        description="A detected face covering at least this share of the image makes it Faces, "
        "a smaller one People.",
    )
    prepare_clip_batch: int = Field(
        16, ge=1, le=512, description="Images per CLIP forward pass in prepare."
    )

    @field_validator("prompt_template")
    @classmethod
    def _prompt_template(cls, value: str) -> str:
        from generator.prompts import check_prompt_template

        return check_prompt_template(value)

    # --- reports and notifications (bot report, bot/notify) ------------------------------------
    webhook_url: Annotated[Secret, AfterValidator(_secret_http_url)] = Field(
        None,
        description="Webhook called on a sale, a new highest bid, an artwork parked as failed "
        "and the daemon starting or stopping; http(s). A secret: Discord and Slack URLs carry "
        "the token. Empty: no notifications.",
    )
    webhook_format: WebhookFormat = Field(
        WebhookFormat.JSON,
        description="Body the webhook expects: json (the event), discord or slack.",
    )
    webhook_timeout_s: float = Field(
        5.0,
        ge=0.1,
        le=60,
        description="Seconds one webhook call may take (connect, then answer); a slower one "
        "counts as failed. Also how long a command waits at exit for queued notifications.",
    )
    webhook_queue_size: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Notifications waiting to be sent at most; more are dropped (and logged).",
    )
    protocol_fee_bps: Annotated[int | None, BeforeValidator(_blank_is_unset)] = Field(
        None,
        ge=0,
        le=10_000,
        description="Rarible's seller-side protocol fee in bps (charged on V3 orders), "
        "recorded with each new sale; empty: ask the API (GET /v0.1/orders/settings/fees).",
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be DEBUG, INFO, WARNING or ERROR")
        return level

    @field_validator("curate_years")
    @classmethod
    def _year_range(cls, value: str) -> str:
        checks.year_range(value)
        return value

    @field_validator("listing_kind")
    @classmethod
    def _listing_kind(cls, value: str) -> str:
        if value not in {"open-for-bids", "fixed-price"}:
            raise ValueError("must be open-for-bids or fixed-price")
        return value

    @field_validator("generator_vqgan", "generator_clip")
    @classmethod
    def _known_weights(cls, value: str, info: Any) -> str:
        from generator.registry import REGISTRY, WeightKind

        kind = WeightKind.VQGAN if info.field_name == "generator_vqgan" else WeightKind.CLIP
        known = sorted(name for name, spec in REGISTRY.items() if spec.kind is kind)
        if value not in known:
            raise ValueError(f"unknown {kind.value.upper()} weights; known: {', '.join(known)}")
        return value

    @field_validator("upscale_scale")
    @classmethod
    def _upscale_scale(cls, value: int) -> int:
        if value not in (2, 4):
            raise ValueError("upscale_scale must be 2 or 4 (the Real-ESRGAN models)")
        return value

    @model_validator(mode="after")
    def _data_dir_per_mode(self) -> Settings:
        self._data_dir_explicit = "data_dir" in self.model_fields_set
        if not self._data_dir_explicit:
            self.data_dir = DEFAULT_DATA_ROOT / self.marketplace_mode.value
        return self

    @model_validator(mode="after")
    def _mainnet_needs_confirmation(self) -> Settings:
        if self.marketplace_mode is MarketplaceMode.MAINNET and not self.mainnet_confirm:
            raise ValueError(
                "BOT_MARKETPLACE_MODE=mainnet spends real money: set BOT_MAINNET_CONFIRM=true "
                "as well, or use testnet / dry-run"
            )
        return self

    @property
    def data_dir_is_explicit(self) -> bool:
        """BOT_DATA_DIR was given (used as is); otherwise the data dir is data/<mode>."""
        return self._data_dir_explicit

    @property
    def log_path(self) -> Path:
        return self.log_file or self.data_dir / "logs" / "bot.log"

    @property
    def lock_path(self) -> Path:
        """The single-instance lock of this data dir (bot daemon, bot run)."""
        return self.data_dir / "bot.lock"

    @property
    def scoring_clip(self) -> str:
        return self.choose_clip or self.generator_clip

    @property
    def upscaler_name(self) -> str:
        return self.upscale_model or f"realesrgan_x{self.upscale_scale}plus"

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'bot.db'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def ipfs_dir(self) -> Path:
        """The local IPFS blockstore."""
        return self.data_dir / "ipfs"

    @property
    def wallet_dir(self) -> Path:
        return self.data_dir / "wallet"

    @property
    def outbox_dir(self) -> Path:
        """Dry-run: one file per signed request that was not sent."""
        return self.data_dir / "outbox"

    @property
    def weights_cache_dir(self) -> Path:
        """Weights placed by hand (BOT_WEIGHTS_DIR), else the download cache: in the data dir
        when one is set, else shared by the modes' data dirs (data/models: weights are the
        same in every mode, and gigabytes)."""
        if self.weights_dir:
            return self.weights_dir
        return (self.data_dir if self._data_dir_explicit else DEFAULT_DATA_ROOT) / "models"

    def redacted(self) -> dict[str, Any]:
        """Every setting with secrets replaced, for display."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else ""
            elif isinstance(value, list) and all(isinstance(v, BaseModel) for v in value):
                shown[name] = [v.model_dump(mode="json") for v in value]  # SecretStr → ****
            elif name == "database_url" and value and "@" in value:
                shown[name] = _redact_url_password(value)
            else:
                shown[name] = str(value) if isinstance(value, Path | StrEnum) else value
        return shown


def allowed_values(name: str) -> str | None:
    """What a numeric, boolean or choice setting accepts, from its type and bounds, for
    .env.example: 'whole number, 1 to 10000'. None for text (its description says)."""
    import annotated_types

    field = Settings.model_fields[name]
    kinds = {int: "whole number", float: "number", bool: "true or false"}
    base = next(
        (arg for arg in (field.annotation, *typing.get_args(field.annotation)) if arg in kinds),
        field.annotation,
    )
    if isinstance(base, type) and issubclass(base, StrEnum):
        return "one of " + ", ".join(member.value for member in base)
    if base not in kinds:
        return None
    low = high = None
    for bound in field.metadata:
        if isinstance(bound, annotated_types.Ge):
            low = f"{bound.ge}"
        elif isinstance(bound, annotated_types.Gt):
            low = f"more than {bound.gt}"
        elif isinstance(bound, annotated_types.Le):
            high = f"{bound.le}"
        elif isinstance(bound, annotated_types.Lt):
            high = f"less than {bound.lt}"
    text = kinds[base]
    if low and high:
        text += f", {low} to {high}"
    if field.default is None:
        text += "; empty = not set"
    return text


def parse_year_range(text: str) -> tuple[int, int]:
    """'2017-2021' -> (2017, 2021); a single year is a range of one."""
    return checks.year_range(text)


def _redact_url_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"


def load_settings(
    *, env_file: Path | None = None, environ: Mapping[str, str] | None = None, **overrides: Any
) -> Settings:
    """Build settings from the environment, the env file and explicit overrides (tests).

    The env file is `env_file` (the `--env-file` option), else `$BOT_ENV_FILE`, else `.env`
    in the working directory when there is one. Raises SettingsError listing every problem:
    bad values, unknown `BOT_*` names (with the closest real one) and a missing env file.
    """
    environ = os.environ if environ is None else environ
    known = set(Settings.model_fields)
    chosen, problems = env_file_problems(env_file, environ, known, default=DEFAULT_ENV_FILE)
    try:
        arguments: dict[str, Any] = {"_env_file": chosen, **overrides}  # None: no file at all
        settings = Settings(**arguments)
    except ValidationError as exc:
        problems += describe_validation_error(exc, Settings)
    if problems:
        raise SettingsError(problems)
    return settings
