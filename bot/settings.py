"""Settings: one source of truth, read from an env file and `BOT_*` environment variables.

`Settings` is one flat model (every name is BOT_<NAME>) built from one mixin per area: the
core here (store, curation, marketplace, generator, scraper, reports), IPFS
(`bot.settings_ipfs`), preparation and frame choice (`bot.settings_frames`), and the loop:
executors, pipeline, daemon (`bot.settings_pipeline`).

Validated at start-up so a typo fails before the daemon does anything: every number has
bounds, every URL, address, price and path is checked (`bot.settings_checks`), and an unknown
`BOT_*` name is an error naming the closest real one (`bot.settings_errors`). Secrets are
`SecretStr` so they never print by accident; `bot config show` redacts them explicitly.
Dry run and testnet are the defaults: the real marketplace needs two explicit settings.
"""

from __future__ import annotations

import os
import typing
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot import settings_checks as checks
from bot.settings_errors import SettingsError, describe_validation_error, env_file_problems
from bot.settings_frames import FrameSettings
from bot.settings_ipfs import IpfsSettings
from bot.settings_pipeline import PipelineSettings
from bot.settings_types import DirectoryPath, OptionalHttpUrl, Secret, blank_is_unset
from marketplace.royalties import MAX_ROYALTY_BPS  # the exchange's rule, not a preference

DEFAULT_ENV_FILE = Path(".env")
DEFAULT_DATA_ROOT = Path("data")  # the data dir is DEFAULT_DATA_ROOT/<mode> unless set


class MarketplaceMode(StrEnum):
    DRY_RUN = "dry-run"
    TESTNET = "testnet"
    MAINNET = "mainnet"


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


class CoreSettings(BaseModel):
    """The store, curation, the marketplace, the generator and the scraper."""

    # --- core -----------------------------------------------------------------------------
    data_dir: DirectoryPath = Field(
        DEFAULT_DATA_ROOT,
        description="Where the database, blobs and caches live. Unset: data/<mode> "
        "(data/dry-run, data/testnet, data/mainnet), so modes never share a store; set: used "
        "as given (the store's recorded mode is still checked).",
    )
    database_url: Annotated[
        Annotated[str, AfterValidator(checks.database_url)] | None,
        BeforeValidator(blank_is_unset),
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
        BeforeValidator(blank_is_unset),
    ] = Field(
        None,
        description="Lazy-mint ERC-721 address (0x + 40 hex); default: Rarible's shared one "
        "per network.",
    )
    listing_duration_days: int = Field(
        30, ge=1, le=3650, description="How long a fixed-price sell order stays valid (days)."
    )

    # --- generator ----------------------------------------------------------------------------
    generator_device: Annotated[str, AfterValidator(checks.torch_device)] = Field(
        "auto", description="auto, cpu, cuda or cuda:N."
    )
    generator_steps: int = Field(
        20, ge=1, le=10_000, description="Iterations per artwork, frames kept."
    )
    generator_size: int = Field(512, ge=16, le=2048, description="Output side in pixels.")
    generator_batch: Annotated[int | None, BeforeValidator(blank_is_unset)] = Field(
        None, ge=1, le=1024, description="Batch size; empty = fit memory."
    )
    generator_vqgan: str = Field(
        "vqgan_wikiart_16384", description="VQGAN weights name (see `bot models list`)."
    )
    generator_clip: str = Field(
        "clip_vit_b32", description="CLIP weights name (see `bot models list`)."
    )
    weights_dir: Annotated[DirectoryPath | None, BeforeValidator(blank_is_unset)] = Field(
        None, description="Directory of weights placed by hand."
    )
    allow_smoke_test_models: bool = Field(
        False, description="Let the demo use tiny untrained models when real weights are absent."
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
        BeforeValidator(blank_is_unset),
    ] = Field(None, description="YAML file of per-site CSS-selector rules for the browser source.")
    chromium_path: Annotated[str, AfterValidator(checks.path_text)] = Field(
        "/usr/bin/chromium", description="Chromium binary the browser source launches."
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

    @model_validator(mode="after")
    def _mainnet_needs_confirmation(self) -> Self:
        if self.marketplace_mode is MarketplaceMode.MAINNET and not self.mainnet_confirm:
            raise ValueError(
                "BOT_MARKETPLACE_MODE=mainnet spends real money: set BOT_MAINNET_CONFIRM=true "
                "as well, or use testnet / dry-run"
            )
        return self


# Pydantic lists a model's fields from its last base to its first, then its own: the order
# below is the order of .env.example and `bot config show` (core first, reports last).
class Settings(PipelineSettings, FrameSettings, IpfsSettings, CoreSettings, BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=DEFAULT_ENV_FILE,
        env_file_encoding="utf-8",
        extra="ignore",  # unknown BOT_* names are reported by load_settings, with a suggestion
        validate_default=True,
    )

    _data_dir_explicit: bool = PrivateAttr(default=False)
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
    protocol_fee_bps: Annotated[int | None, BeforeValidator(blank_is_unset)] = Field(
        None,
        ge=0,
        le=10_000,
        description="Rarible's seller-side protocol fee in bps (charged on V3 orders), "
        "recorded with each new sale; empty: ask the API (GET /v0.1/orders/settings/fees).",
    )

    @model_validator(mode="after")
    def _data_dir_per_mode(self) -> Settings:
        self._data_dir_explicit = "data_dir" in self.model_fields_set
        if not self._data_dir_explicit:
            self.data_dir = DEFAULT_DATA_ROOT / self.marketplace_mode.value
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
