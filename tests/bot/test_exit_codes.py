"""Exit status, the same for every command: 0 done or nothing to do, 1 some items failed,
2 a configuration or usage error. Each command's failure path, and its nothing-to-do path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app
from bot.sample import SAMPLE_CSV, build_sample_images
from storage.db import make_engine, session_scope
from storage.models import Artwork, Listing

runner = CliRunner()
Setup = Callable[[Path, pytest.MonkeyPatch], None]


def nothing(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pass


def candidate_without_image(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        listing = Listing(source="t", marketplace="t", item_id="no-image", title="Cats")
        session.add(listing)
        session.flush()
        session.add(Artwork(listing_id=listing.id or 0, state="candidate", rank=1))
    engine.dispose()


def sample_images(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_sample_images(data_dir.parent / "images")


def wallet(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from marketplace.wallet import MIN_SCRYPT_N, create_keystore

    create_keystore(data_dir / "wallet", "a passphrase", scrypt_n=MIN_SCRYPT_N)
    monkeypatch.setenv("BOT_WALLET_PASSPHRASE", "a passphrase")


def setting(name: str, value: str) -> Setup:
    def apply(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv(name, value)

    return apply


def bad_csv(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (data_dir.parent / "bad.csv").write_text("title,price\nx,1\n")


CASES: list[tuple[str, Setup, list[str], int]] = [
    # 2: configuration and usage
    ("bad setting", setting("BOT_MARKETPLACE_MODE", "moon"), ["status"], 2),
    ("run: unknown step", nothing, ["run", "--once", "--skip", "nope"], 2),
    ("run: unknown stage", nothing, ["run", "--once", "--stage", "nope"], 2),
    ("retry: nothing named", nothing, ["retry"], 2),
    ("db mode: unknown mode", nothing, ["db", "mode", "--adopt", "moon"], 2),
    ("wallet: no keystore", nothing, ["wallet", "address"], 2),
    ("publish: no passphrase", nothing, ["publish"], 2),
    ("bids sync: no keystore", nothing, ["bids", "sync"], 2),
    ("generate: no weights", nothing, ["generate"], 2),
    ("models: unknown name", nothing, ["models", "download", "no_such_model"], 2),
    ("scrape: no sources", nothing, ["scrape"], 2),
    ("ipfs push: no target", nothing, ["ipfs", "push"], 2),
    ("choose: --iteration alone", nothing, ["choose", "--iteration", "3"], 2),
    ("curate: bad trim", nothing, ["curate", "--trim", "0.7"], 2),
    ("report: bad format", nothing, ["report", "revenue", "--format", "xml"], 2),
    ("import: not the dataset", bad_csv, ["import", "kaggle", "{tmp}/bad.csv"], 2),
    # 1: some items failed
    (
        "import: bad rows",
        sample_images,
        ["import", "kaggle", str(SAMPLE_CSV), "--images", "{tmp}/images"],
        1,
    ),
    ("prepare: no image", candidate_without_image, ["prepare"], 1),
    ("run: an artwork failed", candidate_without_image, ["run", "--once"], 1),
    ("choose: no such artwork", nothing, ["choose", "999"], 1),
    ("pin: no such artwork", nothing, ["pin", "99"], 1),
    ("retry: not failed", nothing, ["retry", "999"], 1),
    ("doctor: a failing check", setting("BOT_GENERATOR_DEVICE", "cuda:7"), ["doctor"], 1),
    ("status: no daemon", nothing, ["status", "--require-daemon"], 1),
    # 0: done, or nothing to do
    ("run: empty store", nothing, ["run", "--once"], 0),
    ("failed: none", nothing, ["failed"], 0),
    ("retry --all: none", nothing, ["retry", "--all"], 0),
    ("eda: no listings", nothing, ["eda", "--out", "{tmp}/eda"], 0),
    ("pin: nothing chosen", nothing, ["pin"], 0),
    ("choose: nothing generated", nothing, ["choose"], 0),
    ("prepare: no candidates", nothing, ["prepare"], 0),
    ("publish: nothing pinned", wallet, ["publish"], 0),
    ("bids sync: dry run", wallet, ["bids", "sync"], 0),
]


@pytest.mark.parametrize(
    ("setup", "args", "code"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_exit_status(
    setup: Setup,
    args: list[str],
    code: int,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert runner.invoke(app, ["init"]).exit_code == 0
    setup(data_dir, monkeypatch)
    argv = [a.replace("{tmp}", str(data_dir.parent)) for a in args]
    result = runner.invoke(app, argv)
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception


def test_a_second_bot_on_the_data_dir_is_a_configuration_error(data_dir: Path) -> None:
    from bot.daemon.lock import InstanceLock, LockHeld

    with InstanceLock(data_dir / "bot.lock", "bot daemon (test)"):
        result = runner.invoke(app, ["run", "--once"])
        assert result.exit_code == 2 and "already running" in result.output
        with pytest.raises(LockHeld, match="bot daemon \\(test\\)"):
            InstanceLock(data_dir / "bot.lock", "another").acquire()
    assert runner.invoke(app, ["run", "--once"]).exit_code == 0  # released: free again
