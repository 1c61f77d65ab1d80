"""Helpers for the publish tests: a keystore with a known key, pinned artworks, the CLI."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from bot.cli.app import app
from marketplace.wallet import MIN_SCRYPT_N, import_keystore
from storage.db import make_engine

PASSPHRASE = "test passphrase 123"


def setup_wallet(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """Import a fresh random key (the cheapest scrypt accepted); returns (key hex, address)."""
    key = secrets.token_hex(32)
    address = import_keystore(data_dir / "wallet", key, PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    return key, address


def engine_for(data_dir: Path) -> Engine:
    """The store the CLI uses: BOT_DATABASE_URL when the test set one (the `store_env`
    fixture: PostgreSQL), else <data_dir>/bot.db."""
    return make_engine(os.environ.get("BOT_DATABASE_URL") or f"sqlite:///{data_dir / 'bot.db'}")


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)
