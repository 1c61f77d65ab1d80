"""`bot doctor`: one line per check, exit status 1 when any failed; the install, GPU, weights, IPFS,
Rarible and wallet checks against real local servers and keystores."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.context import AppContext
from bot.doctor import CHECKS, CheckResult, run_checks
from bot.settings import load_settings
from marketplace.wallet import create_keystore
from tests.bot.cli_subprocess import run_bot
from tests.marketplace.rarible_server import running_rarible_server
from tests.storage.ipfs.fake_servers import KuboScript, ServiceState, fake_kubo, pinning_service

LINE = re.compile(r"^(ok|warn|FAIL|skip) +(\w[\w ]*?)  +(.+)$")


def doctor_lines(output: str) -> dict[str, tuple[str, str]]:
    """{check: (status, detail)} from doctor's output; every line but the last is a check."""
    lines = output.strip().splitlines()
    assert re.fullmatch(r"\d+ failed, \d+ warning\(s\)", lines[-1]), lines[-1]
    parsed = {}
    for line in lines[:-1]:
        match = LINE.match(line)
        assert match, f"not one check per line: {line!r}"
        parsed[match.group(2).strip()] = (match.group(1).lower(), match.group(3))
    return parsed


def doctor(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, dict[str, tuple[str, str]]]:
    for name, value in env.items():
        monkeypatch.setenv(f"BOT_{name.upper()}", value)
    result = CliRunner().invoke(app, ["doctor"], terminal_width=200)
    return result.exit_code, doctor_lines(result.output)


def test_every_check_has_one_line_and_dry_run_skips_rarible(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code, lines = doctor(monkeypatch)
    assert list(lines) == [check.__name__.removeprefix("check_") for check in CHECKS]
    assert lines["rarible"] == ("skip", "dry-run: nothing is sent to Rarible")
    assert lines["ipfs"][0] == "ok" and "local blockstore" in lines["ipfs"][1]
    failures = sum(status == "fail" for status, _ in lines.values())
    assert code == failures == 0


def test_weights_missing_then_present(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights = data_dir.parent / "weights"
    weights.mkdir()
    _, lines = doctor(monkeypatch, weights_dir=str(weights))
    status, detail = lines["weights"]
    assert status == "warn"
    assert "bot models download vqgan_wikiart_16384" in detail
    assert "bot models download clip_vit_b32" in detail
    for name in ("vqgan_wikiart_16384.ckpt", "vqgan_wikiart_16384.yaml", "ViT-B-32.pt"):
        (weights / name).write_bytes(b"placed by hand")
    _, lines = doctor(monkeypatch, weights_dir=str(weights))
    assert lines["weights"] == ("ok", "vqgan_wikiart_16384 downloaded, clip_vit_b32 downloaded")


def test_gpu_on_the_cpu_by_choice(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _, lines = doctor(monkeypatch, generator_device="cpu")
    assert lines["gpu"][0] == "ok"


def test_rarible_answers_with_the_key_and_refuses_a_wrong_one(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with running_rarible_server(api_key="right-key") as (url, _state):
        env = {"marketplace_mode": "testnet", "rarible_api_url": url}
        _, lines = doctor(monkeypatch, rarible_api_key="right-key", **env)
        assert lines["rarible"] == ("ok", f"{url} answers with the API key")
        code, lines = doctor(monkeypatch, rarible_api_key="wrong-key", **env)
    status, detail = lines["rarible"]
    assert status == "fail" and "HTTP 401" in detail and "wrong-key" not in detail
    assert code == min(1, sum(s == "fail" for s, _ in lines.values()))


def test_an_api_that_does_not_know_the_collection_is_not_ok(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy or another service at BOT_RARIBLE_API_URL answers 404 for the lazy-mint
    collection: that is a misconfiguration to report, not an API that answers."""
    other = "0x" + "ab" * 20
    with running_rarible_server(api_key="k") as (url, _state):
        env = {"marketplace_mode": "testnet", "rarible_api_url": url, "rarible_api_key": "k"}
        code, lines = doctor(monkeypatch, rarible_collection=other, **env)
    status, detail = lines["rarible"]
    assert status == "fail" and f"does not know collection {other}" in detail.lower()
    assert "BOT_RARIBLE_API_URL" in detail and code == 1


def test_unreachable_rarible_fails_fast(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{_closed_port()}"
    code, lines = doctor(
        monkeypatch, marketplace_mode="testnet", rarible_api_key="k", rarible_api_url=url
    )
    assert lines["rarible"][0] == "fail" and "ConnectionError" in lines["rarible"][1]
    assert code >= 1


def test_kubo_and_pinning_service_targets(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_kubo(KuboScript()) as kubo:
        _, lines = doctor(monkeypatch, ipfs_pinner="kubo", ipfs_api_url=kubo.url)
    assert lines["ipfs"] == ("ok", f"kubo 0.41.0 at {kubo.url}")
    _, lines = doctor(monkeypatch, ipfs_api_url=f"http://127.0.0.1:{_closed_port()}")
    assert lines["ipfs"][0] == "fail"

    state = ServiceState(token="good-token")
    with pinning_service(state) as service:
        env = {"ipfs_pinner": "pinning-service", "pinning_service_url": service.url}
        _, lines = doctor(monkeypatch, pinning_service_token="good-token", **env)
        assert lines["ipfs"] == ("ok", f"pinning service {service.url} accepts the token")
        _, lines = doctor(monkeypatch, pinning_service_token="bad-token", **env)
    assert lines["ipfs"][0] == "fail" and "UNAUTHORIZED" in lines["ipfs"][1]


def test_every_pin_target_is_checked_and_an_optional_one_only_warns(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    down = f"http://127.0.0.1:{_closed_port()}"
    with fake_kubo(KuboScript()) as kubo:
        targets = [
            {"name": "local", "kind": "local"},
            {"name": "node", "kind": "kubo", "url": kubo.url},
            {"name": "spare", "kind": "kubo", "url": down, "required": False},
        ]
        _, lines = doctor(monkeypatch, ipfs_targets=json.dumps(targets))
        status, detail = lines["ipfs"]
        assert status == "warn"
        assert f"node: kubo 0.41.0 at {kubo.url}" in detail and "spare: " in detail
        assert detail.startswith("local: local blockstore")
        targets[2]["required"] = True
        _, lines = doctor(monkeypatch, ipfs_targets=json.dumps(targets))
    assert lines["ipfs"][0] == "fail"
    assert "pin targets local, node, spare, CID profile legacy-v1" in lines["config"][1]


def test_the_passphrase_unlocks_the_keystore(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    address = create_keystore(data_dir / "wallet", "the right passphrase", scrypt_n=2**14)
    _, lines = doctor(monkeypatch, wallet_passphrase="the right passphrase")
    assert lines["wallet"] == ("ok", f"{address} unlocks with BOT_WALLET_PASSPHRASE")
    code, lines = doctor(monkeypatch, wallet_passphrase="a wrong passphrase")
    assert lines["wallet"][0] == "fail" and "wrong passphrase" in lines["wallet"][1]
    assert code == 1


def test_a_generator_install_without_taming_fails_with_the_fix(tmp_path: Path) -> None:
    result = run_bot("doctor", cwd=tmp_path, blocked=["taming"], env={"BOT_DATA_DIR": "data"})
    lines = doctor_lines(result.stdout)
    status, detail = lines["install"]
    assert status == "fail"
    assert "taming (taming-transformers-rom1504)" in detail
    assert "pip install --no-deps --require-hashes -r requirements/all.txt" in detail
    assert result.returncode == 1 and sum(s == "fail" for s, _ in lines.values()) >= 1


def test_a_core_install_skips_the_generator_checks(tmp_path: Path) -> None:
    blocked = ["torch", "torchvision", "kornia", "clip", "taming", "einops", "safetensors",
               "cv2", "spandrel", "imagehash"]  # fmt: skip
    result = run_bot("doctor", cwd=tmp_path, blocked=blocked, env={"BOT_DATA_DIR": "data"})
    lines = doctor_lines(result.stdout)
    assert lines["install"][0] == "ok" and "not installed: generate" in lines["install"][1]
    assert lines["gpu"] == ("skip", "no generator installed")
    assert lines["weights"] == ("skip", "no generator installed")
    assert result.returncode == 0


def test_checks_are_a_list_anyone_can_extend(data_dir: Path) -> None:
    context = AppContext(load_settings())

    def check_custom(_context: AppContext) -> CheckResult:
        return CheckResult("custom", "warn", "something to look at")

    def check_broken(_context: AppContext) -> CheckResult:
        raise RuntimeError("the check itself broke")

    results = run_checks(context, [check_custom, check_broken])
    assert results == [
        CheckResult("custom", "warn", "something to look at"),
        CheckResult("broken", "fail", "the check itself broke"),
    ]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
