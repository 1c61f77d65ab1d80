"""`bot run` with BOT_EXECUTOR=ray: the pipeline's generate stage runs on a private local Ray
cluster (127.0.0.1, dashboard off) that the command starts and stops; the rest of the cycle
stays in the bot's process. The sample goes from candidates to listings on the local Rarible
server, each minted and listed once, as with the in-process executor
(tests/bot/test_pipeline_crash.py)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.bot.pipeline_world import (
    TOP,
    base_env,
    build_template,
    check_market,
    new_world,
    run_and_kill,
)
from tests.marketplace.rarible_server import running_rarible_server

pytest.importorskip("ray", reason="Ray is the [ray] extra")

pytestmark = [pytest.mark.slow]


def _ray_processes() -> set[int]:
    """Ray's own daemons (raylet, GCS server) running on this machine."""
    found = subprocess.run(
        ["pgrep", "-f", "raylet|gcs_server"], capture_output=True, text=True, check=False
    )
    return {int(pid) for pid in found.stdout.split()}


@pytest.mark.timeout(900)
def test_bot_run_generates_on_ray_and_lists_every_artwork_once(
    tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    template = build_template(tmp_path_factory.mktemp("world"))
    data_dir = new_world(template, tmp_path)
    before = _ray_processes()
    with running_rarible_server(api_key="k-world") as (base, state):
        env = {
            **base_env(data_dir, base, template.parent / "weights"),
            "BOT_EXECUTOR": "ray",
            "BOT_RAY_ADDRESS": "local",
            "BOT_RAY_CPU_ACTORS": "1",
            "BOT_RAY_OBJECT_STORE_MB": "100",
        }
        outcome = run_and_kill(env, tmp_path, target=None, delay_s=0, timeout_s=800)
        assert outcome.returncode == 0, outcome.log[-3000:]
        assert "generate: Ray at local: 1 CPU" in outcome.log, outcome.log[-3000:]
        check = check_market(data_dir, state)
        assert check.ok and check.listed == TOP, check
        assert len(state.items) == TOP and len(state.orders) == TOP
    assert _ray_processes() <= before  # the command's cluster stopped with it
