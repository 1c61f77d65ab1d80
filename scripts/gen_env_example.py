"""Regenerate .env.example from the Settings model, so it always lists every setting.

Run: .venv/bin/python scripts/gen_env_example.py   (a test fails when the file is stale)
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.settings import Settings, allowed_values

HEADER = """\
# nftbot settings. Copy to .env and edit; every variable can also be set in the environment.
# Defaults are safe: dry-run marketplace (nothing is sent), testnet, local IPFS blockstore.
# Generated from bot/settings.py by scripts/gen_env_example.py; do not edit by hand.
# Values are checked at start: a bad value or an unknown BOT_* name stops every command with
# exit code 2 and one line per problem. Another file: bot --env-file PATH, or BOT_ENV_FILE.
"""


def render() -> str:
    lines = [HEADER]
    for name, field in Settings.model_fields.items():
        default = field.default
        if hasattr(default, "value"):
            default = default.value
        shown = "" if default is None else str(default)
        if isinstance(default, bool):
            shown = str(default).lower()
        lines.append(f"# {field.description or name}")
        allowed = allowed_values(name)
        if allowed:
            lines.append(f"# Allowed: {allowed}.")
        lines.append(f"# BOT_{name.upper()}={shown}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    target = Path(__file__).resolve().parents[1] / ".env.example"
    target.write_text(render())
    print(f"wrote {target}")
