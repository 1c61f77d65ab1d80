"""Health checks behind `bot doctor`.

Each check is a small function `check_x(context) -> CheckResult` in `CHECKS`; one result is
one line (ok, warn, fail or skip with a detail that says what to do). To add a check, write
the function and put it in `CHECKS`: a check that raises becomes a failed check, not a crash.

Doctor has to stay quick (under 3 s on the reference VM), so no check imports torch: the
generator install is checked with `find_spec`, the GPU through the NVIDIA driver, and the
network checks send one request each, with a short timeout and no retries. The checks run
side by side in threads, so the network waits and the keystore's scrypt overlap.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from bot.context import AppContext
from bot.extras import EXTRAS, missing_modules
from bot.settings import MarketplaceMode

if TYPE_CHECKING:
    from storage.ipfs.targets import TargetSpec

MIN_FREE_BYTES = 2 * 1024**3
NETWORK_TIMEOUT_S = 3.0
LOCKED_INSTALL = "pip install --no-deps --require-hashes -r requirements/all.txt"
# Module → the distribution that provides it, for the "what to install" hints.
DISTRIBUTIONS = {
    "clip": "clip-anytorch",
    "taming": "taming-transformers-rom1504",
    "cv2": "opencv-python-headless",
}


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # "ok" | "warn" | "fail" | "skip"
    detail: str


Check = Callable[[AppContext], CheckResult]


def run_checks(context: AppContext, checks: list[Check] | None = None) -> list[CheckResult]:
    """Run every check (side by side) and return their results in the order of `checks`."""
    chosen = CHECKS if checks is None else checks
    with ThreadPoolExecutor(max_workers=max(len(chosen), 1)) as pool:
        futures = [pool.submit(_run_one, check, context) for check in chosen]
        return [future.result() for future in futures]


def _run_one(check: Check, context: AppContext) -> CheckResult:
    try:
        return check(context)
    except Exception as exc:  # a broken check is a failed check, not a crash
        name = check.__name__.removeprefix("check_")
        return CheckResult(name, "fail", str(exc) or type(exc).__name__)


# --- configuration and local state ------------------------------------------------------


def check_config(context: AppContext) -> CheckResult:
    settings = context.settings
    mode = settings.marketplace_mode
    if mode is not MarketplaceMode.DRY_RUN and settings.rarible_api_key is None:
        return CheckResult("config", "fail", f"mode {mode.value} needs BOT_RARIBLE_API_KEY")
    targets = ", ".join(
        f"{spec.name}{'' if spec.required else ' (optional)'}" for spec in settings.pin_target_specs
    )
    return CheckResult(
        "config",
        "ok",
        f"marketplace {mode.value}, pin targets {targets}, CID profile {settings.cid_profile.name}",
    )


def check_database(context: AppContext) -> CheckResult:
    from storage import schema
    from storage.db import integrity_problems, make_engine
    from storage.errors import describe

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


def check_disk(context: AppContext) -> CheckResult:
    # The nearest existing directory: doctor creates nothing, not even the data dir.
    where = context.settings.data_dir.resolve()
    while not where.exists() and where != where.parent:
        where = where.parent
    free = shutil.disk_usage(where).free
    detail = f"{free / 1024**3:.1f} GiB free under {where}"
    return CheckResult("disk", "ok" if free >= MIN_FREE_BYTES else "fail", detail)


# --- the install: extras, generator, GPU, weights -------------------------------------------


def _generator_state() -> tuple[str, list[str]]:
    """("absent" | "partial" | "complete", the missing modules) of the generate extra."""
    missing = missing_modules("generate")
    if not missing:
        return "complete", []
    if len(missing) == len(EXTRAS["generate"].modules):
        return "absent", missing
    return "partial", missing


def check_install(context: AppContext) -> CheckResult:
    """Which extras are here; a generator install with pieces missing (say taming) fails."""
    state, missing = _generator_state()
    if state == "partial":
        named = ", ".join(f"{m} ({DISTRIBUTIONS.get(m, m)})" for m in missing)
        return CheckResult(
            "install",
            "fail",
            f"the generator install is incomplete, missing {named}: reinstall the locked set "
            f"with `{LOCKED_INSTALL}` (or pip install 'nftbot[generate]')",
        )
    installed = [name for name in EXTRAS if not missing_modules(name)]
    absent = [name for name in EXTRAS if name not in installed]
    detail = f"core; extras: {', '.join(installed) or 'none'}"
    if absent:
        detail += f" (not installed: {', '.join(absent)})"
    settings = context.settings
    needed = []
    if settings.db_url.startswith("postgresql") and "postgres" in absent:
        needed.append("postgres (BOT_DATABASE_URL is PostgreSQL)")
    if settings.scrape_page_rules is not None and "browser" in absent:
        needed.append("browser (BOT_SCRAPE_PAGE_RULES is set)")
    if needed:
        hints = "; ".join(needed)
        return CheckResult("install", "fail", f"{detail}; needed: {hints}")
    return CheckResult("install", "ok", detail)


def _nvidia_gpus() -> list[str]:
    """GPU names from the NVIDIA driver, without importing torch."""
    names = []
    for info in sorted(Path("/proc/driver/nvidia/gpus").glob("*/information")):
        for line in info.read_text(errors="replace").splitlines():
            if line.startswith("Model:"):
                names.append(line.split(":", 1)[1].strip())
    if names or shutil.which("nvidia-smi") is None:
        return names
    try:
        listed = subprocess.run(
            ["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=NETWORK_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [line.strip() for line in listed.stdout.splitlines() if line.strip()]


def _torch_build() -> tuple[str, str | None]:
    """(torch version, the CUDA version it was built for or None), read from torch's
    version.py so that torch itself (2-3 s) is not imported."""
    spec = importlib.util.find_spec("torch")
    if spec is None or spec.origin is None:
        return "?", None
    text = Path(spec.origin).with_name("version.py").read_text(encoding="utf-8")
    version = re.search(r"^__version__\s*=\s*['\"]([^'\"]+)", text, re.MULTILINE)
    cuda = re.search(r"^cuda\b[^=\n]*=\s*['\"]([^'\"]+)", text, re.MULTILINE)
    return (version.group(1) if version else "?"), (cuda.group(1) if cuda else None)


def check_gpu(context: AppContext) -> CheckResult:
    if _generator_state()[0] != "complete":
        return CheckResult("gpu", "skip", "no generator installed")
    wanted = context.settings.generator_device
    if wanted == "cpu":
        return CheckResult("gpu", "ok", "BOT_GENERATOR_DEVICE=cpu: the generator runs on the CPU")
    gpus = _nvidia_gpus()
    torch_version, cuda = _torch_build()
    needs_gpu = wanted.startswith("cuda")
    if not gpus:
        if needs_gpu:
            return CheckResult("gpu", "fail", f"BOT_GENERATOR_DEVICE={wanted} but no NVIDIA GPU")
        return CheckResult("gpu", "warn", "no NVIDIA GPU: the generator runs on the CPU (slow)")
    found = f"{len(gpus)}x {gpus[0]}"
    if cuda is None:
        detail = f"{found}, but torch {torch_version} is a CPU-only build"
        return CheckResult("gpu", "fail" if needs_gpu else "warn", detail)
    return CheckResult("gpu", "ok", f"{found}; torch {torch_version} built for CUDA {cuda}")


def check_weights(context: AppContext) -> CheckResult:
    """The configured VQGAN and CLIP weights are here (downloaded or converted)."""
    if _generator_state()[0] != "complete":
        return CheckResult("weights", "skip", "no generator installed")
    from generator.weights import WeightsStore

    settings = context.settings
    store = WeightsStore(settings.weights_cache_dir)
    names = (settings.generator_vqgan, settings.generator_clip)
    states = {name: store.status(name).state for name in names}
    missing = [name for name, state in states.items() if state == "missing"]
    if missing:
        fetch = "; ".join(f"bot models download {name}" for name in missing)
        return CheckResult(
            "weights", "warn", f"missing under {store.cache_dir}: {', '.join(missing)}; {fetch}"
        )
    shown = ", ".join(f"{name} {state}" for name, state in states.items())
    return CheckResult("weights", "ok", shown)


# --- the outside world: IPFS, Rarible, the wallet ----------------------------------------------


def check_ipfs(context: AppContext) -> CheckResult:
    """Every pin target answers (kubo, pinning service) or is writable (local). A required
    target that does not is a failure; an optional one a warning."""
    specs = context.settings.pin_target_specs
    details: list[str] = []
    status = "ok"
    for spec in specs:
        try:
            detail = _target_answers(context, spec)
        except Exception as exc:  # each target reports its own failure; the others go on
            detail = str(exc) or type(exc).__name__
            status = "fail" if spec.required or status == "fail" else "warn"
        details.append(detail if len(specs) == 1 else f"{spec.name}: {detail}")
    return CheckResult("ipfs", status, "; ".join(details))


def _target_answers(context: AppContext, spec: TargetSpec) -> str:
    if spec.kind == "local":
        # Doctor creates nothing: a blockstore not made yet is checked where it will be.
        root = context.settings.ipfs_dir
        where = root.resolve()
        while not where.exists() and where != where.parent:
            where = where.parent
        if not os.access(where, os.W_OK | os.X_OK):
            raise ValueError(f"local blockstore: {where} is not writable")
        if where != root.resolve():
            return f"local blockstore {root} can be created"
        return f"local blockstore {root} is writable"
    assert spec.url is not None
    if spec.kind == "kubo":
        return _kubo_version(spec.url, spec.token)
    found = [_pinning_service_answers(spec.url, spec.token)]
    if spec.provider_url:
        found.append(_kubo_version(spec.provider_url, spec.provider_token))
    return "; ".join(found)


def _kubo_version(api_url: str, token: str | None = None) -> str:
    from storage.ipfs.kubo import KuboClient
    from storage.ipfs.transport import RetryPolicy

    client = KuboClient(
        api_url, timeout_s=NETWORK_TIMEOUT_S, policy=RetryPolicy(attempts=1), auth_token=token
    )
    version = client.version().get("Version", "?")
    return f"kubo {version} at {api_url}"


def _pinning_service_answers(url: str, token: str | None) -> str:
    from storage.ipfs.pinning_service import PinningServiceClient
    from storage.ipfs.transport import RetryPolicy

    if not token:
        raise ValueError(f"pinning service {url} needs a token")
    client = PinningServiceClient(
        url, token, timeout_s=NETWORK_TIMEOUT_S, policy=RetryPolicy(attempts=1)
    )
    client.list_recent(limit=1)  # an authenticated read: a refused token raises
    return f"pinning service {url} accepts the token"


def check_rarible(context: AppContext) -> CheckResult:
    """One authenticated read with the API key (testnet and mainnet only)."""
    settings = context.settings
    mode = settings.marketplace_mode
    if mode is MarketplaceMode.DRY_RUN:
        return CheckResult("rarible", "skip", "dry-run: nothing is sent to Rarible")
    if settings.rarible_api_key is None:
        return CheckResult("rarible", "skip", "no BOT_RARIBLE_API_KEY (see config)")
    from marketplace.client import RaribleClient, RetryPolicy
    from marketplace.networks import network_for_mode

    network = network_for_mode(mode.value).with_overrides(
        api_url=settings.rarible_api_url, collection=settings.rarible_collection
    )
    client = RaribleClient(
        indexer_url=network.indexer_url,
        union_url=network.union_url,
        api_key=settings.rarible_api_key.get_secret_value(),
        mode=mode.value,
        timeout_s=NETWORK_TIMEOUT_S,
        retry=RetryPolicy(give_up_after_s=0),
        user_agent=settings.user_agent,
    )
    record = client.get_collection(network.collection)
    if record is None:  # an API that answers 404 for the lazy-mint collection is not the one
        return CheckResult(
            "rarible",
            "fail",
            f"{network.indexer_url} does not know collection {network.collection} (HTTP 404): "
            "BOT_RARIBLE_API_URL must be Rarible's Ethereum API, BOT_RARIBLE_COLLECTION a "
            "collection it indexes",
        )
    if record.get("supportsLazyMint") is False:
        return CheckResult(
            "rarible",
            "fail",
            f"collection {network.collection} does not support lazy minting "
            "(BOT_RARIBLE_COLLECTION): the bot lazy-mints every artwork",
        )
    return CheckResult("rarible", "ok", f"{network.indexer_url} answers with the API key")


def check_wallet(context: AppContext) -> CheckResult:
    """A keystore exists and, when BOT_WALLET_PASSPHRASE is set, it unlocks with it."""
    from marketplace.wallet import WalletError, keystore_info, keystore_path, unlock

    settings = context.settings
    wallet_dir = settings.wallet_dir
    live = settings.marketplace_mode is not MarketplaceMode.DRY_RUN
    if not keystore_path(wallet_dir).exists():
        detail = f"no keystore under {wallet_dir}: run `bot wallet create` or `bot wallet import`"
        return CheckResult("wallet", "fail" if live else "warn", detail)
    try:
        info = keystore_info(wallet_dir)
        if settings.wallet_passphrase is None:
            detail = f"{info.address}; BOT_WALLET_PASSPHRASE unset: the daemon cannot unlock it"
            return CheckResult("wallet", "warn", detail)
        unlock(wallet_dir, settings.wallet_passphrase.get_secret_value())
    except WalletError as exc:
        return CheckResult("wallet", "fail", str(exc))
    return CheckResult("wallet", "ok", f"{info.address} unlocks with BOT_WALLET_PASSPHRASE")


def check_published(context: AppContext) -> CheckResult:
    """Mints whose royalties Rarible's exchange refuses (every sale reverts above 50%), and
    second live sell orders an older release made (kept as `duplicate` by revision 0007)."""
    import json

    from sqlalchemy import inspect, text

    from marketplace.royalties import MAX_ROYALTY_BPS, royalty_total_bps
    from storage.db import make_engine

    engine = make_engine(context.settings.db_url, schema_policy="skip", read_only=True)
    if "mint_intents" not in set(inspect(engine).get_table_names()):
        return CheckResult("published", "ok", "nothing minted yet")
    with engine.connect() as connection:
        mints = connection.execute(
            text(
                "SELECT artwork_id, token_id, payload_json FROM mint_intents"
                " WHERE status != 'rejected'"
            )
        ).all()
        duplicates = connection.execute(
            text("SELECT artwork_id, order_hash FROM market_orders WHERE status = 'duplicate'")
        ).all()
    unsellable = [
        f"artwork {artwork_id} (token {token_id}): {bps} bps"
        for artwork_id, token_id, payload in mints
        if (bps := royalty_total_bps(json.loads(payload))) > MAX_ROYALTY_BPS
    ]
    if unsellable:
        more = f" and {len(unsellable) - 5} more" if len(unsellable) > 5 else ""
        detail = "; ".join(unsellable[:5]) + more
        return CheckResult(
            "published",
            "fail",
            f"royalties above {MAX_ROYALTY_BPS} bps, so every sale would revert: {detail}",
        )
    if duplicates:
        orders = ", ".join(f"artwork {a}: {h}" for a, h in duplicates[:5])
        detail = f"{len(duplicates)} second sell order(s) may still be live on the market: {orders}"
        return CheckResult("published", "warn", detail)
    return CheckResult("published", "ok", f"{len(mints)} mints, royalties within 50%")


CHECKS: list[Check] = [
    check_config,
    check_database,
    check_disk,
    check_install,
    check_gpu,
    check_weights,
    check_ipfs,
    check_rarible,
    check_wallet,
    check_published,
]
