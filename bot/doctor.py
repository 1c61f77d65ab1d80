"""Health checks behind `bot doctor`. Each check returns ok, warn or fail with a detail line."""

from __future__ import annotations

import importlib
import shutil
from collections.abc import Callable
from dataclasses import dataclass

from bot.context import AppContext
from bot.settings import MarketplaceMode
from storage import schema
from storage.errors import describe

MIN_FREE_BYTES = 2 * 1024**3


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str


def run_checks(context: AppContext) -> list[CheckResult]:
    checks: list[Callable[[AppContext], CheckResult]] = [
        _check_config,
        _check_database,
        _check_disk,
        _check_gpu,
        _check_generator_libraries,
        _check_wallet,
    ]
    results = []
    for check in checks:
        try:
            results.append(check(context))
        except Exception as exc:  # a broken check is a failed check, not a crash
            results.append(CheckResult(check.__name__.removeprefix("_check_"), "fail", str(exc)))
    return results


def _check_config(context: AppContext) -> CheckResult:
    settings = context.settings
    mode = settings.marketplace_mode
    if mode is not MarketplaceMode.DRY_RUN and settings.rarible_api_key is None:
        return CheckResult("config", "fail", f"mode {mode.value} needs BOT_RARIBLE_API_KEY")
    return CheckResult("config", "ok", f"marketplace {mode.value}, pinner {settings.ipfs_pinner}")


def _check_database(context: AppContext) -> CheckResult:
    from storage.db import integrity_problems, make_engine

    # Read-only, the schema as it is: doctor reports an old, new or damaged database; it never
    # creates or migrates one.
    engine = make_engine(context.settings.db_url, schema_policy="skip", read_only=True)
    found = schema.state(engine)
    if found.is_empty:
        return CheckResult("database", "warn", "empty: the first command creates the schema")
    if found.current is not None and found.current not in schema.known_revisions():
        detail = f"revision {found.current} is newer than this code ({found.head}): upgrade nftbot"
        return CheckResult("database", "fail", detail)
    problems = integrity_problems(engine)
    if problems:
        detail = f"damaged ({problems[0]}): restore a backup; `bot db check` lists the damage"
        return CheckResult("database", "fail", detail)
    checked = "" if problems is None else ", quick_check ok"
    if not found.is_current:
        where = found.current or f"hand-written v{found.legacy_version}"
        return CheckResult(
            "database", "fail", f"schema {where}, code needs {found.head}: run `bot db upgrade`"
        )
    return CheckResult(
        "database", "ok", f"{describe(context.settings.db_url)} revision {found.current}{checked}"
    )


def _check_disk(context: AppContext) -> CheckResult:
    # The nearest existing directory: doctor creates nothing, not even the data dir.
    where = context.settings.data_dir.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    detail = f"{free / 1024**3:.1f} GiB free under {where}"
    return CheckResult("disk", "ok" if free >= MIN_FREE_BYTES else "fail", detail)


def _check_gpu(context: AppContext) -> CheckResult:
    import torch

    if torch.cuda.is_available():
        name = torch.cuda.get_device_name(0)
        return CheckResult("gpu", "ok", f"{torch.cuda.device_count()}x {name}")
    wanted = context.settings.generator_device
    if wanted.startswith("cuda"):
        return CheckResult("gpu", "fail", f"BOT_GENERATOR_DEVICE={wanted} but no CUDA GPU")
    return CheckResult("gpu", "warn", "no CUDA GPU: the generator runs on the CPU (slow)")


def _check_generator_libraries(_context: AppContext) -> CheckResult:
    missing = []
    for module in ("clip", "kornia", "taming.modules.diffusionmodules.model"):
        try:
            importlib.import_module(module)
        except Exception as exc:
            missing.append(f"{module} ({exc.__class__.__name__})")
    if missing:
        return CheckResult("generator libraries", "fail", "cannot import " + ", ".join(missing))
    return CheckResult("generator libraries", "ok", "clip, kornia, taming modules import")


def _check_wallet(context: AppContext) -> CheckResult:
    """Publishing needs a keystore and, unattended, the passphrase in the environment."""
    from marketplace.wallet import WalletError, keystore_info, keystore_path

    settings = context.settings
    wallet_dir = settings.wallet_dir
    live = settings.marketplace_mode is not MarketplaceMode.DRY_RUN
    if not keystore_path(wallet_dir).exists():
        detail = f"no keystore under {wallet_dir}: run `bot wallet create` or `bot wallet import`"
        return CheckResult("wallet", "fail" if live else "warn", detail)
    try:
        info = keystore_info(wallet_dir)
    except WalletError as exc:
        return CheckResult("wallet", "fail", str(exc))
    if settings.wallet_passphrase is None:
        detail = f"{info.address}; BOT_WALLET_PASSPHRASE unset: the daemon cannot unlock it"
        return CheckResult("wallet", "warn", detail)
    return CheckResult("wallet", "ok", f"{info.address} ({info.kdf})")
