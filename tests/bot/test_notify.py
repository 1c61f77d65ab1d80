"""The webhook: one POST per event in each shape, never blocking, never raising, never twice."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select
from typer.testing import CliRunner

from bot.cli.app import app
from bot.notify import ArtworkFailedEvent, DaemonEvent, HighestBidEvent, SaleEvent, open_notifier
from bot.notify.webhook import Notifier, NullNotifier, WebhookConfig
from bot.settings import WebhookFormat, load_settings
from storage.db import make_engine, session_scope
from storage.models.notification import Notification
from tests.bot.webhook_server import running_hook

AT = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
SALE = SaleEvent(
    activity_id="ETHEREUM:0xsale1",
    artwork_id=12,
    item_id="0xcoll:77",
    price=Decimal("0.05"),
    currency="ETH",
    buyer="0x" + "b1" * 20,
    sold_at=AT,
    price_usd=Decimal("150"),
    title="<!channel> **Cat** @everyone",
)
BID = HighestBidEvent(
    order_id="0x" + "42" * 32,
    artwork_id=12,
    item_id="0xcoll:77",
    price=Decimal("0.5"),
    currency="WETH",
    bidder="0x" + "d2" * 20,
    previous_price=Decimal("0.3"),
)
FAILED = ArtworkFailedEvent(
    artwork_id=7, stage="generated", error="CUDA out of memory\nat step 3", attempts=5, at=AT
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    return make_engine(f"sqlite:///{tmp_path / 'bot.db'}")


def notifier_for(
    url: str, engine: Engine, fmt: WebhookFormat = WebhookFormat.JSON, **kw
) -> Notifier:  # type: ignore[no-untyped-def]
    config = WebhookConfig(url=url, format=fmt, allow_private=True, **{"timeout_s": 2.0, **kw})
    return Notifier(config, engine)


def ledger(engine: Engine) -> dict[tuple[str, str], Notification]:
    with session_scope(engine) as session:
        return {(n.kind, n.event_key): n for n in session.exec(select(Notification)).all()}


def test_every_kind_is_posted_once_as_json(engine) -> None:  # type: ignore[no-untyped-def]
    started, stopped = (
        DaemonEvent("started", detail="schedule loaded"),
        DaemonEvent("stopped", detail="SIGTERM"),
    )
    with running_hook() as hook:
        notifier = notifier_for(hook.url, engine)
        for event in (SALE, BID, FAILED, started, stopped):
            assert notifier.notify(event) is True
        notifier.close()
        bodies = hook.bodies()
    assert [b["event"] for b in bodies] == [
        "sale",
        "highest_bid",
        "artwork_failed",
        "daemon_started",
        "daemon_stopped",
    ]
    sale = bodies[0]
    assert sale["key"] == "ETHEREUM:0xsale1" and sale["source"] == "nftbot"
    assert sale["data"]["price"] == "0.05" and sale["data"]["price_usd"] == "150"
    assert sale["data"]["sold_at"] == AT.isoformat() and sale["data"]["title"] == SALE.title
    assert (
        bodies[2]["key"] == "7:5" and bodies[2]["data"]["error"] == "CUDA out of memory\nat step 3"
    )
    assert "at step 3" in bodies[2]["summary"] and "\n" not in bodies[2]["summary"]
    assert bodies[3]["data"]["state"] == "started" and bodies[4]["data"]["detail"] == "SIGTERM"
    assert hook.requests[0]["headers"]["Content-Type"] == "application/json"
    assert {k for k, _ in ledger(engine)} == {
        "sale",
        "highest_bid",
        "artwork_failed",
        "daemon_started",
        "daemon_stopped",
    }
    assert all(n.status == "sent" and n.sent_at for n in ledger(engine).values())


def test_discord_shape_disables_mentions_and_escapes_markdown(engine) -> None:  # type: ignore[no-untyped-def]
    with running_hook() as hook:
        notifier = notifier_for(hook.url, engine, WebhookFormat.DISCORD)
        notifier.notify(SALE)
        notifier.close()
        (body,) = hook.bodies()
    assert set(body) == {"content", "username", "allowed_mentions"}
    assert body["allowed_mentions"] == {"parse": []}
    assert r"\*\*Cat\*\*" in body["content"] and r"\@everyone" in body["content"]
    assert "0.05 ETH ($150.00)" in body["content"] and len(body["content"]) <= 2000


def test_slack_shape_escapes_its_control_characters(engine) -> None:  # type: ignore[no-untyped-def]
    with running_hook() as hook:
        notifier = notifier_for(hook.url, engine, WebhookFormat.SLACK)
        notifier.notify(SALE)
        notifier.notify(FAILED)
        notifier.close()
        bodies = hook.bodies()
    assert [set(b) for b in bodies] == [{"text"}, {"text"}]
    assert "&lt;!channel&gt;" in bodies[0]["text"] and "<!channel>" not in bodies[0]["text"]
    assert bodies[1]["text"].startswith(
        "Failed: artwork 7 parked at stage generated after 5 attempts"
    )


def test_an_event_is_sent_once_even_after_a_restart(engine) -> None:  # type: ignore[no-untyped-def]
    with running_hook() as hook:
        first = notifier_for(hook.url, engine)
        first.notify(SALE)
        first.notify(SALE)
        first.close()
        restarted = notifier_for(hook.url, engine)  # a new process on the same store
        restarted.notify(SALE)
        restarted.notify(FAILED)
        restarted.close()
        assert [b["key"] for b in hook.bodies()] == ["ETHEREUM:0xsale1", "7:5"]
    assert first.duplicates == 1 and restarted.duplicates == 1


def test_a_failing_webhook_is_logged_once_and_never_raises(engine, caplog) -> None:  # type: ignore[no-untyped-def]
    caplog.set_level(logging.INFO)
    with running_hook("fail") as hook:
        notifier = notifier_for(hook.url, engine)
        for event in (SALE, BID, FAILED):
            assert notifier.notify(event) is True
        notifier.close()
        assert len(hook.requests) == 3  # each sent once, none retried
    assert all(n.status == "failed" and n.error for n in ledger(engine).values())
    assert "HTTP 500" in ledger(engine)[("sale", SALE.key)].error  # type: ignore[operator]
    failures = [r for r in caplog.records if "HTTP 500" in r.getMessage()]
    assert len(failures) == 2  # the first failure, then the count at close
    assert "3 event(s) not delivered" in failures[-1].getMessage()
    assert "SECRET-TOKEN" not in caplog.text  # the URL is a secret: only its origin is named


def test_a_hanging_webhook_costs_the_caller_nothing_and_close_gives_up(engine, caplog) -> None:  # type: ignore[no-untyped-def]
    with running_hook("hang") as hook:
        notifier = notifier_for(hook.url, engine, timeout_s=30.0, queue_size=2)
        assert notifier.notify(SALE) is True
        assert hook.holding.wait(10)  # the worker is stuck in the request...
        results = [notifier.notify(event) for event in (BID, FAILED, DaemonEvent("stopped"))]
        assert results.count(False) >= 1  # ...so the bounded queue fills and drops, at once
        notifier.close(timeout_s=0.2)  # gives up while the server still holds the request
        assert hook.holding.is_set() and not hook.release.is_set()
    assert "gave up" in caplog.text and "dropped" in caplog.text


def test_loopback_and_redirects_are_refused(engine) -> None:  # type: ignore[no-untyped-def]
    with running_hook() as hook:
        guarded = Notifier(
            WebhookConfig(url=hook.url, timeout_s=2.0), engine
        )  # no private addresses
        guarded.notify(SALE)
        guarded.close()
        assert hook.requests == []
    assert "loopback" in (ledger(engine)[("sale", SALE.key)].error or "")
    with running_hook("redirect") as hook:
        notifier = notifier_for(hook.url, engine)
        notifier.notify(BID)
        notifier.close()
        assert [r["path"] for r in hook.requests] == ["/hook/SECRET-TOKEN"]  # not followed
    assert "redirected (HTTP 302)" in (ledger(engine)[("highest_bid", BID.key)].error or "")


def test_an_unreachable_webhook_fails_quietly(engine) -> None:  # type: ignore[no-untyped-def]
    notifier = notifier_for("http://127.0.0.1:9/hook/SECRET-TOKEN", engine)
    notifier.notify(SALE)
    notifier.close()
    assert "unreachable" in (ledger(engine)[("sale", SALE.key)].error or "")
    assert "SECRET-TOKEN" not in (ledger(engine)[("sale", SALE.key)].error or "")


def test_the_pipeline_and_daemon_call_it_through_open_notifier(engine, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(open_notifier(load_settings(), engine), NullNotifier)
    with running_hook() as hook:
        monkeypatch.setenv("BOT_WEBHOOK_URL", hook.url)
        monkeypatch.setenv("BOT_ALLOW_PRIVATE_ADDRESSES", "true")
        monkeypatch.setenv("BOT_WEBHOOK_FORMAT", "slack")
        with open_notifier(load_settings(), engine) as notifier:
            notifier.notify(DaemonEvent("started"))
            notifier.notify(
                ArtworkFailedEvent(artwork_id=3, stage="pinned", error="IPFS down", attempts=4)
            )
            notifier.notify(DaemonEvent("stopped", detail="SIGTERM"))
        texts = [b["text"] for b in hook.bodies()]
    assert texts[0].startswith("Daemon started on ") and "SIGTERM" in texts[2]
    assert texts[1] == "Failed: artwork 3 parked at stage pinned after 4 attempts: IPFS down"


def test_the_webhook_url_is_a_secret_setting(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("BOT_WEBHOOK_URL", "https://discord.example/api/webhooks/1/SECRET-TOKEN")
    shown = CliRunner().invoke(app, ["config", "show", "--json"])
    assert shown.exit_code == 0 and "SECRET-TOKEN" not in shown.output
    assert '"webhook_url": "********"' in shown.output
    monkeypatch.setenv("BOT_WEBHOOK_URL", "ftp://x/SECRET-TOKEN")
    bad = CliRunner().invoke(app, ["status"])
    assert bad.exit_code == 2 and "BOT_WEBHOOK_URL" in bad.output
    assert "SECRET-TOKEN" not in bad.output
