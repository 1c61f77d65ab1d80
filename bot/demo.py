"""`make demo`: the main job on the embedded defaults, end to end on the bundled sample.

Runs the real CLI commands in-process on a data dir of its own (`data/demo`, or
`$BOT_DATA_DIR/demo`, recreated each time), always in dry-run: nothing leaves the machine. After
the import and the analysis, the whole cycle is ONE command, `bot run --once`, the pipeline the
daemon runs (curate, prepare, generate, choose, pin, mint, list, sync); then the results. The
marketplace requests are signed with a throw-away demo wallet and written to the outbox.

Generation needs the VQGAN and CLIP weights. Without them the demo stops after preparing the
init images and says how to get them; with `BOT_ALLOW_SMOKE_TEST_MODELS=true` it runs the
rest of the pipeline on tiny untrained models and says loudly that their images are noise.
On the core install (no generator extra) it stops after curation and says what to install.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape
from rich.rule import Rule

from bot.cli.output import console, safe
from bot.settings import DEFAULT_DATA_ROOT, Settings

DEMO_TOP = 8


@dataclass(frozen=True)
class Step:
    title: str
    args: list[str] | None = None  # a `bot` command line
    action: Callable[[], None] | None = None  # or a Python action
    expect: int = 0  # its exit status (1: the import's two bad rows, on purpose)


@dataclass(frozen=True)
class GeneratorPlan:
    """How the demo can generate: real weights, smoke-test models, or not at all."""

    weights_dir: Path
    env: dict[str, str] | None  # generator settings for `bot run`; None = cannot generate
    note: str
    can_prepare: bool = True  # preparing init images needs the generator extra too


def plan_generation(settings: Settings, demo_dir: Path) -> GeneratorPlan:
    from bot.extras import EXTRAS, missing_modules

    absent = missing_modules("generate")
    if absent:
        return GeneratorPlan(
            settings.weights_cache_dir,
            None,
            f"the generator extra is not installed (missing: {', '.join(absent)}). "
            f"Install it with: {EXTRAS['generate'].install_hint}",
            can_prepare=False,
        )
    from generator.weights import WeightsStore

    real_dir = settings.weights_cache_dir
    store = WeightsStore(real_dir)
    names = (settings.generator_vqgan, settings.generator_clip)
    if all(store.available(name) for name in names):
        import torch

        if torch.cuda.is_available():
            return GeneratorPlan(real_dir, {}, "real weights on the GPU: 512px, 20 steps")
        return GeneratorPlan(
            real_dir,
            _generator_env(size=128, steps=5, cutn=8),
            "real weights on the CPU: 128px and 5 steps to keep the demo short",
        )
    missing = [name for name in names if not store.available(name)]
    fetch = "; ".join(f"bot models download {name}" for name in missing)
    if settings.allow_smoke_test_models:
        return GeneratorPlan(
            demo_dir / "models",
            _generator_env(size=64, steps=5, cutn=4),
            f"weights missing ({', '.join(missing)}): SMOKE TEST with tiny UNTRAINED models",
        )
    return GeneratorPlan(
        real_dir,
        None,
        f"the weights are missing ({', '.join(missing)} under {real_dir}). Fetch them with: "
        f"{fetch}. To run the rest of the pipeline on tiny untrained models instead: "
        "BOT_ALLOW_SMOKE_TEST_MODELS=true make demo",
    )


def _generator_env(*, size: int, steps: int, cutn: int) -> dict[str, str]:
    return {
        "BOT_GENERATOR_SIZE": str(size),
        "BOT_GENERATOR_STEPS": str(steps),
        "BOT_GENERATOR_CUTN": str(cutn),
    }


def _steps(demo_dir: Path, plan: GeneratorPlan) -> tuple[list[Step], list[str]]:
    from bot.sample import LABELS_CSV, SAMPLE_CSV, build_sample_images

    images = demo_dir / "sample_images"
    import_args = ["import", "kaggle", str(SAMPLE_CSV), "--images", str(images)]

    def draw() -> None:
        written = build_sample_images(images)
        console.print(f"{len(written)} images under {safe(images)}")

    def wallet() -> None:
        from marketplace.wallet import create_keystore

        address = create_keystore(demo_dir / "wallet", os.environ["BOT_WALLET_PASSPHRASE"])
        console.print(f"demo wallet {address} (dry-run only; a new key every demo)")

    cycle = (
        "generate is reported as skipped: " + plan.note
        if plan.env is None
        else f"generating with {plan.note}"
    )
    steps = [
        Step("Draw the sample's images (generated here, nothing downloaded)", action=draw),
        Step("Create the database", ["init"]),
        Step(
            "Import the bundled sample CSV (two bad rows are reported and skipped: exit 1)",
            import_args,
            expect=1,
        ),
        Step("Re-import: idempotent, nothing changes", import_args, expect=1),
        Step(
            "Exploratory analysis of the stored listings", ["eda", "--out", str(demo_dir / "eda")]
        ),
        Step(
            "Curate candidates (still, not nsfw, trimmed per year, ranked)",
            ["curate", "--top", str(DEMO_TOP)],
        ),
        Step(
            "Label the sample by hand, as the study did (a person's category wins over CLIP; "
            "its abstract pictures would be 'other')",
            ["labels", "import", str(LABELS_CSV)],
        ),
        Step("Create a wallet for the dry run", action=wallet),
        Step(
            "The whole cycle, as the daemon runs it: curate → prepare → generate → choose → pin "
            f"→ mint → list → sync ({cycle}; the images of the 10 listings known only by CID "
            "are not fetched: the demo stays offline)",
            ["run", "--once", "--skip", "fetch"],
        ),
        Step("Again: idempotent, nothing left to do", ["run", "--once", "--skip", "fetch"]),
        *(
            [
                Step(
                    "What preparation decided: counts, contact sheets, HTML",
                    ["report", "prepare", "--out", str(demo_dir / "prepare-report")],
                )
            ]
            if plan.can_prepare
            else []
        ),
        Step("Pins and their status", ["pins", "--no-check"]),
        Step("Failed artworks, if any", ["failed"]),
        Step("Artworks per state", ["status"]),
        Step("Report: the pipeline's funnel, time per stage, failures", ["report", "pipeline"]),
        Step("Report: bids (dry run: nothing was sent, so none)", ["report", "bids"]),
        Step("Report: revenue (dry run: nothing sold)", ["report", "revenue"]),
    ]
    stopped = "generate, choose, pin, publish" if plan.can_prepare else "prepare, generate, …"
    not_run = [] if plan.env is not None else [f"{stopped}: {plan.note}"]
    return steps, not_run


def run_demo(base_data_dir: Path) -> int:
    from bot.cli.app import app
    from bot.settings import load_settings

    settings = load_settings()
    demo_dir = base_data_dir / "demo"
    if demo_dir.exists():
        shutil.rmtree(demo_dir)  # every demo starts from scratch, so it always shows the same
    demo_dir.mkdir(parents=True)
    plan = plan_generation(settings, demo_dir)
    os.environ.update(
        {
            "BOT_DATA_DIR": str(demo_dir),
            "BOT_MARKETPLACE_MODE": "dry-run",  # whatever the user's settings say
            "BOT_IPFS_PINNER": "local",
            "BOT_WALLET_PASSPHRASE": secrets.token_urlsafe(24),
            "BOT_WEIGHTS_DIR": str(plan.weights_dir),
            "BOT_CURATE_TOP": str(DEMO_TOP),
            "BOT_CHOOSE": "auto",
            **(plan.env or {}),
        }
    )
    steps, not_run = _steps(demo_dir, plan)
    for number, step in enumerate(steps, start=1):
        console.print(Rule(f"[bold]{number}. {escape(step.title)}"))
        if step.action:
            step.action()
            continue
        assert step.args is not None
        console.print(f"[dim]$ bot {safe(' '.join(step.args))}[/dim]")
        try:  # typer.Exit inside a command is returned without standalone mode
            returned = app(step.args, prog_name="bot", standalone_mode=False)
            code = returned if isinstance(returned, int) else 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        if code != step.expect:
            console.print(f"[red]step failed with exit code {code}[/red]")
            return code or 1
    console.print(Rule("[bold]demo finished"))
    console.print(f"data: {safe(demo_dir)}")
    console.print(f"EDA report: {safe(demo_dir / 'eda' / 'report.html')}")
    if (demo_dir / "prepare-report").exists():
        console.print(f"preparation report: {safe(demo_dir / 'prepare-report' / 'index.html')}")
    if not not_run:
        console.print(f"signed marketplace requests (dry run): {safe(demo_dir / 'outbox')}")
    for line in not_run:
        console.print(f"[yellow]Not run:[/yellow] {safe(line)}")
    return 0


def main() -> None:
    from bot.cli.settings_report import report_invalid_settings
    from bot.settings import load_settings
    from bot.settings_errors import SettingsError

    try:
        settings = load_settings()
    except SettingsError as exc:
        report_invalid_settings(exc.problems)
        sys.exit(2)
    # data/demo by default (a mode's own data dir is data/<mode>); under an explicit one.
    sys.exit(run_demo(settings.data_dir if settings.data_dir_is_explicit else DEFAULT_DATA_ROOT))


if __name__ == "__main__":
    main()
