"""Bad settings stop every command with exit code 2 and one readable line per bad setting.

Through the real CLI (`bot config show`): never a traceback, a pydantic dump or a crash of the
error message itself, whatever the value holds.
"""

from __future__ import annotations

import typing
from pathlib import Path

import annotated_types
import pytest
from typer.testing import CliRunner

from bot.settings import Settings, load_settings
from bot.settings_errors import SettingsError

SECRETS = {
    "rarible_api_key",
    "wallet_passphrase",
    "pinning_service_token",
    "opensea_api_key",
    "webhook_url",
}
SECRETS |= {"ipfs_targets"}  # its entries carry tokens: never echoed either


def _config_show(*args: str):  # type: ignore[no-untyped-def]
    from bot.cli.app import app

    return CliRunner().invoke(app, [*args, "config", "show"], catch_exceptions=False)


def _refused(result) -> list[str]:  # type: ignore[no-untyped-def]
    """The problem lines of a refused start, after checking it is a clean refusal."""
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "pydantic" not in result.output and "validation error" not in result.output
    lines = result.output.splitlines()
    assert lines[0] == "Invalid settings:"
    return [line.strip() for line in lines[1:] if line.startswith("  ")]


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BOT_GENERATOR_SIZE", "60000", "BOT_GENERATOR_SIZE: must be at most 2048 (got 60000)"),
        ("BOT_SCRAPE_CONCURRENCY", "1e23", "BOT_SCRAPE_CONCURRENCY: must be a whole number"),
        ("BOT_SCRAPE_CONCURRENCY", "10" + "0" * 22, "BOT_SCRAPE_CONCURRENCY: must be at most 64"),
        ("BOT_SCRAPE_TIMEOUT_S", "1e309", "BOT_SCRAPE_TIMEOUT_S: must be at most 600 (got 1e309)"),
        ("BOT_SCRAPE_TIMEOUT_S", "nan", "BOT_SCRAPE_TIMEOUT_S: must be at most 600 (got nan)"),
        ("BOT_SCRAPE_TIMEOUT_S", "0", "BOT_SCRAPE_TIMEOUT_S: must be at least 0.1 (got 0)"),
        ("BOT_SCRAPE_RATE_PER_SECOND", "inf", "BOT_SCRAPE_RATE_PER_SECOND: must be at most 1000"),
        ("BOT_CURATE_TRIM", "nan", "BOT_CURATE_TRIM: must be less than 0.5 (got nan)"),
        ("BOT_DOWNLOAD_MAX_PIXELS", "99999999999", "BOT_DOWNLOAD_MAX_PIXELS: must be at most"),
        ("BOT_PUBLISH_CAP", "0", "BOT_PUBLISH_CAP: must be at least 1 (got 0)"),
        ("BOT_CURATE_YEARS", "1-99999", "BOT_CURATE_YEARS: year range '1-99999' must lie within"),
        ("BOT_DATABASE_URL", "abc", "BOT_DATABASE_URL: is not a database URL"),
        ("BOT_DATABASE_URL", "mysql://u@h/db", "BOT_DATABASE_URL: database 'mysql' is not supp"),
        ("BOT_DATABASE_URL", "postgresql+nodriver://h/db", "BOT_DATABASE_URL: unknown driver"),
        ("BOT_RARIBLE_API_URL", "abc", "BOT_RARIBLE_API_URL: must be an http:// or https:// URL"),
        ("BOT_RARIBLE_API_URL", "ftp://host/x", "BOT_RARIBLE_API_URL: must be an http:// or"),
        ("BOT_OPENSEA_API_URL", "https://", "BOT_OPENSEA_API_URL: must be an http:// or https://"),
        ("BOT_IPFS_API_URL", "http://h:99999", "BOT_IPFS_API_URL: has an invalid port"),
        ("BOT_PINNING_SERVICE_URL", "https://a b", "BOT_PINNING_SERVICE_URL: must be a URL with"),
        ("BOT_IPFS_GATEWAYS", "https://ipfs.io/ipfs/,file:///etc", "BOT_IPFS_GATEWAYS: item 2"),
        ("BOT_DATA_DIR", "", "BOT_DATA_DIR: must be a path, not empty (got an empty value)"),
        ("BOT_SCRAPE_PAGE_RULES", "/no/such/rules.yaml", "BOT_SCRAPE_PAGE_RULES: no such file"),
        ("BOT_GENERATOR_DEVICE", "tpu", "BOT_GENERATOR_DEVICE: must be auto, cpu, cuda or cuda:N"),
        ("BOT_GENERATOR_VQGAN", "../../etc", "BOT_GENERATOR_VQGAN: unknown VQGAN weights; known"),
        ("BOT_GENERATOR_CLIP", "vqgan_wikiart_16384", "BOT_GENERATOR_CLIP: unknown CLIP weights"),
        ("BOT_MARKETPLACE_MODE", "prod", "BOT_MARKETPLACE_MODE: must be one of 'dry-run'"),
        ("BOT_MAINNET_CONFIRM", "maybe", "BOT_MAINNET_CONFIRM: must be true or false (got maybe)"),
        ("BOT_USER_AGENT", "bot\u00e9", "BOT_USER_AGENT: must be printable ASCII"),
        ("BOT_RARIBLE_COLLECTIONS", "0xabc", "BOT_RARIBLE_COLLECTIONS: item '0xabc' is not a Rar"),
        ("BOT_OPENSEA_COLLECTIONS", "a/b", "BOT_OPENSEA_COLLECTIONS: item 'a/b' is not an Open"),
    ],
)
def test_bad_value_is_one_line_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(name, value)
    lines = _refused(_config_show())
    assert len(lines) == 1 and lines[0].startswith(expected), lines


def test_every_bad_setting_gets_its_own_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_GENERATOR_SIZE", "60000")
    monkeypatch.setenv("BOT_DATABASE_URL", "abc")
    monkeypatch.setenv("BOT_LOG_LEVEL", "loud")
    lines = _refused(_config_show())
    assert sorted(line.split(":")[0] for line in lines) == [
        "BOT_DATABASE_URL",
        "BOT_GENERATOR_SIZE",
        "BOT_LOG_LEVEL",
    ]


def _numeric_fields() -> list[str]:
    return [
        name
        for name, field in Settings.model_fields.items()
        if {int, float} & {field.annotation, *typing.get_args(field.annotation)}
    ]


@pytest.mark.parametrize("name", _numeric_fields())
def test_every_number_has_a_lower_and_an_upper_bound(name: str) -> None:
    metadata = Settings.model_fields[name].metadata
    assert any(isinstance(m, annotated_types.Ge | annotated_types.Gt) for m in metadata), name
    assert any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in metadata), name
    for value in ("1e309", "-1e309", "nan", "99999999999999999999999"):
        with pytest.raises(SettingsError, match=f"BOT_{name.upper()}: "):
            load_settings(environ={}, **{name: value})


@pytest.mark.parametrize("name", sorted(Settings.model_fields))
@pytest.mark.parametrize("value", ["[/x]", "[bold]x\x1b[31m\x07[/bold]\n[red]"])
def test_markup_and_control_characters_never_crash_the_output(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"BOT_{name.upper()}", value)
    result = _config_show()
    assert result.exit_code in (0, 2), result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    if result.exit_code == 2:
        lines = _refused(result)
        assert lines[0].startswith(f"BOT_{name.upper()}: "), lines
        if name not in SECRETS and "\n" not in value:
            assert value.replace("\x1b", "\\x1b").replace("\x07", "\\x07") in lines[0]
    elif name not in SECRETS:  # accepted: shown as written, control characters made visible
        shown = value.replace("\x1b", "\\x1b").replace("\x07", "\\x07").replace("\n", "\\n")
        assert shown in result.output, result.output


def test_secrets_are_never_echoed_in_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_RARIBLE_API_KEY", "topsecret\nX-Injected: 1")
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "p" * 5000)
    result = _config_show()
    lines = _refused(result)
    assert "topsecret" not in result.output and "ppppp" not in result.output
    assert lines == [
        "BOT_RARIBLE_API_KEY: must not contain control characters or newlines",
        "BOT_WALLET_PASSPHRASE: must be at most 4096 characters",
    ]


def test_long_values_are_cut_in_the_message(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_LOG_LEVEL", "x" * 10_000)
    (line,) = _refused(_config_show())
    assert len(line) < 200 and line.endswith("…)")


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("6000", "must be at most 5000 (got 6000): Rarible's exchange reverts every sale"),
        ("9999", "must be at most 5000 (got 9999)"),
        ("5001", "more than 50% (5000 bps)"),
        ("-1", "must be at least 0 (got -1)"),
    ],
)
def test_royalties_above_half_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("BOT_ROYALTY_BPS", value)
    (line,) = _refused(_config_show())
    assert line.startswith("BOT_ROYALTY_BPS: ") and reason in line


def test_royalty_of_exactly_half_is_accepted() -> None:
    assert load_settings(environ={}, royalty_bps=5000).royalty_bps == 5000


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "must be a price in ETH"),
        ("nan", "must be a finite price"),
        ("Infinity", "must be a finite price"),
        ("-1", "must be more than 0"),
        ("0", "must be more than 0"),
        ("-0", "must be more than 0"),
        ("0.0000000000000000001", "is less than 1 wei"),
        ("1.0000000000000000001", "has more than 18 decimals"),
        ("1E+999999999", "is more than a uint256 can hold"),
        ("1E-999999999", "is less than 1 wei"),
        (str(2**256), "is more than a uint256 can hold"),
        ("", "must be a price in ETH"),
    ],
)
def test_bad_listing_prices_stop_the_start(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("BOT_LISTING_PRICE_ETH", value)
    (line,) = _refused(_config_show())
    assert line.startswith(f"BOT_LISTING_PRICE_ETH: {reason}"), line


@pytest.mark.parametrize(
    "value", ["0.05", "1", "0.000000000000000001", "1e-18", "0.0500000000000000000", "1_000"]
)
def test_good_listing_prices_pass(value: str) -> None:
    from marketplace.orders import eth_to_wei

    settings = load_settings(environ={}, listing_price_eth=value)
    assert eth_to_wei(settings.listing_price_eth) > 0  # what the listing does with it later


def test_largest_price_that_fits_in_wei_passes() -> None:
    top = f"{(2**256 - 1) // 10**18}.{(2**256 - 1) % 10**18:018d}"
    assert load_settings(environ={}, listing_price_eth=top).listing_price_eth == top
    with pytest.raises(SettingsError, match="uint256"):
        load_settings(environ={}, listing_price_eth=top[:-1] + "6")


CHECKSUMMED = "0xe10605b2026884aCc669C2A9Cd4A5ec5f5FFf494"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("abc", "must be an Ethereum address: 0x followed by 40 hex digits"),
        ("0x" + "0" * 40, "must not be the zero address"),
        ("0x" + "1" * 39, "must be an Ethereum address"),
        ("0x" + "g" * 40, "must be an Ethereum address"),
        (CHECKSUMMED[:-1] + "5", "has a wrong EIP-55 checksum"),
        (CHECKSUMMED.replace("aCc", "acc"), "has a wrong EIP-55 checksum"),
    ],
)
def test_bad_collection_addresses_are_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, reason: str
) -> None:
    monkeypatch.setenv("BOT_RARIBLE_COLLECTION", value)
    (line,) = _refused(_config_show())
    assert line.startswith(f"BOT_RARIBLE_COLLECTION: {reason}"), line


@pytest.mark.parametrize(
    "value", [CHECKSUMMED, CHECKSUMMED.lower(), "0x" + CHECKSUMMED[2:].upper()]
)
def test_collection_address_in_one_case_or_checksummed_is_accepted(value: str) -> None:
    assert load_settings(environ={}, rarible_collection=value).rarible_collection == CHECKSUMMED


def test_blank_optional_settings_mean_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RARIBLE_API_URL", "DATABASE_URL", "RARIBLE_COLLECTION", "GENERATOR_BATCH"):
        monkeypatch.setenv(f"BOT_{name}", "")
    settings = load_settings()
    assert settings.rarible_api_url is None and settings.database_url is None
    assert settings.rarible_collection is None and settings.generator_batch is None


def test_data_dir_must_not_be_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "afile").write_text("x")
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "afile"))
    (line,) = _refused(_config_show())
    assert line.startswith("BOT_DATA_DIR: must be a directory, but a file is there")


def test_good_urls_and_databases_pass(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        rarible_api_url="http://127.0.0.1:8080/base",
        ipfs_gateways="https://ipfs.io/ipfs/, http://[::1]:8080/ipfs/",
        rarible_collections="ETHEREUM:0x60f80121c31a0d46b5279700f9df786054aa5ee5",
        opensea_collections="boredapeyachtclub,cool-cats-nft",
    )
    assert settings.db_url.endswith("x.db")
    assert load_settings(environ={}, database_url="postgresql+psycopg://u:p@db/bot")
