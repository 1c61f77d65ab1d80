"""`bot doctor` flags items minted with royalties Rarible's exchange refuses to pay (> 50%)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.app import app
from bot.context import AppContext
from bot.doctor import run_checks
from bot.settings import load_settings
from storage.db import session_scope
from storage.models.market import MintIntent
from tests.marketplace.cli_helpers import engine_for
from tests.marketplace.helpers import add_pinned_artwork


def _minted(data_dir: Path, n: int, royalties: list[int]) -> None:
    engine = engine_for(data_dir)
    artwork_id = add_pinned_artwork(engine, n)
    parts = [{"account": "0x" + "ab" * 20, "value": value} for value in royalties]
    with session_scope(engine) as session:
        session.add(
            MintIntent(
                artwork_id=artwork_id,
                mode="testnet",
                chain_id=11155111,
                collection="0xc",
                token_id=str(n),
                creator="0x" + "ab" * 20,
                token_uri="/ipfs/x",
                payload_json=json.dumps({"royalties": parts}),
                digest="0x",
                status="done",
            )
        )
    engine.dispose()


def test_doctor_flags_items_minted_above_half_in_royalties(data_dir: Path) -> None:
    runner = CliRunner()
    _minted(data_dir, 1, [5000])
    healthy = runner.invoke(app, ["doctor"])
    assert healthy.exit_code == 0, healthy.output
    assert "1 mints, royalties within 50%" in healthy.output
    _minted(data_dir, 2, [3000, 2500])  # the total counts
    sick = runner.invoke(app, ["doctor"])
    assert sick.exit_code == 1
    (check,) = [r for r in run_checks(AppContext(load_settings())) if r.name == "published"]
    assert check.status == "fail"
    assert check.detail.endswith("so every sale would revert: artwork 2 (token 2): 5500 bps")
