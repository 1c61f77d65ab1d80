from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from bot.settings import MarketplaceMode, Settings, parse_year_range


def test_defaults_are_safe() -> None:
    settings = Settings()
    assert settings.marketplace_mode is MarketplaceMode.DRY_RUN
    assert settings.data_dir == Path("data/dry-run")  # each mode has a data dir of its own
    assert settings.db_url == "sqlite:///data/dry-run/bot.db"


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
