"""`bot wallet create | import | address | export-public` through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from marketplace.wallet import unlock
from tests.marketplace.helpers import SDK_ADDRESS, SDK_KEY

PASSPHRASE = "cli passphrase 42"


def _run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, ["wallet", *args], input=stdin, catch_exceptions=False)


def test_create_then_address_and_export_public(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    created = _run("create", "--scrypt-n", "16384")
    assert created.exit_code == 0, created.output
    address = _run("address").output.strip()
    assert address.startswith("0x") and len(address) == 42 and address in created.output
    assert unlock(data_dir / "wallet", PASSPHRASE).address == address
    public = json.loads(_run("export-public").output)
    assert public["address"] == address and public["kdf"] == "scrypt"
    assert public["chain_id"] == 11155111 and public["marketplace_mode"] == "dry-run"
    again = _run("create", "--scrypt-n", "16384")
    assert again.exit_code == 2 and "refusing to overwrite" in again.output


def test_import_from_stdin_and_from_a_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    result = _run("import", "--scrypt-n", "16384", stdin=SDK_KEY + "\n")
    assert result.exit_code == 0 and SDK_ADDRESS in result.output
    assert SDK_KEY not in result.output
    assert _run("address").output.strip() == SDK_ADDRESS

    monkeypatch.setenv("BOT_DATA_DIR", str(tmp_path / "other"))
    key_file = tmp_path / "key.txt"
    key_file.write_text("0x" + SDK_KEY + "\n")
    assert _run("import", "--key-file", str(key_file), "--scrypt-n", "16384").exit_code == 0
    assert SDK_KEY not in (tmp_path / "other" / "wallet" / "keystore.json").read_text()


def test_bad_key_and_missing_passphrase_are_explained(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = _run("import", stdin=SDK_KEY + "\n")
    assert result.exit_code == 2 and "BOT_WALLET_PASSPHRASE" in result.output
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    bad = _run("import", stdin=SDK_KEY[:20] + "\n")
    assert (
        bad.exit_code == 2 and "must be 32 bytes" in bad.output and SDK_KEY[:20] not in bad.output
    )
    missing = _run("address")
    assert missing.exit_code == 2 and "bot wallet create" in missing.output


def test_a_deeply_nested_keystore_is_one_line_not_a_segfault(data_dir: Path) -> None:
    """The keystore is read with a bounded JSON depth (the signing stack is imported by then,
    with its raised recursion limit put back): one line, not a segfault."""
    import os
    import subprocess
    import sys

    keystore = data_dir / "wallet" / "keystore.json"
    keystore.parent.mkdir(parents=True)
    keystore.write_bytes(b"[" * 8_000)  # under the keystore size cap: it reaches the parser
    root = Path(__file__).resolve().parents[2]
    for command in (["wallet", "address"],):  # `doctor` reads it through the same function
        done = subprocess.run(
            [sys.executable, "-c", "from bot.cli.app import main; main()", *command],
            capture_output=True, text=True, timeout=120, env=os.environ, cwd=root,
        )  # fmt: skip
        output = done.stdout + done.stderr
        assert done.returncode not in (0, -11, 139), (command, done.returncode, output[-2000:])
        assert "nested 8000 levels deep" in output and "Traceback" not in output


def test_publishing_without_a_wallet_says_to_create_one_first(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new user's first `bot publish` (or `bot run`): the missing keystore is what to fix
    first, not the passphrase that would unlock it."""
    monkeypatch.delenv("BOT_WALLET_PASSPHRASE", raising=False)
    result = CliRunner().invoke(app, ["publish"])
    assert result.exit_code == 2
    assert "no keystore at" in result.output and "bot wallet create" in result.output
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", PASSPHRASE)
    assert _run("create", "--scrypt-n", "16384").exit_code == 0
    monkeypatch.delenv("BOT_WALLET_PASSPHRASE")
    result = CliRunner().invoke(app, ["publish"])
    assert result.exit_code == 2 and "no passphrase" in result.output
