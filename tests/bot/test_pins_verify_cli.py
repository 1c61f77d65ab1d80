"""`bot pin` to several targets, `bot pins` per target, `bot pins verify` end to end: the
js-ipfs node (kubo RPC) and the Pinning Service API test server as the two remote targets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from typer.testing import CliRunner

from bot.cli.app import app
from storage.ipfs.kubo import KuboClient
from tests.bot.pin_fixtures import add_artwork, make_world
from tests.storage.ipfs.fake_servers import GatewayState, ServiceState, gateway, pinning_service
from tests.storage.ipfs.jsipfs_node import JsIpfsNode

pytestmark = [pytest.mark.ipfs, pytest.mark.timeout(240)]
runner = CliRunner()


def test_pin_to_three_targets_lose_one_and_verify_repairs_it(
    jsipfs: JsIpfsNode, data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(data_dir)
    artwork_id, _ = add_artwork(world, item_id="verify-cli")
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        targets = [
            {"name": "local", "kind": "local"},
            {"name": "node", "kind": "kubo", "url": jsipfs.api_url},
            {"name": "svc", "kind": "pinning-service", "url": service.url, "token": state.token},
        ]
        monkeypatch.setenv("BOT_IPFS_TARGETS", json.dumps(targets))
        monkeypatch.setenv("BOT_IPFS_CID_PROFILE", "unixfs-v1-2025")
        monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", f"{jsipfs.gateway_url}/ipfs/")
        monkeypatch.setenv("BOT_IPFS_VERIFY_TIMEOUT_S", "10")

        pinned = runner.invoke(app, ["pin", str(artwork_id)])
        assert pinned.exit_code == 0, pinned.output
        rows = json.loads(runner.invoke(app, ["pins", "--json"]).output)
        assert [r["kind"] for r in rows] == ["image", "metadata"]
        for row in rows:
            assert row["done"] and row["profile"] == "unixfs-v1-2025"
            assert {n: s["status"] for n, s in row["targets"].items()} == {
                "local": "pinned",
                "node": "pinned",
                "svc": "pinned",
            }
        table = runner.invoke(app, ["pins", "--no-check"])
        assert all(f"{name}*" in table.output for name in ("local", "node", "svc"))

        image_cid = rows[0]["cid"]
        node = KuboClient(jsipfs.api_url)
        node.pin_rm(image_cid)  # the node loses the image
        assert requests.post(f"{jsipfs.api_url}/api/v0/repo/gc", timeout=60).ok

        # no gateway while the image is lost: offline, js-ipfs's gateway waits for missing
        # blocks until the client gives up (the timeout), which would only slow the test down
        verified = runner.invoke(app, ["pins", "verify", "--json", "--no-gateways"])
        assert verified.exit_code == 0, verified.output
        report = json.loads(verified.output)
        assert report["ok"] and report["counts"]["lost"] == 1
        assert report["counts"]["repaired"] == 1
        (image,) = [c for c in report["cids"] if c["cid"] == image_cid]
        node_check = next(t for t in image["targets"] if t["target"] == "node")
        assert (node_check["found"], node_check["action"]) == ("missing", "repaired")
        assert node.pin_ls(image_cid)
        through_node = runner.invoke(app, ["pins", "verify", "--json"])  # its gateway now
        assert through_node.exit_code == 0, through_node.output
        gateways = [g for c in json.loads(through_node.output)["cids"] for g in c["gateways"]]
        assert [g["found"] for g in gateways] == ["ok", "ok"]

        # a gateway that serves other bytes is caught, reported, and fails the run
        liar = GatewayState({row["cid"]: b"not the artwork" for row in rows})
        with gateway(liar) as lying:
            monkeypatch.setenv("BOT_IPFS_VERIFY_GATEWAYS", f"{lying.url}/ipfs/")
            caught = runner.invoke(app, ["pins", "verify"])
        assert caught.exit_code == 1, caught.output
        assert "wrong-bytes" in caught.output and "2 wrong bytes from gateways" in caught.output
        assert "0 lost" in caught.output

        without = runner.invoke(app, ["pins", "verify", "--no-gateways", "--json"])
        assert without.exit_code == 0, without.output
        assert all(c["gateways"] == [] for c in json.loads(without.output)["cids"])
