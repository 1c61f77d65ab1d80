"""Unknown BOT_* names are errors with the closest real name; --env-file / BOT_ENV_FILE.

Through the real CLI: a typo such as BOT_MARKETPLACE_MDOE=testnet used to run in dry-run
without a word; now nothing runs and the message says which name was meant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli.app import app


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _shown(*args: str) -> dict[str, object]:
    result = _invoke(*args, "config", "show", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _problems(result) -> list[str]:  # type: ignore[no-untyped-def]
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return [line.strip() for line in result.output.splitlines() if line.startswith("  ")]


def test_typo_in_the_environment_names_the_setting_meant(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_MARKETPLACE_MDOE", "testnet")
    assert _problems(_invoke("status")) == [
        "BOT_MARKETPLACE_MDOE: unknown setting (in the environment); "
        "did you mean BOT_MARKETPLACE_MODE?"
    ]


def test_typo_in_the_env_file_names_the_line_and_the_setting_meant() -> None:
    Path(".env").write_text("# comment\nOTHER_TOOL=1\nBOT_PUBLSH_CAP=3\nBOT_LOG_LEVEL=debug\n")
    assert _problems(_invoke("status")) == [
        "BOT_PUBLSH_CAP: unknown setting (in .env line 3); did you mean BOT_PUBLISH_CAP?"
    ]


def test_unknown_name_without_a_near_match_points_to_the_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOT_ZZZ", "1")
    (line,) = _problems(_invoke("status"))
    assert (
        line == "BOT_ZZZ: unknown setting (in the environment); see .env.example for every setting"
    )


def test_typos_and_bad_values_are_reported_together(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_SCRAPE_TIMEOUT", "5")
    monkeypatch.setenv("BOT_GENERATOR_SIZE", "60000")
    lines = _problems(_invoke("status"))
    assert len(lines) == 2
    assert lines[0].startswith("BOT_SCRAPE_TIMEOUT: unknown setting")
    assert "did you mean BOT_SCRAPE_TIMEOUT_S?" in lines[0]
    assert lines[1].startswith("BOT_GENERATOR_SIZE: must be at most 2048")


def test_unparsable_env_file_line_is_an_error() -> None:
    Path(".env").write_text("BOT_PUBLISH_CAP=3\nthis is not a setting\n")
    (line,) = _problems(_invoke("status"))
    assert line == ".env line 2: not NAME=value: this is not a setting"


def test_env_file_option_chooses_the_file(tmp_path: Path) -> None:
    Path(".env").write_text("BOT_PUBLISH_CAP=3\n")
    other = tmp_path / "other.env"
    other.write_text("BOT_PUBLISH_CAP=7\n")
    assert _shown()["publish_cap"] == 3
    assert _shown("--env-file", str(other))["publish_cap"] == 7


def test_bot_env_file_variable_chooses_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.env"
    other.write_text("BOT_PUBLISH_CAP=7\nBOT_LISTING_KIND=fixed-price\n")
    monkeypatch.setenv("BOT_ENV_FILE", str(other))
    monkeypatch.setenv("BOT_PUBLISH_CAP", "9")  # the environment still wins over the file
    shown = _shown()
    assert shown["publish_cap"] == 9 and shown["listing_kind"] == "fixed-price"
    third = tmp_path / "third.env"
    third.write_text("BOT_PUBLISH_CAP=11\n")
    monkeypatch.delenv("BOT_PUBLISH_CAP")
    assert _shown("--env-file", str(third))["publish_cap"] == 11  # the option wins


def test_bad_value_in_a_named_env_file_is_reported(tmp_path: Path) -> None:
    other = tmp_path / "prod.env"
    other.write_text("BOT_ROYALTY_BPS=9000\n")
    (line,) = _problems(_invoke("--env-file", str(other), "status"))
    assert line.startswith("BOT_ROYALTY_BPS: must be at most 5000 (got 9000)")


def test_missing_named_env_file_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.env"
    assert _problems(_invoke("--env-file", str(missing), "status")) == [
        f"--env-file: no such file: {missing}"
    ]
    monkeypatch.setenv("BOT_ENV_FILE", str(missing))
    assert _problems(_invoke("status")) == [f"BOT_ENV_FILE: no such file: {missing}"]
    assert _problems(_invoke("--env-file", str(tmp_path), "status")) == [
        f"--env-file: not a file: {tmp_path}"
    ]


def test_no_default_env_file_is_fine() -> None:
    assert not Path(".env").exists()
    assert _shown()["publish_cap"] == 100


def test_env_file_cannot_name_another_env_file(tmp_path: Path) -> None:
    Path(".env").write_text(f"BOT_ENV_FILE={tmp_path / 'x.env'}\n")
    (line,) = _problems(_invoke("status"))
    assert line.startswith("BOT_ENV_FILE: cannot be set inside an env file (.env line 1)")


def test_env_file_that_is_not_text_is_an_error() -> None:
    Path(".env").write_bytes(b"BOT_PUBLISH_CAP=\xff\xfe\n")
    assert _problems(_invoke("status")) == [".env: not UTF-8 text"]


def test_typo_stops_the_installed_command_with_exit_2(tmp_path: Path) -> None:
    """The console script itself, as a user runs it: exit 2, one line, no traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env["BOT_MARKETPLACE_MDOE"] = "testnet"
    env["BOT_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", "status"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert "did you mean BOT_MARKETPLACE_MODE?" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "data").exists()
