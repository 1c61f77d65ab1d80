"""`bot report bids | revenue | pipeline` on a store with known bids, sales and fees: exact
figures in every format, escaping, whole ids when piped, exit codes, and a store left as is."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from bot.cli.app import app
from bot.reports.charts import chart_label, render_png
from bot.reports.model import Chart, Column, Section
from storage.db import make_engine, session_scope
from tests.bot.report_fixtures import LONG_TX, SCRIPT_TITLE, WETH, build_store, item


@pytest.fixture
def store(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    monkeypatch.setenv("BOT_MARKETPLACE_MODE", "testnet")
    return build_store(make_engine(f"sqlite:///{data_dir / 'bot.db'}"))


def run(*args: str, columns: int = 80):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), env={"COLUMNS": str(columns)})


def report_json(*args: str) -> dict:  # type: ignore[type-arg]
    result = run("report", *args, "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(body: dict, section: str) -> list[dict]:  # type: ignore[type-arg]
    return body["sections"][section]["rows"]


def test_revenue_is_net_of_protocol_fees_origin_fees_and_royalties(store) -> None:  # type: ignore[no-untyped-def]
    body = report_json("revenue")
    sales = {r["activity_id"]: r for r in rows(body, "sales")}
    v3 = sales["ETHEREUM:s1"]  # V3 order, 200 bps, 1% origin fee, our own 10% royalty
    assert (v3["protocol_fee"], v3["origin_fees"], v3["royalties_paid"]) == ("0.001", "0.0005", "0")
    assert (v3["revenue"], v3["revenue_usd"]) == ("0.0485", "145.50")
    assert v3["title"] == SCRIPT_TITLE and v3["tx_hash"] == LONG_TX
    v2 = sales["ETHEREUM:s2"]  # V2 order: no protocol fee although 200 bps are recorded
    assert (v2["protocol_fee"], v2["revenue"], v2["revenue_usd"]) == ("0", "0.1", "300.00")
    resale = sales["ETHEREUM:s3"]  # a later owner's resale: our 10% royalty only
    assert resale["kind"] == "resale" and resale["protocol_fee"] is None
    assert (resale["revenue"], resale["revenue_usd"]) == ("0.1", "300.00")
    accepted = sales["ETHEREUM:s4"]  # accepted bid in WETH, V3 assumed, royalties to a partner
    assert accepted["kind"] == "sale (accepted bid)" and accepted["currency"] == "WETH"
    assert (accepted["protocol_fee"], accepted["royalties_paid"]) == ("0.025", "0.05")
    assert accepted["revenue"] == "0.925" and accepted["revenue_usd"] is None
    assert "not in the store" in accepted["basis"]
    summary = {r["currency"]: r for r in rows(body, "summary")}
    assert summary["ETH"] == {
        "currency": "ETH",
        "sales": 2,
        "resales": 1,
        "gross": "0.15",
        "protocol_fees": "0.001",
        "origin_fees": "0.0005",
        "royalties_paid": "0",
        "revenue": "0.2485",
        "revenue_usd": "745.50",
        "without_usd": 0,
    }
    assert summary["WETH"]["revenue"] == "0.925" and summary["WETH"]["without_usd"] == 1


def test_revenue_over_time_by_month_and_by_category(store) -> None:  # type: ignore[no-untyped-def]
    body = report_json("revenue", "--period", "month")
    over = [
        (r["period"], r["currency"], r["sales"], r["resales"], r["revenue"])
        for r in rows(body, "over_time")
    ]
    assert over == [
        ("2026-01", "ETH", 1, 0, "0.0485"),
        ("2026-02", "ETH", 1, 1, "0.2"),
        ("2026-02", "WETH", 1, 0, "0.925"),
    ]
    categories = {(r["category"], r["currency"]): r for r in rows(body, "by_category")}
    animals = categories[("Animals", "ETH")]
    assert (animals["artworks"], animals["published"], animals["sold"]) == (2, 2, 2)
    assert (animals["revenue"], animals["revenue_usd"]) == ("0.0485", "145.50")
    assert categories[("Faces", "ETH")]["revenue"] == "0.2"
    assert categories[("Scenery", None)]["active_bids"] == 2
    assert ("Objects", None) in categories and ("People", None) in categories


def test_monetary_value_compares_only_like_with_like(store) -> None:  # type: ignore[no-untyped-def]
    value = {r["artwork_id"]: r for r in rows(report_json("revenue"), "monetary_value")}
    same = value[2]  # source 0.02 ETH; our revenue 0.1 + 0.1 royalty = 0.2 ETH
    assert (same["revenue"], same["ratio"], same["comparison"]) == (
        "0.2",
        "10",
        "same currency (ETH)",
    )
    kaggle = value[1]  # source 100 SWAP.HIVE, no USD: not comparable
    assert kaggle["ratio"] is None and kaggle["source_currency"] == "SWAP.HIVE"
    assert kaggle["comparison"].startswith("not comparable: revenue in ETH, source in SWAP.HIVE")
    assert value[4]["comparison"] == "not sold" and value[4]["highest_bid"] == "0.5"


def test_monetary_value_in_usd_when_both_sides_have_one(store, data_dir) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(data_dir / "bot.db") as db:  # the source of artwork 1 gets a USD price
        db.execute(
            "UPDATE listings SET price_usd = '97'"
            " WHERE id = (SELECT listing_id FROM artworks WHERE id = 1)"
        )
    value = {r["artwork_id"]: r for r in rows(report_json("revenue"), "monetary_value")}
    assert (value[1]["ratio"], value[1]["comparison"]) == ("1.5", "in USD")  # 145.50 / 97


def test_the_protocol_fee_rate_falls_back_to_the_setting(store, data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(data_dir / "bot.db") as db:
        db.execute("UPDATE sales SET protocol_fee_bps = NULL WHERE activity_id = 'ETHEREUM:s1'")
    unknown = {r["activity_id"]: r for r in rows(report_json("revenue"), "sales")}["ETHEREUM:s1"]
    assert unknown["revenue"] == "0.0495" and "rate unknown: not deducted" in unknown["basis"]
    monkeypatch.setenv("BOT_PROTOCOL_FEE_BPS", "300")
    known = {r["activity_id"]: r for r in rows(report_json("revenue"), "sales")}["ETHEREUM:s1"]
    assert (known["protocol_fee"], known["revenue"]) == ("0.0015", "0.048")


def test_bids_per_artwork(store) -> None:  # type: ignore[no-untyped-def]
    by_artwork = {r["artwork_id"]: r for r in rows(report_json("bids"), "bids")}
    lake = by_artwork[4]
    assert lake["item_id"] == item(4) and lake["currency"] == "WETH"
    assert (lake["bids"], lake["active"], lake["bidder_count"]) == (3, 2, 2)
    assert (lake["highest_active"], lake["highest_active_usd"], lake["highest_ever"]) == (
        "0.5",
        "1500",
        "0.9",
    )
    assert lake["bidders"] == ["0x" + "d1" * 20, "0x" + "d2" * 20]
    assert by_artwork[1]["bids"] == 0 and by_artwork[3]["active"] == 0


def test_pipeline_funnel_stage_times_and_failures(store) -> None:  # type: ignore[no-untyped-def]
    body = report_json("pipeline")
    funnel = {r["state"]: (r["reached"], r["now"]) for r in rows(body, "funnel")}
    assert funnel["candidate"] == (6, 1) and funnel["prepared"] == (5, 0)
    assert funnel["listed"] == (4, 1) and funnel["sold"] == (3, 3)
    assert funnel["failed"] == (1, 1) and funnel["rejected"] == (2, 2)
    times = {r["stage"]: r for r in rows(body, "stage_times")}
    # prepare: 1 h (a1, a4, a5), 2 h (a3), 3 h (a2)
    assert (times["prepare"]["n"], times["prepare"]["median_s"]) == (5, 3600.0)
    assert (times["prepare"]["mean_s"], times["prepare"]["p90_s"]) == (5760.0, 10800.0)
    # generate: a1 1 h, a2 3 h, a3 2 h, a4 1 h; a5 failed after 30 min
    assert (times["generate"]["n"], times["generate"]["median_s"]) == (4, 5400.0)
    assert (times["generate"]["failed_n"], times["generate"]["failed_median_s"]) == (1, 1800.0)
    assert (times["sale"]["n"], times["sale"]["max_s"]) == (
        3,
        36000.0,
    )  # a1 sold 10 h after listing
    whole = times["whole pipeline"]
    assert (whole["n"], whole["median_s"], whole["mean_s"]) == (4, 43200.0, 50400.0)
    assert rows(body, "failures_by_stage") == [{"stage": "generated", "failures": 1, "artworks": 1}]
    (failed,) = rows(body, "failed_now")
    assert failed["reason"] == "CUDA out of memory: tried to allocate N MiB (attempt N)"
    assert failed["artwork_ids"] == [str(store["a5"])] and failed["attempts"] == 3
    assert rows(body, "rejections")[0]["reason"] == "ranked #N, below the top N"


def test_csv_is_exact_and_one_section_is_plain_csv(store) -> None:  # type: ignore[no-untyped-def]
    result = run("report", "revenue", "--format", "csv", "--section", "sales")
    assert result.exit_code == 0, result.output
    table = list(csv.DictReader(io.StringIO(result.stdout)))
    first = next(r for r in table if r["activity_id"] == "ETHEREUM:s1")
    assert first["revenue"] == "0.0485" and first["item_id"] == item(1)
    assert first["tx_hash"] == LONG_TX and first["title"] == SCRIPT_TITLE
    every = run("report", "pipeline", "--format", "csv").stdout
    blocks = every.split("\n\n")
    assert [b.splitlines()[0] for b in blocks] == [
        "# funnel",
        "# stage_times",
        "# failures_by_stage",
        "# failed_now",
        "# rejections",
    ]
    assert "prepare,candidate,prepared,5,3600.000,5760.000,10800.000,10800.000,0," in every


def test_html_escapes_data_and_embeds_charts(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in ("revenue", "bids", "pipeline"):
        out = tmp_path / f"{name}.html"
        result = run("report", name, "--format", "html", "--out", str(out))
        assert result.exit_code == 0, result.output
        page = out.read_text()
        assert "<script" not in page.lower()
        assert "data:image/png;base64," in page
        assert "Content-Security-Policy" in page
    page = (tmp_path / "revenue.html").read_text()
    assert "Cat &lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page
    assert LONG_TX in page and item(1) in page


def test_piped_tables_keep_ids_whole(store) -> None:  # type: ignore[no-untyped-def]
    result = run("report", "revenue", "--section", "sales", columns=40)
    assert result.exit_code == 0, result.output
    line = next(line for line in result.stdout.splitlines() if "0.0485" in line)
    assert item(1) in line and LONG_TX in line and "…" not in result.stdout
    bids = run("report", "bids", columns=40).stdout
    assert "0x" + "d1" * 20 in bids and item(4) in bids


def test_bad_arguments_exit_2(store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert run("report", "revenue", "--format", "xml").exit_code == 2
    result = run("report", "revenue", "--section", "nope")
    assert result.exit_code == 2 and "sections: summary, sales" in result.output
    assert run("report", "bids", "--out", str(tmp_path / "missing" / "x.csv")).exit_code == 2
    assert run("report", "bids", "--out", str(tmp_path)).exit_code == 2
    assert run("report", "revenue", "--period", "year").exit_code == 2


def test_unreadable_rows_are_reported_and_exit_1(store, data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(data_dir / "bot.db") as db:
        db.execute("UPDATE mint_intents SET payload_json = '{not json' WHERE artwork_id = 4")
    out = tmp_path / "bids.json"
    result = run("report", "bids", "--format", "json", "--out", str(out))
    assert result.exit_code == 1
    assert "problem: mint intent" in result.output and "royalties unreadable" in result.output
    body = json.loads(out.read_text())  # the report is still written, whole
    assert body["problems"] and len(rows(body, "bids")) == 4


def test_reports_never_write_to_the_store(store, data_dir, tmp_path) -> None:  # type: ignore[no-untyped-def]
    def dump() -> list[str]:
        with sqlite3.connect(data_dir / "bot.db") as db:
            return list(db.iterdump())

    before = dump()
    for name in ("bids", "revenue", "pipeline"):
        for fmt in ("table", "csv", "json", "html"):
            result = run("report", name, "--format", fmt, "--out", str(tmp_path / f"{name}.{fmt}"))
            assert result.exit_code == 0, result.output
    assert dump() == before


def test_reports_of_an_empty_store(data_dir, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        assert session.exec(text("SELECT count(*) FROM sales")).one()[0] == 0  # type: ignore[call-overload]
    for name in ("bids", "revenue", "pipeline"):
        for fmt in ("table", "csv", "json", "html"):
            result = run("report", name, "--format", fmt)
            assert result.exit_code == 0, (name, fmt, result.output)


def test_charts_escape_labels_and_drop_values_that_are_not_finite() -> None:
    assert chart_label("$x^2$ \x1b[31m") == r"\$x^2\$ \x1b[31m"
    columns = [Column("label", "label"), Column("value", "value", "money")]
    chart = Chart("bar", "t $", x="label", y="value")
    section = Section(
        "s",
        "s",
        columns,
        [
            {"label": "$a$", "value": Decimal("1.5")},
            {"label": "b", "value": Decimal("Infinity")},
            {"label": "c", "value": Decimal("NaN")},
            {"label": "d", "value": None},
            {"label": "e", "value": Decimal("1E+999999")},
        ],
    )
    png = render_png(chart, section)
    assert png is not None and png.startswith(b"\x89PNG")
    assert render_png(chart, Section("s", "s", columns, section.rows[1:])) is None
    assert WETH  # the fixture's currency is the network's WETH


def test_charts_of_many_rows_stay_readable() -> None:
    columns = [Column("label", "label"), Column("value", "value", "int")]
    many = [{"label": f"#{n}", "value": n} for n in range(500)]
    for kind in ("bar", "barh", "line"):
        png = render_png(
            Chart(kind, "many", x="label", y="value"), Section("s", "s", columns, many)
        )  # type: ignore[arg-type]
        assert png is not None and png.startswith(b"\x89PNG")


def test_reports_without_a_database_read_an_empty_store_and_create_nothing(data_dir) -> None:  # type: ignore[no-untyped-def]
    for name in ("bids", "revenue", "pipeline"):
        result = run("report", name, "--format", "json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["report"] == name
    assert not (data_dir / "bot.db").exists()
