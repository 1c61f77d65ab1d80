"""Settings: one source of truth, read from `.env` and `BOT_*` environment variables.

Validated at start-up so a typo fails before the daemon does anything. Secrets are
`SecretStr` so they never print by accident; `bot config show` redacts them explicitly.
Dry run and testnet are the defaults: the real marketplace needs two explicit settings.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class MarketplaceMode(StrEnum):
    DRY_RUN = "dry-run"
    TESTNET = "testnet"
    MAINNET = "mainnet"


class PinnerKind(StrEnum):
    LOCAL = "local"
    KUBO = "kubo"
    PINNING_SERVICE = "pinning-service"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="BOT_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- core -----------------------------------------------------------------------------
    data_dir: Path = Field(Path("data"), description="Where the database, blobs and caches live.")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default sqlite:///<data_dir>/bot.db (WAL mode)."
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR.")

    # --- curation ---------------------------------------------------------------------------
    curate_trim: float = Field(0.05, ge=0.0, lt=0.5, description="Per-year price trim fraction.")
    curate_years: str = Field("2017-2021", description="Inclusive year range, e.g. 2017-2021.")
    curate_top: int = Field(100, ge=1, description="How many candidates curation selects.")

    # --- marketplace (Rarible) ----------------------------------------------------------------
    marketplace_mode: MarketplaceMode = Field(
        MarketplaceMode.DRY_RUN, description="dry-run (default), testnet or mainnet."
    )
    mainnet_confirm: bool = Field(
        False, description="Must be true, together with mode=mainnet, to touch real money."
    )
    rarible_api_key: SecretStr | None = Field(None, description="X-API-KEY for the Rarible API.")
    rarible_api_url: str | None = Field(
        None, description="Override the Rarible API base URL (tests, proxies)."
    )
    wallet_passphrase: SecretStr | None = Field(
        None, description="Unlocks the keystore for unattended runs (daemon)."
    )
    publish_cap: int = Field(100, ge=1, description="Max items published per collection run.")
    listing_kind: str = Field(
        "open-for-bids", description="open-for-bids (lazy mint, no sell order) or fixed-price."
    )
    listing_price_eth: str = Field("0.05", description="Fixed-price listing price in ETH.")
    royalty_bps: int = Field(1000, ge=0, lt=10000, description="Royalty in basis points (<100%).")
    rarible_collection: str | None = Field(
        None, description="Lazy-mint ERC-721 address; default: Rarible's shared one per network."
    )
    listing_duration_days: int = Field(
        30, ge=1, le=3650, description="How long a fixed-price sell order stays valid."
    )

    # --- IPFS -----------------------------------------------------------------------------------
    ipfs_pinner: PinnerKind = Field(PinnerKind.LOCAL, description="local, kubo or pinning-service.")
    ipfs_api_url: str = Field("http://127.0.0.1:5001", description="Kubo RPC API base URL.")
    pinning_service_url: str | None = Field(None, description="IPFS Pinning Service API base.")
    pinning_service_token: SecretStr | None = Field(None, description="Bearer token for it.")
    ipfs_cid_version: int = Field(1, ge=0, le=1, description="CID version for new content.")
    ipfs_pin_frames: bool = Field(False, description="Pin every generated frame as it is written.")
    ipfs_provide_via_kubo: bool = Field(
        False,
        description="With pinner=pinning-service, also add content to the kubo node at "
        "BOT_IPFS_API_URL and send its addresses as origins, so the service can fetch it.",
    )
    ipfs_gateways: str = Field(
        "https://ipfs.io/ipfs/,https://dweb.link/ipfs/",
        description="Comma-separated gateways tried in order to fetch ipfs:// images.",
    )

    # --- generator ----------------------------------------------------------------------------
    generator_device: str = Field("auto", description="auto, cpu, cuda or cuda:N.")
    generator_steps: int = Field(20, ge=1, description="Iterations per artwork (frames kept).")
    generator_size: int = Field(512, ge=16, description="Output side in pixels.")
    generator_batch: int | None = Field(None, ge=1, description="Batch size; None = fit memory.")
    generator_vqgan: str = Field("vqgan_wikiart_16384", description="VQGAN weights name.")
    generator_clip: str = Field("clip_vit_b32", description="CLIP weights name.")
    weights_dir: Path | None = Field(None, description="Directory of weights placed by hand.")
    allow_smoke_test_models: bool = Field(
        False, description="Let the demo use tiny untrained models when real weights are absent."
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
    opensea_api_key: SecretStr | None = Field(None, description="X-API-KEY for OpenSea API v2.")
    scrape_rate_per_second: float = Field(2.0, gt=0, description="Per-host request rate.")
    scrape_concurrency: int = Field(4, ge=1, description="Concurrent requests overall.")
    scrape_timeout_s: float = Field(30.0, gt=0, description="Per-request timeout.")
    download_max_bytes: int = Field(50_000_000, ge=1, description="Image size cap in bytes.")
    download_max_pixels: int = Field(64_000_000, ge=1, description="Decompression-bomb cap.")
    allow_private_addresses: bool = Field(
        False, description="Allow downloads from loopback/private addresses (tests only)."
    )
    user_agent: str = Field(
        "nftbot/0.1 (+https://github.com/nftbot/nftbot; generative-art publishing bot)",
        description="User-Agent sent with every request.",
    )
    opensea_api_url: str | None = Field(
        None, description="Override the OpenSea API base URL (default https://api.opensea.io)."
    )
    rarible_collections: str = Field(
        "", description="Comma-separated Rarible collection ids to scrape, e.g. ETHEREUM:0x…"
    )
    opensea_collections: str = Field("", description="Comma-separated OpenSea slugs to scrape.")
    scrape_burst: int = Field(1, ge=1, description="Requests a host may get back to back.")
    scrape_page_size: int = Field(100, ge=1, le=1000, description="Listings asked per page.")
    scrape_page_rules: Path | None = Field(
        None, description="YAML file of per-site CSS-selector rules for the browser source."
    )
    chromium_path: str = Field(
        "/usr/bin/chromium", description="Chromium binary the browser source launches."
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError(f"unknown log level {value!r}")
        return level

    @field_validator("curate_years")
    @classmethod
    def _year_range(cls, value: str) -> str:
        parse_year_range(value)
        return value

    @field_validator("listing_kind")
    @classmethod
    def _listing_kind(cls, value: str) -> str:
        if value not in {"open-for-bids", "fixed-price"}:
            raise ValueError("listing_kind must be 'open-for-bids' or 'fixed-price'")
        return value

    @field_validator("upscale_scale")
    @classmethod
    def _upscale_scale(cls, value: int) -> int:
        if value not in (2, 4):
            raise ValueError("upscale_scale must be 2 or 4 (the Real-ESRGAN models)")
        return value

    @model_validator(mode="after")
    def _mainnet_needs_confirmation(self) -> Settings:
        if self.marketplace_mode is MarketplaceMode.MAINNET and not self.mainnet_confirm:
            raise ValueError(
                "marketplace_mode=mainnet spends real money: set BOT_MAINNET_CONFIRM=true "
                "as well, or use testnet / dry-run"
            )
        return self

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
        """Weights placed by hand (BOT_WEIGHTS_DIR), else the download cache."""
        return self.weights_dir or self.data_dir / "models"

    def redacted(self) -> dict[str, Any]:
        """Every setting with secrets replaced, for display."""
        shown: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                shown[name] = "********" if value.get_secret_value() else ""
            elif name == "database_url" and value and "@" in value:
                shown[name] = _redact_url_password(value)
            else:
                shown[name] = str(value) if isinstance(value, Path | StrEnum) else value
        return shown


def parse_year_range(text: str) -> tuple[int, int]:
    """'2017-2021' -> (2017, 2021); a single year is a range of one."""
    parts = text.split("-")
    try:
        if len(parts) == 1:
            first = last = int(parts[0])
        elif len(parts) == 2:
            first, last = int(parts[0]), int(parts[1])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(f"year range {text!r} is not YEAR or YEAR-YEAR") from None
    if first > last:
        raise ValueError(f"year range {text!r} starts after it ends")
    return first, last


def _redact_url_password(url: str) -> str:
    scheme, _, rest = url.partition("://")
    creds, _, host = rest.rpartition("@")
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:********@{host}"


def load_settings(**overrides: Any) -> Settings:
    """Build settings from env/.env plus explicit overrides (CLI flags, tests)."""
    return Settings(**overrides)
