"""A whole pipeline on loopback for crash, fault and end-to-end tests (and
benchmarks/bench_crash_pipeline.py): the bundled sample imported into a data dir, a wallet, tiny
untrained models, the local Rarible test server; `bot run --once` as a real process, killed
at chosen points; what reached the market counted on the server's side.

A template data dir (sample imported, wallet, tiny weights) is built once and copied
for each round, so a round starts in a second.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlmodel import select

from storage.db import make_engine, session_scope
from storage.models import Artwork
from storage.models.market import IntentStatus, MarketOrder, MintIntent

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "pipeline world passphrase"
STAGES = ("prepare", "generate", "choose", "pin", "mint", "list", "sync")
TOP = 4  # candidates per world: every stage has several artworks to work on
# Tiny random-weight models, converted into the places where the weights store looks for
# these registry names. The bundled smoke-test models would do for generating, but their
# frames carry `smoke_` names, which the pin and publish guards refuse outside dry-run; this
# world publishes on testnet (to the local Rarible test server only).
WORLD_VQGAN, WORLD_CLIP = "vqgan_imagenet_f16_16384", "clip_vit_b32"


def install_world_weights(weights: Path) -> None:
    from generator.convert import convert_clip, convert_vqgan
    from generator.tiny import write_smoke_test_weights
    from generator.weights import WeightsStore

    scratch = weights / ".tiny"
    vqgan, clip = write_smoke_test_weights(scratch)
    store = WeightsStore(weights)
    convert_vqgan(
        scratch / vqgan / f"{vqgan}.ckpt",
        scratch / vqgan / f"{vqgan}.yaml",
        store.converted_path(WORLD_VQGAN).parent,
    )
    convert_clip(scratch / clip / f"{clip}.pt", store.converted_path(WORLD_CLIP).parent)
    shutil.rmtree(scratch)


def base_env(
    data_dir: Path, rarible_url: str, weights: Path, *, top: int = TOP, **extra: str
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.update(
        {
            "PYTHONPATH": str(REPO),
            "BOT_DATA_DIR": str(data_dir),
            "BOT_MARKETPLACE_MODE": "testnet",
            "BOT_RARIBLE_API_URL": rarible_url,
            "BOT_RARIBLE_API_KEY": "k-world",
            "BOT_WALLET_PASSPHRASE": PASSPHRASE,
            "BOT_LISTING_KIND": "fixed-price",
            "BOT_IPFS_PINNER": "local",
            "BOT_WEIGHTS_DIR": str(weights),
            "BOT_GENERATOR_VQGAN": WORLD_VQGAN,
            "BOT_GENERATOR_CLIP": WORLD_CLIP,
            "BOT_GENERATOR_SIZE": "32",
            "BOT_GENERATOR_STEPS": "3",
            "BOT_GENERATOR_CUTN": "2",
            "BOT_GENERATOR_DEVICE": "cpu",
            "BOT_CURATE_TOP": str(top),
            # Untrained models make frames that look alike to their own CLIP: only an exact
            # copy of the source counts as a near-copy here (the guard has its own tests).
            "BOT_NEAR_COPY_MAX_HASH_DISTANCE": "0",
            "BOT_NEAR_COPY_MIN_CLIP_SIMILARITY": "1.0",
            "BOT_STAGE_BATCH": "2",
            "BOT_RETRY_BACKOFF_S": "1",
            "BOT_RETRY_BACKOFF_MAX_S": "1",
            "BOT_RETRY_MAX_ATTEMPTS": "100",
            "BOT_LOG_LEVEL": "DEBUG",
        }
    )
    env.update(extra)
    return env


def build_template(root: Path, database_url: str | None = None) -> Path:
    """root/template: the sample imported, curated and labelled, a wallet; root/weights: the
    tiny models. The store is root/template/bot.db, or the database at `database_url`."""
    from bot.sample import LABELS_CSV
    from marketplace.wallet import MIN_SCRYPT_N, create_keystore

    template = root / "template"
    images = root / "sample_images"
    extra = {"BOT_DATABASE_URL": database_url} if database_url else {}
    env = base_env(template, "http://127.0.0.1:9", root / "weights", **extra)
    install_world_weights(root / "weights")
    script = (
        "from pathlib import Path; import sys; "
        "from bot.sample import SAMPLE_CSV, build_sample_images; "
        "build_sample_images(Path(sys.argv[1])); print(SAMPLE_CSV)"
    )
    csv_path = subprocess.run(
        [sys.executable, "-c", script, str(images)],
        env=env, cwd=root, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    _bot(env, root, "import", "kaggle", csv_path, "--images", str(images))
    # A person's categories, as the demo gives them: the sample's drawn pictures are abstract
    # (CLIP, and the untrained one here even more, would call them 'other' and reject them).
    _bot(env, root, "curate", "--top", env["BOT_CURATE_TOP"])
    _bot(env, root, "labels", "import", str(LABELS_CSV))
    create_keystore(template / "wallet", PASSPHRASE, scrypt_n=MIN_SCRYPT_N)
    return template


def _bot(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [sys.executable, "-c", "from bot.cli.app import main; main()", *args],
        env=env, cwd=cwd, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if result.returncode not in (0, 1):
        raise AssertionError(f"bot {' '.join(args)}: {result.returncode}\n{result.stderr[-3000:]}")
    return result


def new_world(template: Path, where: Path) -> Path:
    data_dir = where / "data"
    shutil.copytree(template, data_dir)
    return data_dir


@dataclass
class RunOutcome:
    returncode: int | None  # None: killed
    killed_at: str | None = None  # the stage (or step) it was killed in
    log: str = ""


# A warm launcher: one Python process that imported the bot (and torch) once forks a child per
# run; the child is an ordinary process running the CLI's main(), killed by its pid. It saves
# the seconds of imports each `bot run` would spend, which dominate a crash benchmark.
_ZYGOTE = r"""
import json, os, sys, threading, time
import bot.cli.app, bot.cli.run, bot.pipeline.cycle, bot.pipeline.stages, bot.daemon.lock
import marketplace.minting, marketplace.orders, storage.ipfs.unixfs
try:
    import torch, generator.optimiser, generator.weights, bot.pipeline.generate_stage
except ImportError:
    pass
out, lock = sys.stdout, threading.Lock()


def say(message):
    with lock:
        out.write(json.dumps(message) + "\n")
        out.flush()


def reap():
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            time.sleep(0.02)
            continue
        say({"exit": pid, "code": os.waitstatus_to_exitcode(status)})


threading.Thread(target=reap, daemon=True).start()
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        err = os.open(request["stderr"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(err, 2)
        os.dup2(null, 1)
        sys.stdout = open(1, "w", closefd=False)
        sys.stderr = open(2, "w", buffering=1, closefd=False)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["bot", *request["args"]]
        code = 0
        try:
            bot.cli.app.main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        os._exit(code)
    say({"pid": pid})
"""


class Launcher:
    """Forks `bot` runs from a process that has the imports done (see _ZYGOTE)."""

    def __init__(self, env: dict[str, str]) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _ZYGOTE], env=env, cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        self._exits: dict[int, int] = {}
        self._started: list[int] = []
        self._changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        import json

        assert self._process.stdout is not None
        for line in self._process.stdout:
            message = json.loads(line)
            with self._changed:
                if "pid" in message:
                    self._started.append(int(message["pid"]))
                else:
                    self._exits[int(message["exit"])] = int(message["code"])
                self._changed.notify_all()

    def spawn(self, env: dict[str, str], cwd: Path, args: list[str], stderr: Path) -> int:
        import json

        assert self._process.stdin is not None
        with self._changed:
            before = len(self._started)
            request = {"env": env, "cwd": str(cwd), "args": args, "stderr": str(stderr)}
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            if not self._changed.wait_for(lambda: len(self._started) > before, 60):
                raise RuntimeError("the launcher did not fork")
            return self._started[before]

    def exit_code(self, pid: int, timeout: float | None = None) -> int | None:
        with self._changed:
            self._changed.wait_for(lambda: pid in self._exits, timeout)
            return self._exits.get(pid)

    def close(self) -> None:
        """Stop the launcher and every run of it still going."""
        with self._changed:
            running = [pid for pid in self._started if pid not in self._exits]
        for pid in running:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.kill()
        self._process.wait(10)


def run_and_kill(
    env: dict[str, str],
    cwd: Path,
    *,
    target: str | None,
    delay_s: float,
    state: Any = None,
    batch: int = 1,
    timeout_s: float = 300,
    launcher: Launcher | None = None,
    args: tuple[str, ...] = ("run", "--once", "--skip", "fetch"),
) -> RunOutcome:
    """`bot run --once`, SIGKILLed `delay_s` after it starts working on `target` (a stage, or
    the sync step), or when the server holds a request it stored without answering
    (`state.stored_then_hanging`, for a hang fault); in the stage's `batch`-th batch. target
    None: run to the end. With a `launcher`, the run is forked from it (warm imports)."""
    marker = None
    if target is not None:
        marker = f"step {target} starting" if target == "sync" else f"stage {target}: leased"
    log_path = cwd / f"run-{time.monotonic_ns()}.log"
    log_path.touch()  # read while the run writes it
    process: subprocess.Popen[str] | None = None
    if launcher is not None:
        pid = launcher.spawn(env, cwd, list(args), log_path)
    else:
        with open(log_path, "w") as err:
            process = subprocess.Popen(
                [sys.executable, "-c", "from bot.cli.app import main; main()", *args],
                env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=err, text=True,
            )  # fmt: skip
        pid = process.pid

    def exit_code(wait: float | None) -> int | None:
        if process is not None:
            try:
                return process.wait(wait) if wait else process.poll()
            except subprocess.TimeoutExpired:
                return None
        assert launcher is not None
        return launcher.exit_code(pid, wait if wait else 0)

    deadline = time.monotonic() + timeout_s
    killed_at = None
    while exit_code(None) is None and time.monotonic() < deadline:
        if state is not None and state.stored_then_hanging.is_set():
            killed_at = f"{target} (request stored, answer not recorded)"
            break
        if marker and log_path.read_text(errors="replace").count(marker) >= batch:
            killed_at = target
            break
        time.sleep(0.05)
    if killed_at is None and exit_code(None) is None and time.monotonic() >= deadline:
        killed_at = "timeout"
    if killed_at is not None and exit_code(None) is None:
        time.sleep(delay_s)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if state is not None:
            state.stored_then_hanging.clear()
    code = exit_code(60)
    log = log_path.read_text(errors="replace")
    log_path.unlink()
    killed = code == -signal.SIGKILL
    return RunOutcome(None if killed else code, killed_at if killed else None, log)


@dataclass
class MarketCheck:
    """What the market holds against what the bot recorded (all must be 0/empty)."""

    double_mints: list[str] = field(default_factory=list)  # token URIs minted more than once
    double_orders: list[str] = field(default_factory=list)  # items with 2+ live sell orders
    lost: list[int] = field(default_factory=list)  # recorded listed but not on the market
    stuck: list[int] = field(default_factory=list)  # candidates that did not reach `listed`
    listed: int = 0

    @property
    def ok(self) -> bool:
        return not (self.double_mints or self.double_orders or self.lost or self.stuck)


def world_engine(data_dir: Path, database_url: str | None = None) -> Any:
    """The world's store: data_dir/bot.db, or the database at `database_url`."""
    return make_engine(database_url or f"sqlite:///{data_dir / 'bot.db'}", schema_policy="skip")


def check_market(data_dir: Path, state: Any, database_url: str | None = None) -> MarketCheck:
    """Counted on the server's side, independent of the bot's database."""
    check = MarketCheck()
    with state.lock:
        per_uri: dict[str, int] = {}
        for item in state.items.values():
            uri = item["lazy"]["uri"]
            per_uri[uri] = per_uri.get(uri, 0) + 1
        live: dict[str, int] = {}
        for order in state.orders.values():
            if order["status"] == "ACTIVE":
                asset = order["make"]["assetType"]
                item_id = f"{asset['contract'].lower()}:{int(asset['tokenId'])}"
                live[item_id] = live.get(item_id, 0) + 1
        orders_by_hash = {h.lower(): o for h, o in state.orders.items()}
        items = dict(state.items)
    check.double_mints = sorted(uri for uri, n in per_uri.items() if n > 1)
    check.double_orders = sorted(item for item, n in live.items() if n > 1)
    engine = world_engine(data_dir, database_url)
    try:
        with session_scope(engine) as session:
            artworks = session.exec(select(Artwork)).all()
            intents = {
                i.artwork_id: i
                for i in session.exec(select(MintIntent)).all()
                if i.status == IntentStatus.DONE.value
            }
            orders = {
                o.artwork_id: o
                for o in session.exec(select(MarketOrder)).all()
                if o.status == IntentStatus.DONE.value
            }
        for artwork in artworks:
            if artwork.state in ("rejected",):
                continue
            artwork_id = artwork.id or 0
            if artwork.state != "listed":
                check.stuck.append(artwork_id)
                continue
            check.listed += 1
            intent, order = intents.get(artwork_id), orders.get(artwork_id)
            item_id = f"{intent.collection.lower()}:{int(intent.token_id)}" if intent else ""
            if (
                intent is None
                or item_id not in items
                or order is None
                or order.order_hash.lower() not in orders_by_hash
                or orders_by_hash[order.order_hash.lower()]["status"] != "ACTIVE"
            ):
                check.lost.append(artwork_id)
    finally:
        engine.dispose()
    return check


class RandomFaults:
    """Stands in for the server's fault queue: each write and each lookup the publisher
    reconciles with fails with probability `rate` (429, 500, a timeout, a 500 after the
    write was stored; a lookup lagging behind with 404). Queued faults still come first."""

    WRITES = ("/v0.1/nft/mints", "/v0.1/order/orders")

    def __init__(self, state: Any, rate: float, rng: random.Random) -> None:
        self.queued = state.take_fault  # the server's own (add_fault)
        self.rate, self.rng = rate, rng
        self.injected: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, method: str, path: str) -> str | None:
        queued = self.queued(method, path)
        if queued is not None:
            return queued
        if method == "POST" and path in self.WRITES:
            kinds = ("429", "500", "timeout", "500_after_store")
        elif method == "GET" and (
            path.startswith("/v0.1/nft/items/")
            or (path.startswith("/v0.1/order/orders/0x") and path.count("/") == 4)
        ):
            kinds = ("429", "500", "timeout", "404")
        else:
            return None
        with self._lock:
            if self.rng.random() >= self.rate:
                return None
            kind = self.rng.choice(kinds)
            self.injected[kind] = self.injected.get(kind, 0) + 1
            return kind


def finish(
    env: dict[str, str],
    data_dir: Path,
    state: Any,
    *,
    runs: int = 8,
    launcher: Launcher | None = None,
) -> tuple[MarketCheck, list[RunOutcome]]:
    """Follow-up runs (no kill) until every artwork is listed, or `runs` of them; a retry
    waits out its backoff (1 s here) first."""
    outcomes: list[RunOutcome] = []
    database_url = env.get("BOT_DATABASE_URL")
    check = check_market(data_dir, state, database_url)
    for _ in range(runs):
        if outcomes and not check.stuck:
            break
        time.sleep(1.1)
        outcomes.append(
            run_and_kill(env, data_dir.parent, target=None, delay_s=0, launcher=launcher)
        )
        check = check_market(data_dir, state, database_url)
    return check, outcomes


@dataclass
class KillPlan:
    target: str
    delay_s: float
    hang: str | None = None  # a fault that stores the request and never answers
    batch: int = 1  # killed in the stage's n-th batch


# A SIGKILL in every stage in turn; in mint and list the server stores the request and never
# answers, so the kill lands between a request the market holds and the recording of its answer.
EVERY_STAGE = (
    KillPlan("prepare", 0.0),
    KillPlan("generate", 0.5),
    KillPlan("choose", 0.0),
    KillPlan("pin", 0.05),
    KillPlan("mint", 0.0, hang="/v0.1/nft/mints"),
    KillPlan("list", 0.0, hang="/v0.1/order/orders"),
    KillPlan("sync", 0.0),
)


def kill_in_turn(
    env: dict[str, str], cwd: Path, state: Any, plans: Sequence[KillPlan], **run: Any
) -> list[str | None]:
    """One `run_and_kill` per plan (its hang fault armed first); where each run was killed
    (None: it ended first, e.g. nothing was left for that stage)."""
    reached = []
    for plan in plans:
        if plan.hang:
            state.add_fault("POST", plan.hang, "hang_after_store")
        outcome = run_and_kill(
            env, cwd, target=plan.target, delay_s=plan.delay_s, state=state, **run
        )
        reached.append(outcome.killed_at)
    return reached


# Which stage takes an artwork in each state (or failed in it: the recorded failed stage).
_STAGE_OF = {
    "candidate": "prepare",
    "prepared": "generate",
    "generated": "choose",
    "chosen": "pin",
    "pinned": "mint",
    "minting": "mint",
    "minted": "list",
    "listing": "list",
}
_FAILED_STAGE_OF = {"prepared": "prepare", "generated": "generate", "chosen": "choose",
                    "pinned": "pin", "minting": "mint", "listing": "list"}  # fmt: skip


def pending_stages(data_dir: Path) -> list[str]:
    """The stages that still have artworks to work on (the sync always has)."""
    found: set[str] = {"sync"}
    database = data_dir / "bot.db"
    if not database.exists():
        return ["prepare", "sync"]  # curation makes the candidates in the first run
    engine = make_engine(f"sqlite:///{database}", schema_policy="skip")
    try:
        with session_scope(engine) as session:
            rows = session.exec(select(Artwork.state, Artwork.failed_stage)).all()
    finally:
        engine.dispose()
    if not rows:
        found.add("prepare")
    for state, failed_stage in rows:
        stage = _FAILED_STAGE_OF.get(failed_stage or "") if state == "failed" else None
        stage = stage or _STAGE_OF.get(state)
        if stage:
            found.add(stage)
    return [s for s in STAGES if s in found]


def random_plan(rng: random.Random, stages: list[str] | None = None) -> KillPlan:
    """A kill point: a random stage (of `stages`) or the sync, a random moment into it; one
    time in four at mint or list, the moment the server stored the request and has not
    answered. The sync is drawn as one stage of seven, not as one of the few still pending
    (each run moves every artwork as far as it goes unless it is killed)."""
    pending = [s for s in (stages or STAGES) if s != "sync"]
    sync = not pending or rng.random() < 1 / len(STAGES)
    target = "sync" if sync else rng.choice(pending)
    if target in ("mint", "list") and rng.random() < 0.25:
        path = "/v0.1/nft/mints" if target == "mint" else "/v0.1/order/orders"
        return KillPlan(target, rng.uniform(0, 0.2), hang=path)
    # Which of the stage's batches: the kills spread over a stage, not only its start (the
    # sync runs once per run: its first).
    return KillPlan(target, rng.uniform(0, 1.5), batch=1 if sync else rng.randint(1, 3))


def stage_reached(log: str) -> set[str]:
    found = {s for s in STAGES[:-1] if f"stage {s}: leased" in log}
    if "step sync starting" in log:
        found.add("sync")
    return found


def iter_rounds(n: int, seed: int) -> Iterator[random.Random]:
    base = random.Random(seed)
    for _ in range(n):
        yield random.Random(base.getrandbits(64))
