"""The locked install: the locks cover pyproject.toml, and the core install (no torch) runs
the CLI through import, curation, pinning and a dry-run publish in a fresh virtualenv.

The virtualenv test is marked `install` (and slow): the default run deselects it (see
pyproject's addopts) and `make test` runs it as its own step (`make test-install`). It builds
the venv from requirements/core.txt, so the first run downloads about 40 packages; pip's cache
makes later runs quick.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CORE_LOCK = REPO / "requirements" / "core.txt"
ALL_LOCK = REPO / "requirements" / "all.txt"
# Distributions only the extras bring; none may be in the core lock.
NOT_CORE = {"torch", "torchvision", "triton", "kornia", "clip-anytorch", "opencv-python-headless",
            "spandrel", "imagehash", "playwright", "ray", "psycopg", "psycopg-binary",
            "taming-transformers-rom1504", "safetensors"}  # fmt: skip


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """{distribution: (version, hashes)} of a `uv pip compile --generate-hashes` file."""
    entries: dict[str, tuple[str, list[str]]] = {}
    current = None
    for line in path.read_text().splitlines():
        pinned = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==([^ ;\\]+)", line)
        if pinned:
            current = _canonical(pinned.group(1))
            entries[current] = (pinned.group(3), [])
        elif current and (found := re.search(r"--hash=(sha256:[0-9a-f]{64})", line)):
            entries[current][1].append(found.group(1))
    return entries


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for requirement in requirements:
        match = re.match(r"^([A-Za-z0-9_.\-]+)(\[[^\]]*\])?==(\S+)$", requirement)
        if match:
            pins[_canonical(match.group(1))] = match.group(3)
        else:  # only the self-referencing `all` extra is not an exact pin
            assert requirement.startswith("nftbot["), requirement
    return pins


def test_locks_pin_every_declared_dependency_with_hashes() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core, full = read_lock(CORE_LOCK), read_lock(ALL_LOCK)
    for name, version in _pins(project["dependencies"]).items():
        assert core.get(name, ("missing",))[0] == version, f"{name}: run `make lock`"
    for extra, requirements in project["optional-dependencies"].items():
        for name, version in _pins(requirements).items():
            assert full.get(name, ("missing",))[0] == version, f"{extra} {name}: `make lock`"
    for lock in (core, full):
        assert all(hashes for _version, hashes in lock.values())
    # The core venv is a subset of the full one, at the same versions.
    assert {name: core[name][0] for name in core} == {name: full[name][0] for name in core}


def test_core_lock_has_no_torch_and_no_lock_has_lightning() -> None:
    core, full = read_lock(CORE_LOCK), read_lock(ALL_LOCK)
    assert set(core) & NOT_CORE == set()
    assert not [name for name in core if name.startswith("nvidia-")]
    assert full["torch"][0] == "2.14.1" and full["torchvision"][0] == "0.29.2"
    assert full["taming-transformers-rom1504"][0] == "0.0.6"
    for lock in (core, full):  # taming declares them; we never import them (--no-deps installs)
        assert "pytorch-lightning" not in lock and "omegaconf" not in lock
    assert "make lock" in CORE_LOCK.read_text().splitlines()[1]


# --- the core install in a fresh virtualenv ---------------------------------------------

# Test setup standing in for `bot prepare` + `bot generate` + `bot score`, which need the
# generator extra: each candidate moves through prepared to generated through the real state
# machine, with three frames (Pillow noise, not copies of the source: those are never pinned)
# scored as a machine with the extra would have scored them.
SEED_FRAMES = """
import io, random, sys
from datetime import datetime, timezone
from PIL import Image
from sqlmodel import select
from storage.artworks import transition
from storage.blobstore import BlobStore
from storage.db import make_engine, session_scope
from storage.models import Artwork, ArtworkState, Listing
from storage.models.frame import Frame

data = sys.argv[1]
engine = make_engine(f"sqlite:///{data}/bot.db")
blobs = BlobStore(f"{data}/blobs")
with session_scope(engine) as session:
    candidates = session.exec(select(Artwork).where(Artwork.state == "candidate")).all()
    for artwork in candidates:
        listing = session.get(Listing, artwork.listing_id)
        artwork.init_image_blob = listing.image_blob
        artwork.category = artwork.category or "Scenery"
        artwork.prompt = artwork.prompt or f"{artwork.category} by James Gurney"
        transition(session, artwork, ArtworkState.PREPARED)
        for iteration in range(3):
            noise = random.Random(artwork.id * 10 + iteration).randbytes(64 * 64 * 3)
            frame = Image.frombytes("RGB", (64, 64), noise)
            buffer = io.BytesIO()
            frame.save(buffer, format="PNG")
            blob = blobs.put_bytes(buffer.getvalue())
            session.add(Frame(artwork_id=artwork.id, iteration=iteration,
                              blob_sha256=blob.sha256, loss=1.0 / (iteration + 1),
                              prompt=artwork.prompt, seed=1, model="test setup",
                              width=frame.width, height=frame.height,
                              prompt_similarity=0.2 + iteration / 100, source_similarity=0.5,
                              critic=0.0, sharpness=100.0, colourfulness=30.0, blockiness=1.0,
                              hash_distance=30, hash_match="test setup",
                              score_models="clip=clip_vit_b32; critic=-; aesthetic=-",
                              scored_at=datetime.now(timezone.utc)))
        transition(session, artwork, ArtworkState.GENERATED)
print(len(candidates))
"""


def _run(
    command: list[str], *, env: dict[str, str], cwd: Path, expect: int = 0
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == expect, f"{command}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


@pytest.mark.install
@pytest.mark.slow
@pytest.mark.timeout(900)
def test_core_install_runs_import_curate_pin_and_dry_run_publish(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOT_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = str(venv / "bin" / "python")
    pip = [python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-deps"]
    _run([*pip, "--require-hashes", "-r", str(CORE_LOCK)], env=env, cwd=tmp_path)
    _run([*pip, "--no-build-isolation", "-e", str(REPO)], env=env, cwd=tmp_path)
    installed = _run([python, "-m", "pip", "list", "--format=json"], env=env, cwd=tmp_path)
    names = {_canonical(d["name"]) for d in json.loads(installed.stdout)}
    assert names & NOT_CORE == set()
    assert names - {"pip", "nftbot"} <= set(read_lock(CORE_LOCK))

    bot = str(venv / "bin" / "bot")
    env |= {"BOT_DATA_DIR": str(tmp_path / "data"), "BOT_WALLET_PASSPHRASE": "core install test"}
    _run([bot, "--version"], env=env, cwd=tmp_path)
    images = tmp_path / "images"
    draw = f"from bot.sample import build_sample_images; build_sample_images(__import__('pathlib').Path({str(images)!r}))"  # noqa: E501
    _run([python, "-c", draw], env=env, cwd=tmp_path)
    from bot.sample import SAMPLE_CSV

    _run([bot, "init"], env=env, cwd=tmp_path)
    # the sample holds two deliberately broken rows: they are reported and the import exits 1
    imported = _run(
        [bot, "import", "kaggle", str(SAMPLE_CSV), "--images", str(images)],
        env=env,
        cwd=tmp_path,
        expect=1,
    )
    assert "2 bad rows skipped" in imported.stdout
    _run([bot, "eda", "--out", str(tmp_path / "eda")], env=env, cwd=tmp_path)
    _run([bot, "curate", "--top", "4"], env=env, cwd=tmp_path)
    refused = _run([bot, "prepare"], env=env, cwd=tmp_path, expect=2)
    assert refused.stderr.strip() == (
        "bot prepare needs the generator extra: pip install 'nftbot[generate]'"
    )
    seeded = _run([python, "-c", SEED_FRAMES, str(tmp_path / "data")], env=env, cwd=tmp_path)
    assert seeded.stdout.strip() == "4"
    refused = _run([bot, "score"], env=env, cwd=tmp_path, expect=2)
    assert refused.stderr.strip() == (
        "bot score needs the generator extra: pip install 'nftbot[generate]'"
    )
    chosen = _run([bot, "choose", "--auto"], env=env, cwd=tmp_path)  # the scores are there
    assert chosen.stdout.count("frame iteration 2 chosen automatically") == 4
    _run([bot, "pin"], env=env, cwd=tmp_path)
    _run([bot, "wallet", "create", "--scrypt-n", "16384"], env=env, cwd=tmp_path)
    _run([bot, "publish"], env=env, cwd=tmp_path)
    status = json.loads(_run([bot, "status", "--json"], env=env, cwd=tmp_path).stdout)
    assert status["listed"] == 4 and status["failed"] == 0
    assert len(list((tmp_path / "data" / "outbox").iterdir())) >= 4  # signed lazy mints
    doctor = _run([bot, "doctor"], env=env, cwd=tmp_path)
    assert "core; extras: none" in doctor.stdout
