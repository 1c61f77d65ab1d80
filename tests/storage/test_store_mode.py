"""Modes never share a store: the mode is recorded, another mode is refused (exit 2 in the
CLI), old stores are adopted from what they hold, and the default data dir is per mode."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import delete
from typer.testing import CliRunner

from bot.cli.app import app
from bot.settings import load_settings
from storage.db import make_engine, session_scope
from storage.models.daemon import StoreInfo
from storage.models.market import Bid
from storage.store_mode import ModeMismatch, check_mode, recorded_mode
from storage.types import utcnow
from tests.bot.cli_subprocess import run_bot

runner = CliRunner()


def _bid(mode: str, n: int) -> Bid:
    return Bid(
        order_id=f"{mode}-{n}",
        item_id="ETHEREUM:0x1:1",
        maker="0x" + "11" * 20,
        currency="ETH",
        make_value=Decimal(1),
        take_value=Decimal(1),
        status="ACTIVE",
        mode=mode,
        updated_at=utcnow(),
    )


def _forget_mode(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        session.exec(delete(StoreInfo))  # type: ignore[call-overload]


def test_a_new_store_records_its_mode_and_refuses_another(db_url: str) -> None:
    engine = make_engine(db_url)
    assert check_mode(engine, "testnet", "db", adopt=False) == "unrecorded"  # read-only: no write
    with engine.connect() as connection:
        assert recorded_mode(connection) is None
    assert check_mode(engine, "testnet", "db") == "recorded"
    assert check_mode(engine, "testnet", "db") == "matches"
    with pytest.raises(ModeMismatch, match=r"belongs to the testnet marketplace mode.*dry-run"):
        check_mode(engine, "dry-run", "db")
    with pytest.raises(ModeMismatch):
        check_mode(engine, "mainnet", "db", adopt=False)


def test_old_stores_are_adopted_from_their_marketplace_records(db_url: str) -> None:
    engine = make_engine(db_url)
    with session_scope(engine) as session:
        session.add(_bid("testnet", 1))
    assert check_mode(engine, "testnet", "db") == "adopted"
    _forget_mode(engine)
    with pytest.raises(ModeMismatch, match="testnet"):  # a testnet store opened in dry-run
        check_mode(engine, "dry-run", "db")
    with session_scope(engine) as session:
        session.add(_bid("dry-run", 2))
    with pytest.raises(ModeMismatch, match=r"several modes \(dry-run: 1, testnet: 1\)"):
        check_mode(engine, "testnet", "db")


def test_the_default_data_dir_is_per_mode_and_an_explicit_one_is_used_as_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load_settings().data_dir == Path("data/dry-run")
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
    testnet = load_settings()
    assert testnet.data_dir == Path("data/testnet") and not testnet.data_dir_is_explicit
    assert testnet.weights_cache_dir == Path("data/models")  # weights: one copy for all modes
    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path))
    explicit = load_settings()
    assert explicit.data_dir == tmp_path and explicit.data_dir_is_explicit
    assert explicit.weights_cache_dir == tmp_path / "models"


def test_commands_refuse_a_store_of_another_mode_with_exit_2(data_dir: Path) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0  # records dry-run
    env = {"BOT_DATA_DIR": str(data_dir), "BOT_MARKETPLACE_MODE": "testnet"}
    for args in (["status"], ["curate"], ["run", "--once"], ["failed"]):
        result = run_bot(*args, cwd=data_dir.parent, env=env)  # the real entry point
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert "belongs to the dry-run marketplace mode" in result.stderr
        assert "Traceback" not in result.stderr


def test_db_mode_shows_and_adopts(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        session.add(_bid("dry-run", 1))
        session.add(_bid("testnet", 2))
    refused = run_bot("status", cwd=data_dir.parent, env={"BOT_DATA_DIR": str(data_dir)})
    assert refused.returncode == 2 and "bot db mode --adopt" in refused.stderr
    assert runner.invoke(app, ["db", "mode"]).output.strip().endswith("none recorded")
    wrong = runner.invoke(app, ["db", "mode", "--adopt", "mainnet"])
    assert wrong.exit_code == 2
    adopted = runner.invoke(app, ["db", "mode", "--adopt", "dry-run"])
    assert adopted.exit_code == 0, adopted.output
    assert runner.invoke(app, ["status"]).exit_code == 0
    again = runner.invoke(app, ["db", "mode", "--adopt", "testnet"])
    assert again.exit_code == 2 and "already recorded" in again.output
