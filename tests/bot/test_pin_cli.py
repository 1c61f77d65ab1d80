"""`bot ipfs cid`, `bot pin`, `bot pins`, `bot ipfs push`, `bot ipfs gc` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from storage.ipfs.blockstore import LocalBlockstore
from storage.ipfs.cid import Cid
from storage.ipfs.profiles import LEGACY_V1
from tests.bot.pin_fixtures import add_artwork, make_world
from tests.storage.ipfs.fake_servers import ServiceState, pinning_service

runner = CliRunner()


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("0", "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"),
        ("1", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"),
    ],
)
def test_ipfs_cid_prints_the_cid(tmp_path: Path, version: str, expected: str) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    result = runner.invoke(app, ["ipfs", "cid", str(path), "--cid-version", version])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == expected


def test_ipfs_cid_default_version_comes_from_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "hello.txt"
    path.write_bytes(b"hello world\n")
    assert runner.invoke(app, ["ipfs", "cid", str(path)]).output.strip().startswith("bafk")
    monkeypatch.setenv("BOT_IPFS_CID_VERSION", "0")
    assert runner.invoke(app, ["ipfs", "cid", str(path)]).output.strip().startswith("Qm")


def test_ipfs_cid_profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(bytes(range(256)) * 4096)  # 1 MiB: one 2025 chunk, four legacy ones
    legacy = runner.invoke(app, ["ipfs", "cid", str(path), "--profile", "legacy-v1"])
    current = runner.invoke(app, ["ipfs", "cid", str(path), "--profile", "unixfs-v1-2025", "-v"])
    assert legacy.exit_code == current.exit_code == 0, legacy.output + current.output
    assert legacy.output.strip() == "bafybeiclphklsx6bfzfb5aezogjldbkeicyyvma6wrfnielfg7haplwahy"
    cid, described = current.output.strip().splitlines()
    assert cid.startswith("bafkrei") and cid != legacy.output.strip()  # one raw block
    assert "1048576 B chunks, 1024 links per node" in described
    monkeypatch.setenv("BOT_IPFS_CID_PROFILE", "unixfs-v1-2025")
    assert runner.invoke(app, ["ipfs", "cid", str(path)]).output.strip() == cid
    both = runner.invoke(
        app, ["ipfs", "cid", str(path), "--profile", "legacy-v0", "--cid-version", "1"]
    )
    assert both.exit_code == 2
    unknown = runner.invoke(app, ["ipfs", "cid", str(path), "--profile", "v3"])
    assert unknown.exit_code == 2 and "unknown CID profile" in unknown.output


def test_ipfs_cid_of_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ipfs", "cid", str(tmp_path / "nope.png")])
    assert result.exit_code == 2


def test_pin_then_pins_with_recheck(data_dir: Path) -> None:
    world = make_world(data_dir)
    artwork_id, _ = add_artwork(world)
    bad_id, _ = add_artwork(world, item_id="no-choice", chosen_iteration=None)

    result = runner.invoke(app, ["pin"])
    assert result.exit_code == 1, result.output  # one of the two artworks failed
    assert f"artwork {artwork_id}: pinned" in result.output
    assert f"artwork {bad_id} has no chosen frame" in result.output

    listed = runner.invoke(app, ["pins", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["kind"], r["targets"]["local"]["status"], r["done"]) for r in rows] == [
        ("image", "pinned", True),
        ("metadata", "pinned", True),
    ]
    assert {r["profile"] for r in rows} == {"legacy-v1"}

    # The pins' blocks vanish behind the bot's back: the re-check notices.
    store = LocalBlockstore(data_dir / "ipfs")
    image_root = Cid.parse(rows[0]["cid"])
    store._block_path(image_root).unlink()
    rechecked = json.loads(runner.invoke(app, ["pins", "--json"]).output)
    local = rechecked[0]["targets"]["local"]
    assert local["status"] == "failed" and rows[0]["cid"] in local["error"]
    assert not rechecked[0]["done"]
    unchecked = json.loads(runner.invoke(app, ["pins", "--json", "--no-check"]).output)
    assert unchecked[0]["targets"]["local"]["status"] == "failed"
    table = runner.invoke(app, ["pins", "--artwork", str(artwork_id), "--no-check"])
    assert table.exit_code == 0 and "metadata" in table.output and "local*" in table.output


def test_pin_of_unknown_artwork_is_an_error(data_dir: Path) -> None:
    make_world(data_dir)
    result = runner.invoke(app, ["pin", "99"])
    assert result.exit_code == 1 and "artwork 99 does not exist" in result.output


def test_push_backlog_to_a_pinning_service_records_rows(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = make_world(data_dir)
    add_artwork(world)
    assert runner.invoke(app, ["pin"]).exit_code == 0
    state = ServiceState(polls_until_pinned=1)
    with pinning_service(state) as service:
        monkeypatch.setenv("BOT_PINNING_SERVICE_URL", service.url)
        monkeypatch.setenv("BOT_PINNING_SERVICE_TOKEN", state.token)
        pushed = runner.invoke(app, ["ipfs", "push", "--to", "pinning-service"])
        assert pushed.exit_code == 0, pushed.output
        assert "pushed 2, skipped 0 already pinned, failed 0" in pushed.output
        again = runner.invoke(app, ["ipfs", "push", "--to", "pinning-service"])
        assert "pushed 0, skipped 2 already pinned" in again.output
        rows = json.loads(runner.invoke(app, ["pins", "--json"]).output)
    by_target = sorted(
        (name, r["kind"], state["status"], state["configured"])
        for r in rows
        for name, state in r["targets"].items()
    )
    assert by_target == [  # the service is not a configured target, only pushed to
        ("local", "image", "pinned", True),
        ("local", "metadata", "pinned", True),
        ("pinning-service", "image", "pinned", False),
        ("pinning-service", "metadata", "pinned", False),
    ]


def test_push_needs_a_target_and_settings(data_dir: Path) -> None:
    assert runner.invoke(app, ["ipfs", "push"]).exit_code == 2  # pinner is local
    missing = runner.invoke(app, ["ipfs", "push", "--to", "pinning-service"])
    assert missing.exit_code == 2 and "BOT_PINNING_SERVICE_URL" in missing.output


def test_gc_reports_removed_blocks(data_dir: Path) -> None:
    store = LocalBlockstore(data_dir / "ipfs")
    outcome = store.add_bytes(b"temporary", profile=LEGACY_V1)
    store.unpin(outcome.cid)
    result = runner.invoke(app, ["ipfs", "gc"])
    assert result.exit_code == 0 and json.loads(result.output) == {"removed_blocks": 1}
