"""`bot pin` / `bot pins` / `bot ipfs push` with a real IPFS node (js-ipfs, offline, loopback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from storage.ipfs.kubo import KuboClient
from tests.bot.pin_fixtures import add_artwork, make_world
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

pytestmark = [pytest.mark.ipfs, pytest.mark.timeout(180)]
runner = CliRunner()


def test_pin_with_the_kubo_pinner(
    jsipfs: JsIpfsNode,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(data_dir)
    artwork_id, _ = add_artwork(world)
    monkeypatch.setenv("BOT_IPFS_PINNER", "kubo")
    monkeypatch.setenv("BOT_IPFS_API_URL", jsipfs.api_url)
    result = runner.invoke(app, ["pin", str(artwork_id)])
    assert result.exit_code == 0, result.output
    rows = json.loads(runner.invoke(app, ["pins", "--json"]).output)
    assert [(r["kind"], r["targets"]["kubo"]["status"]) for r in rows] == [
        ("image", "pinned"),
        ("metadata", "pinned"),
    ]
    node = KuboClient(jsipfs.api_url)
    metadata = json.loads(node.cat(rows[1]["cid"]))
    assert metadata["image"] == f"ipfs://{rows[0]['cid']}"
    assert f"token_uri=ipfs://{rows[1]['cid']}" in result.output

    node.pin_rm(rows[0]["cid"])  # the node loses the image pin: `bot pins` notices
    rechecked = json.loads(runner.invoke(app, ["pins", "--json"]).output)
    assert [r["targets"]["kubo"]["status"] for r in rechecked] == ["unpinned", "pinned"]
    assert [r["done"] for r in rechecked] == [False, True]


def test_push_the_local_backlog_to_the_node(
    jsipfs: JsIpfsNode,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world(data_dir)
    add_artwork(world, item_id="backlog")
    assert runner.invoke(app, ["pin"]).exit_code == 0  # local pinner (default)
    monkeypatch.setenv("BOT_IPFS_API_URL", jsipfs.api_url)
    pushed = runner.invoke(app, ["ipfs", "push", "--to", "kubo"])
    assert pushed.exit_code == 0, pushed.output
    assert "pushed 2, skipped 0 already pinned, failed 0" in pushed.output
    rows = json.loads(runner.invoke(app, ["pins", "--json", "--no-check"]).output)
    assert len(rows) == 2
    assert all(r["targets"]["kubo"]["status"] == "pinned" for r in rows)
    assert all(r["targets"]["local"]["status"] == "pinned" for r in rows)
