from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import MarketplaceMode, Settings, parse_year_range


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.marketplace_mode is MarketplaceMode.DRY_RUN
    assert settings.data_dir == Path("data")
    assert settings.db_url == "sqlite:///data/bot.db"


def test_env_and_dotenv_are_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("BOT_PUBLISH_CAP=7\nBOT_LOG_LEVEL=debug\n")
    monkeypatch.setenv("BOT_PUBLISH_CAP", "9")  # the environment wins over .env
    settings = Settings()
    assert settings.publish_cap == 9
    assert settings.log_level == "DEBUG"


def test_mainnet_needs_explicit_confirmation(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "mainnet")
    with pytest.raises(ValidationError, match="BOT_MAINNET_CONFIRM"):
        Settings()
    monkeypatch.setenv("BOT_MAINNET_CONFIRM", "true")
    assert Settings().marketplace_mode is MarketplaceMode.MAINNET


def test_secrets_are_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_RARIBLE_API_KEY", "super-secret-key")
    monkeypatch.setenv("BOT_DATABASE_URL", "postgresql://bot:hunter2@db/bot")
    shown = Settings().redacted()
    assert "super-secret-key" not in str(shown)
    assert "hunter2" not in str(shown)
    assert shown["rarible_api_key"] == "********"


@pytest.mark.parametrize("text,expected", [("2017-2021", (2017, 2021)), ("2020", (2020, 2020))])
def test_year_range(text: str, expected: tuple[int, int]) -> None:
    assert parse_year_range(text) == expected


@pytest.mark.parametrize("text", ["2021-2017", "abc", "1-2-3"])
def test_bad_year_range(text: str) -> None:
    with pytest.raises(ValueError):
        parse_year_range(text)


# --- IPFS: CID profiles and pin targets (issue 11) ----------------------------------------------
def test_cid_profile_defaults_to_the_legacy_layout_of_the_cid_version(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert Settings().cid_profile.name == "legacy-v1"
    monkeypatch.setenv("BOT_IPFS_CID_VERSION", "0")
    assert Settings().cid_profile.name == "legacy-v0"
    monkeypatch.delenv("BOT_IPFS_CID_VERSION")
    monkeypatch.setenv("BOT_IPFS_CID_PROFILE", "unixfs-v1-2025")
    profile = Settings().cid_profile
    assert (profile.name, profile.chunk_size, profile.max_links) == (
        "unixfs-v1-2025",
        1 << 20,
        1024,
    )
    monkeypatch.setenv("BOT_IPFS_CID_PROFILE", "unixfs-v0-2015")  # kubo's name
    assert Settings().cid_profile.name == "legacy-v0"


@pytest.mark.parametrize(
    ("profile", "version", "message"),
    [
        ("unixfs-v1-2025", "0", "makes CIDv1 but BOT_IPFS_CID_VERSION=0"),
        ("legacy-v0", "1", "makes CIDv0"),
        ("unixfs-v2", None, "unknown CID profile"),
    ],
)
def test_cid_profile_conflicts_are_refused(
    monkeypatch: pytest.MonkeyPatch, profile: str, version: str | None, message: str
) -> None:
    monkeypatch.setenv("BOT_IPFS_CID_PROFILE", profile)
    if version is not None:
        monkeypatch.setenv("BOT_IPFS_CID_VERSION", version)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_without_targets_the_pinner_setting_is_the_one_target(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert [(s.name, s.kind, s.required) for s in Settings().pin_target_specs] == [
        ("local", "local", True)
    ]
    monkeypatch.setenv("BOT_IPFS_PINNER", "pinning-service")
    monkeypatch.setenv("BOT_PINNING_SERVICE_URL", "https://pins.example/psa")
    monkeypatch.setenv("BOT_PINNING_SERVICE_TOKEN", "t0ken")
    monkeypatch.setenv("BOT_IPFS_PROVIDE_VIA_KUBO", "true")
    (spec,) = Settings().pin_target_specs
    assert (spec.name, spec.url, spec.token) == (
        "pinning-service",
        "https://pins.example/psa",
        "t0ken",
    )
    assert spec.provider_url == "http://127.0.0.1:5001"


def test_a_target_list_is_read_from_json_and_its_tokens_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(
        "BOT_IPFS_TARGETS",
        json.dumps(
            [
                {"name": "local", "kind": "local"},
                {"name": "home", "kind": "kubo", "url": "http://10.0.0.2:5001", "token": "kt"},
                {
                    "name": "pinata",
                    "kind": "pinning-service",
                    "url": "https://api.pinata.cloud/psa",
                    "token": "service-secret",
                    "required": False,
                    "provide_via": "home",
                },
            ]
        ),
    )
    settings = Settings()
    specs = settings.pin_target_specs
    assert [(s.name, s.kind, s.required) for s in specs] == [
        ("local", "local", True),
        ("home", "kubo", True),
        ("pinata", "pinning-service", False),
    ]
    assert (specs[2].provider_url, specs[2].provider_token) == ("http://10.0.0.2:5001", "kt")
    shown = str(settings.redacted())
    assert "service-secret" not in shown and "'kt'" not in shown and "pinata" in shown


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ([{"name": "a", "kind": "local"}, {"name": "a", "kind": "local"}], "unique"),
        ([{"name": "n", "kind": "kubo"}], "needs the node's RPC url"),
        ([{"name": "s", "kind": "pinning-service", "url": "https://x"}], "needs the service url"),
        ([{"name": "l", "kind": "local", "required": False}], "at least one pin target must"),
        ([{"name": "l", "kind": "local"}, {"name": "m", "kind": "local"}], "at most one"),
        ([{"name": "Bad Name", "kind": "local"}], "name"),
        ([{"name": "l", "kind": "local", "colour": "red"}], "colour"),
        ([{"name": "k", "kind": "kubo", "url": "ftp://x"}], "http"),
        (
            [
                {"name": "l", "kind": "local"},
                {
                    "name": "s",
                    "kind": "pinning-service",
                    "url": "https://x",
                    "token": "t",
                    "provide_via": "l",
                },
            ],
            "must name a kubo target",
        ),
    ],
)
def test_bad_target_lists_are_refused_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, targets: list[dict[str, object]], message: str
) -> None:
    monkeypatch.setenv("BOT_IPFS_TARGETS", json.dumps(targets))
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_verify_gateways_default_to_the_fetch_gateways(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().verify_gateways == ("https://ipfs.io/ipfs/", "https://dweb.link/ipfs/")
    monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", "")  # blank is unset, as everywhere
    assert Settings().verify_gateways == ("https://ipfs.io/ipfs/", "https://dweb.link/ipfs/")
    monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", "none")
    assert Settings().verify_gateways == ()
    monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", "http://127.0.0.1:8080/ipfs")
    assert Settings().verify_gateways == ("http://127.0.0.1:8080/ipfs/",)
    monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", "ftp://gw/ipfs/")
    with pytest.raises(ValidationError, match="http"):
        Settings()
    monkeypatch.delenv("BOT_IPFS_VERIFY_GATEWAYS")
    monkeypatch.setenv("BOT_IPFS_VERIFY_TIMEOUT_S", "0")
    with pytest.raises(ValidationError):
        Settings()


def test_a_bad_target_list_never_prints_its_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.settings import load_settings
    from bot.settings_errors import SettingsError

    bad = [{"name": "s", "kind": "pinning-service", "url": "gopher://x", "token": "hunter2"}]
    monkeypatch.setenv("BOT_IPFS_TARGETS", json.dumps(bad))
    with pytest.raises(SettingsError) as raised:
        load_settings()
    assert "BOT_IPFS_TARGETS" in str(raised.value) and "hunter2" not in str(raised.value)
