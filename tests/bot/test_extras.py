"""Commands that need an extra say which one to install, in one line, exit code 2; the
extras table agrees with pyproject.toml."""

from __future__ import annotations

import importlib.metadata
import re
import tomllib
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from bot.cli.app import BotGroup
from bot.extras import EXTRAS, MissingExtra, extra_for_module, missing_modules, require_extra
from tests.bot.cli_subprocess import REPO, run_bot

GENERATOR = EXTRAS["generate"].modules


@pytest.mark.parametrize(
    "args",
    [["generate"], ["prepare"], ["models", "download", "clip_vit_b32"]],
    ids=["generate", "prepare", "models-download"],
)
def test_without_torch_a_generator_command_names_the_extra(args: list[str], tmp_path: Path) -> None:
    result = run_bot(*args, cwd=tmp_path, blocked=GENERATOR, env={"BOT_DATA_DIR": "data"})
    assert result.returncode == 2, result.stderr
    command = " ".join(["bot", *args[:2]]) if args[0] == "models" else f"bot {args[0]}"
    assert result.stderr.strip() == (
        f"{command} needs the generator extra: pip install 'nftbot[generate]'"
    )
    assert "Traceback" not in result.stdout + result.stderr


def test_a_partial_generator_install_names_what_is_missing(tmp_path: Path) -> None:
    result = run_bot("generate", cwd=tmp_path, blocked=["taming"], env={"BOT_DATA_DIR": "data"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bot generate needs the generator extra: pip install 'nftbot[generate]' (missing: taming)"
    )


def test_the_browser_source_needs_the_browser_extra(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text("site:\n  url: http://127.0.0.1:9/\n  item: .item\n")
    result = run_bot(
        "scrape", "page", cwd=tmp_path, blocked=["playwright"],
        env={"BOT_DATA_DIR": "data", "BOT_SCRAPE_PAGE_RULES": str(rules)},
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bot scrape page needs the browser extra: pip install 'nftbot[browser]'"
    )


def test_a_postgres_database_needs_the_postgres_extra(tmp_path: Path) -> None:
    env = {"BOT_DATA_DIR": "data", "BOT_DATABASE_URL": "postgresql+psycopg://bot@127.0.0.1/bot"}
    result = run_bot("status", cwd=tmp_path, blocked=["psycopg"], env=env)
    assert result.returncode == 2
    assert (
        "BOT_DATABASE_URL: driver 'postgresql+psycopg' is not installed: it comes with the "
        "postgres extra, pip install 'nftbot[postgres]'"
    ) in result.stderr


def test_core_pipeline_stages_run_without_the_generator(tmp_path: Path) -> None:
    """choose and pin are core (tests/test_install.py runs the whole core path)."""
    env = {"BOT_DATA_DIR": "data"}
    for args in (["choose"], ["pin"]):
        result = run_bot(*args, cwd=tmp_path, blocked=GENERATOR, env=env)
        assert result.returncode == 0, (args, result.stderr)


def test_an_unguarded_import_of_an_extra_still_gives_one_line() -> None:
    """BotGroup's safety net: a command that imports torch without require_extra."""
    demo = typer.Typer(cls=BotGroup)

    @demo.command("paint")
    def paint() -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    @demo.command("other")
    def other() -> None:
        pass

    result = CliRunner().invoke(demo, ["paint"])
    assert result.exit_code == 2
    assert "bot paint needs the generator extra: pip install 'nftbot[generate]'" in result.output


def test_require_extra_and_lookups() -> None:
    assert missing_modules("generate") == []  # the test venv has everything
    require_extra("generate", "bot generate")
    assert extra_for_module("torch.nn") is EXTRAS["generate"]
    assert extra_for_module("psycopg") is EXTRAS["postgres"]
    assert extra_for_module("numpy") is None
    error = MissingExtra("bot generate", EXTRAS["generate"], ["taming"])
    assert str(error).endswith("(missing: taming)")


def _requirement_name(requirement: str) -> str:
    name = re.split(r"[\[=<>!~; ]", requirement, maxsplit=1)[0]
    return name.lower().replace("_", "-")


def test_every_extra_module_comes_from_a_package_of_that_extra() -> None:
    extras = tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    providers = importlib.metadata.packages_distributions()
    for extra in EXTRAS.values():
        declared = {_requirement_name(r) for r in extras[extra.name]}
        for module in extra.modules:
            dists = {d.lower().replace("_", "-") for d in providers.get(module, [])}
            assert dists & declared, (extra.name, module, dists)
