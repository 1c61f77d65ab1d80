"""`make demo`: the main job on the embedded defaults, end to end on the bundled sample.

Runs the real CLI commands in-process, in order, on a data dir of its own
(`<data_dir>/demo`, recreated each time), always in dry-run: nothing leaves the machine. The
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
from bot.settings import Settings

DEMO_TOP = 8


@dataclass(frozen=True)
class Step:
    title: str
    args: list[str] | None = None  # a `bot` command line
    action: Callable[[], None] | None = None  # or a Python action


@dataclass(frozen=True)
class GeneratorPlan:
    """How the demo can generate: real weights, smoke-test models, or not at all."""

    weights_dir: Path
    args: list[str] | None  # extra `bot generate` arguments; None = cannot generate
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
            return GeneratorPlan(real_dir, [], "real weights on the GPU: 512px, 20 steps")
        return GeneratorPlan(
            real_dir,
            ["--size", "128", "--steps", "5", "--cutn", "8"],
            "real weights on the CPU: 128px and 5 steps to keep the demo short",
        )
    missing = [name for name in names if not store.available(name)]
    fetch = "; ".join(f"bot models download {name}" for name in missing)
    if settings.allow_smoke_test_models:
        return GeneratorPlan(
            demo_dir / "models",
            ["--size", "64", "--steps", "5", "--cutn", "4"],
            f"weights missing ({', '.join(missing)}): SMOKE TEST with tiny UNTRAINED models",
        )
    return GeneratorPlan(
        real_dir,
        None,
        f"the weights are missing ({', '.join(missing)} under {real_dir}). Fetch them with: "
        f"{fetch}. To run the rest of the pipeline on tiny untrained models instead: "
        "BOT_ALLOW_SMOKE_TEST_MODELS=true make demo",
    )


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

    steps = [
        Step("Draw the sample's images (generated here, nothing downloaded)", action=draw),
        Step("Create the database", ["init"]),
        Step("Import the bundled sample CSV (two bad rows are reported and skipped)", import_args),
        Step("Re-import: idempotent, nothing changes", import_args),
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
    ]
    if plan.can_prepare:
        steps += [
            Step(
                "Prepare: decode, filter, categorise, make the init images (candidate → prepared)",
                ["prepare", "--size", (plan.args or ["--size", "512"])[1]],
            ),
            Step(
                "What preparation decided: counts, contact sheets, HTML",
                ["report", "prepare", "--out", str(demo_dir / "prepare-report")],
            ),
        ]
    if plan.args is None:
        stopped = "generate, choose, pin, publish" if plan.can_prepare else "prepare, generate, …"
        not_run = [f"{stopped}: {plan.note}"]
        return [*steps, Step("Artworks per state", ["status"])], not_run
    steps += [
        Step(f"Generate VQGAN+CLIP frames ({plan.note})", ["generate", *plan.args]),
        Step(
            "Score every frame and choose each artwork's best (weighted rank, no near-copies)",
            ["choose", "--auto"],
        ),
        Step("Pin the chosen images and their metadata to IPFS (local blockstore)", ["pin"]),
        Step("Create a wallet for the dry run", action=wallet),
        Step("Lazy-mint and list on Rarible: dry run, signed requests to the outbox", ["publish"]),
        Step("Sync bids and sales (dry run: nothing was sent, so none)", ["bids", "sync"]),
        Step("Pins and their status", ["pins"]),
        Step("Artworks per state", ["status"]),
    ]
    return steps, []


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
        try:
            app(step.args, prog_name="bot", standalone_mode=False)
        except SystemExit as exc:  # typer.Exit inside a command
            if exc.code:
                console.print(f"[red]step failed with exit code {exc.code}[/red]")
                return int(exc.code)
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
    sys.exit(run_demo(settings.data_dir))


if __name__ == "__main__":
    main()
