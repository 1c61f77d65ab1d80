"""Hostile text in data through the real CLI: Rich markup (`[/x]`) must not crash the output
after the work is done, and escape sequences from a CSV or an API must never reach the
terminal. The data is shown literally instead."""

from __future__ import annotations

import logging
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import output
from bot.cli.app import app
from bot.cli.output import PlainFormatter, plain, safe
from storage.db import make_engine, session_scope
from storage.models.market import Bid
from tests.bot.test_hostile_csv import csv_text
from tests.scraper.test_kaggle_csv import row

runner = CliRunner()
MARKUP = "[/x] [bold]bold?[/bold] [link=file:///etc]x"
ESCAPES = "\x1b[31mred\x1b[0m \x1b]0;pwned title\x07 \x1b[2J \x9b1m"
HOSTILE = f"{MARKUP} {ESCAPES}"


def assert_clean(output: str) -> None:
    assert "\x1b" not in output and "\x07" not in output and "\x9b" not in output
    assert "Traceback" not in output


def test_helpers_strip_escapes_and_escape_markup() -> None:
    assert plain(ESCAPES) == "red   "
    assert plain("a\nb\tc\u202ed") == "a b cd"
    assert safe("[/x]") == "\\[/x]"
    assert safe("ends with \\") == "ends with \\\\"
    record = logging.LogRecord("t", logging.WARNING, "f", 1, "item %s", (HOSTILE,), None)
    assert "\x1b" not in PlainFormatter("%(message)s").format(record)


def test_hostile_titles_through_import_eda_curate_prepare(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "hostile.csv"
    path.write_text(
        csv_text(
            [
                row(title=HOSTILE, creator=MARKUP, type="PHOTO"),
                row(art_series=f"bad {HOSTILE}", cid="QmB", price="oops [/y]"),
                row(art_series="c", cid="QmC", title="[/z]", symbol="[red]HIVE"),
            ]
        )
    )
    results = [
        runner.invoke(app, ["import", "kaggle", str(path)]),
        runner.invoke(app, ["eda", "--input", str(path), "--out", str(tmp_path / "e1")]),
        runner.invoke(app, ["eda", "--out", str(tmp_path / "e2")]),
        runner.invoke(app, ["curate", "--trim", "0", "--top", "1"]),
        runner.invoke(app, ["prepare"]),
        runner.invoke(app, ["status"]),
    ]
    for result in results:
        assert result.exception is None or isinstance(result.exception, SystemExit), result.output
        assert_clean(result.output)
    imported = results[0].output
    assert results[0].exit_code == 1  # the good rows are in; one bad row: exit 1
    assert "price 'oops [/y]' is not a number" in imported  # shown literally
    assert "line 3 (bad [/x] [bold]bold?[/bold] [link=file:///etc]x red" in imported
    assert "[red]HIVE" in results[1].output  # the currency, literally


def test_bids_list_and_sales_show_hostile_values_literally(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output.console, "width", 300)  # a wide table: cells are not wrapped
    assert runner.invoke(app, ["init"]).exit_code == 0
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        session.add(
            Bid(order_id=f"0x{'1' * 64}", item_id="0xabc:1", maker=HOSTILE, currency=MARKUP,
                currency_symbol=f"[/s]{ESCAPES}", price=Decimal("1.5"), make_value=Decimal(1),
                take_value=Decimal(1), status="[blink]ACTIVE", mode="dry-run")
        )  # fmt: skip
    result = runner.invoke(app, ["bids", "list"])
    assert result.exit_code == 0, result.output
    assert_clean(result.output)
    assert "[/s]" in result.output and "[blink]ACTIVE" in result.output
