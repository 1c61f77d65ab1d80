from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_env_example_lists_every_setting() -> None:
    spec = importlib.util.spec_from_file_location("gen", ROOT / "scripts" / "gen_env_example.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (ROOT / ".env.example").read_text() == module.render(), (
        "run: .venv/bin/python scripts/gen_env_example.py"
    )
