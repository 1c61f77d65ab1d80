"""Suite-wide fixtures. Every test is cut off from the internet: only loopback connects."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# ../shared beside the checkout; NFTBOT_SHARED_DIR points elsewhere (a worktree, CI).
SHARED_DIR = Path(
    os.environ.get("NFTBOT_SHARED_DIR") or Path(__file__).resolve().parents[2] / "shared"
)
DATASET_CSV = SHARED_DIR / "data" / "nft_art_dataset.csv"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if not isinstance(address, tuple):  # AF_UNIX paths
        return True
    host = str(address[0])
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect(self, address)  # type: ignore[arg-type]


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may only connect to loopback, not {address!r}")
    return _real_connect_ex(self, address)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _block_internet() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's BOT_* variables or .env file."""
    import os

    for name in list(os.environ):
        if name.startswith("BOT_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "data"
    monkeypatch.setenv("BOT_DATA_DIR", str(path))
    return path


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    try:
        import torch

        has_gpu = torch.cuda.is_available()
    except Exception:
        has_gpu = False
    skip_gpu = pytest.mark.skip(reason="no CUDA GPU on this machine")  # conditional on hardware
    for item in items:
        if "gpu" in item.keywords and not has_gpu:
            item.add_marker(skip_gpu)


@pytest.fixture(scope="session")
def jsipfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """One offline js-ipfs node on 127.0.0.1 for the whole session, stopped by its PID."""
    from tests.storage.ipfs.jsipfs_node import start_node

    node = start_node(tmp_path_factory.mktemp("jsipfs"))
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[object]:
    """One PostgreSQL server per test session (per xdist worker), started on first use and
    stopped at the end, whatever happened; skipped where PostgreSQL is not installed."""
    from tests.postgres_server import PostgresUnavailable, start_server

    try:
        server = start_server()
    except PostgresUnavailable as exc:
        pytest.skip(str(exc))  # conditional on the machine: `make test` installs it
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store's URL on each engine: a SQLite file, and a fresh PostgreSQL database
    (dropped afterwards). Tests build the schema with `storage.db.make_engine(db_url)`."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'bot.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    name = server.create_database()
    try:
        yield server.url(name)
    finally:
        server.drop_database(name)


@pytest.fixture
def store_env(db_url: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """`db_url` for tests that drive the CLI: BOT_DATABASE_URL points the commands at it
    (the SQLite variant is the default file, data/bot.db)."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{data_dir / 'bot.db'}"
    monkeypatch.setenv("BOT_DATABASE_URL", db_url)
    return db_url
