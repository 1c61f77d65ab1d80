"""Start-up cost and CLI polish: what the light commands import (no timings), --version,
shell completion, the layout of `bot --help`, and help text on every --json option."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

import bot
from bot.cli.app import HELP_PANELS, app
from tests.bot.cli_subprocess import REPO, imported_modules, run_bot

# The signing stack, the generator, images and the data-frame library: seconds of imports
# that these commands never use.
HEAVY = {"torch", "eth_account", "py_ecc", "cv2", "pandas"}


@pytest.mark.parametrize(
    "args",
    [["--help"], ["status"], ["config", "show"], ["models", "list"]],
    ids=["help", "status", "config-show", "models-list"],
)
def test_light_commands_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    result = run_bot(*args, cwd=tmp_path, importtime=True, env={"BOT_DATA_DIR": "data"})
    assert result.returncode == 0, result.stderr[-2000:]
    imported = imported_modules(result.stderr)
    assert "bot.cli.app" in imported  # the log is the real thing
    assert imported & HEAVY == set(), sorted(imported & HEAVY)


def test_doctor_imports_no_torch_or_opencv(tmp_path: Path) -> None:
    result = run_bot("doctor", cwd=tmp_path, importtime=True, env={"BOT_DATA_DIR": "data"})
    imported = imported_modules(result.stderr)
    assert "bot.doctor" in imported
    assert imported & {"torch", "cv2"} == set()


def test_version_matches_the_package(tmp_path: Path) -> None:
    result = run_bot("--version", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout.strip() == f"nftbot {bot.__version__}"
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}


def test_shell_completion_script_and_answers(tmp_path: Path) -> None:
    # Typer asks the process tree which shell runs `bot`, as at a bash prompt.
    script = run_bot("--show-completion", cwd=tmp_path, from_shell="bash")
    assert script.returncode == 0
    assert "_BOT_COMPLETE=complete_bash" in script.stdout
    assert "complete -o default -F _bot_completion bot" in script.stdout
    # What bash asks on TAB after `bot pi`, and after `bot models `:
    env = {"_BOT_COMPLETE": "complete_bash", "COMP_WORDS": "bot pi", "COMP_CWORD": "1"}
    assert run_bot(cwd=tmp_path, env=env).stdout.split() == ["pin", "pins"]
    env = {"_BOT_COMPLETE": "complete_bash", "COMP_WORDS": "bot models ", "COMP_CWORD": "2"}
    assert run_bot(cwd=tmp_path, env=env).stdout.split() == ["list", "download", "convert"]


def _top_level_commands() -> list[str]:
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    return list(group.list_commands(typer.Context(group)))


def test_every_command_has_a_place_in_the_help_panels() -> None:
    placed = {name for _panel, names in HELP_PANELS for name in names}
    unplaced = sorted(set(_top_level_commands()) - placed)
    assert unplaced == [], f"add {unplaced} to HELP_PANELS in bot/cli/app.py"


def test_help_lists_panels_and_commands_in_pipeline_order() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=120)
    assert result.exit_code == 0
    panels = re.findall(r"╭─ (\w+) ─", result.output)
    assert panels == [
        "Options", "Setup", "Sources", "Pipeline", "Run", "Market", "Reports", "Tools"
    ]  # fmt: skip
    listed = re.findall(r"^│ (\w+) {2,}", result.output, flags=re.MULTILINE)
    pipeline = ["import", "scrape", "images", "curate", "prepare", "generate", "choose", "pin"]
    positions = [listed.index(name) for name in [*pipeline, "publish"]]
    assert positions == sorted(positions), listed
    assert listed[: len(HELP_PANELS[0][1])] == list(HELP_PANELS[0][1])


def _walk(command: Any, path: str) -> list[tuple[str, Any]]:
    found = [(path, command)]
    if isinstance(command, TyperGroup):
        context = typer.Context(command)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None
            found += _walk(sub, f"{path} {name}")
    return found


def test_every_json_option_has_help_text() -> None:
    json_options = [
        (path, param)
        for path, command in _walk(typer.main.get_command(app), "bot")
        for param in command.params
        if "--json" in getattr(param, "opts", [])
    ]
    assert len(json_options) >= 5  # status, config show, pins, bids list, sales
    missing = [path for path, param in json_options if not getattr(param, "help", None)]
    assert missing == []
