from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app

runner = CliRunner()


def test_help_lists_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("init", "status", "doctor", "config"):
        assert command in result.output


def test_init_then_status_counts_zero(data_dir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    assert (data_dir / "bot.db").exists()
    result = runner.invoke(app, ["status", "--json"])
    assert result.exit_code == 0
    counts = json.loads(result.output)
    assert counts["candidate"] == 0 and "sold" in counts


def test_config_show_redacts(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "correct horse battery")
    result = runner.invoke(app, ["config", "show", "--json"])
    assert result.exit_code == 0
    assert "correct horse" not in result.output
    assert json.loads(result.output)["wallet_passphrase"] == "********"


def test_invalid_settings_exit_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "moon")
    result = runner.invoke(app, ["status"])
    assert result.exit_code == 2


def test_doctor_exit_code_is_health(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    healthy = runner.invoke(app, ["doctor"])
    assert healthy.exit_code == 0, healthy.output
    monkeypatch.setenv("BOT_GENERATOR_DEVICE", "cuda")  # no GPU here: one failing check
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")  # no API key, no keystore: two more
    sick = runner.invoke(app, ["doctor"])
    import torch

    expected = 2 if torch.cuda.is_available() else 3
    assert sick.exit_code == expected, sick.output


def test_doctor_checks_the_wallet(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from marketplace.wallet import MIN_SCRYPT_N, create_keystore

    assert "bot wallet create" in runner.invoke(app, ["doctor"]).output
    address = create_keystore(data_dir / "wallet", "a long passphrase", scrypt_n=MIN_SCRYPT_N)
    assert "BOT_WALLET_PASSPHRASE unset" in runner.invoke(app, ["doctor"]).output
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "a long passphrase")
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 0 and address in result.output
