"""Tables never cut ids, CIDs or prices: folded in a narrow terminal, one full line per row
when piped, and complete in --json."""

from __future__ import annotations

import fcntl
import io
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from decimal import Decimal
from pathlib import Path

from rich.console import Console

from bot.cli.output import new_table, print_table
from storage.db import make_engine, session_scope
from storage.models.market import Bid
from tests.bot.cli_subprocess import REPO, run_bot

CID = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"
ORDER = "0x" + "9f3c" * 16
MAKER = "0x" + "ab12" * 10
PRICE = "0.123456789012345678"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def _column(output: str, header: str) -> str:
    """The text of one column of a one-row rich table, folded lines joined."""
    lines = output.splitlines()
    head = next(line for line in lines if "┃" in line and header in line)
    index = [cell.strip() for cell in head.split("┃")].index(header)
    start = next(i for i, line in enumerate(lines) if line.startswith("┡"))
    body = [line for line in lines[start + 1 :] if line.startswith("│")]
    return "".join(line.split("│")[index].strip() for line in body)


def _sample_table() -> object:
    table = new_table("artwork", "cid", "price", "note", title="pins")
    table.add_row("7", CID, PRICE, "a note long enough to need wrapping in a narrow terminal")
    return table


def test_narrow_terminal_folds_instead_of_cutting() -> None:
    out = io.StringIO()
    print_table(
        _sample_table(), Console(file=out, width=40, force_terminal=True, color_system=None)
    )  # type: ignore[arg-type]
    text = out.getvalue()
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 40
    assert _column(text, "cid") == CID
    assert _column(text, "price") == PRICE


def test_not_a_terminal_prints_each_row_whole_on_one_line() -> None:
    out = io.StringIO()
    print_table(_sample_table(), Console(file=out, width=40))  # type: ignore[arg-type]
    row = next(line for line in out.getvalue().splitlines() if line.startswith("│ 7"))
    assert CID in row and PRICE in row and "narrow terminal" in row


def _seed_bid(data_dir: Path) -> None:
    engine = make_engine(f"sqlite:///{data_dir / 'bot.db'}")
    with session_scope(engine) as session:
        session.add(
            Bid(
                order_id=ORDER, item_id="0xe10605b2026884acc669c2a9cd4a5ec5f5fff494:42",
                maker=MAKER, currency="ETH", currency_symbol="ETH", price=Decimal(PRICE),
                make_value=Decimal(PRICE), take_value=Decimal(1), status="ACTIVE",
                mode="dry-run",
            )
        )  # fmt: skip
    engine.dispose()


def test_bids_piped_and_json_are_complete(tmp_path: Path) -> None:
    _seed_bid(tmp_path / "data")
    env = {"BOT_DATA_DIR": "data", "COLUMNS": "60"}
    piped = run_bot("bids", "list", cwd=tmp_path, env=env)
    assert piped.returncode == 0, piped.stderr
    row = next(line for line in piped.stdout.splitlines() if ORDER in line)
    assert MAKER in row and PRICE in row
    listed = json.loads(run_bot("bids", "list", "--json", cwd=tmp_path, env=env).stdout)
    assert (listed[0]["order_id"], listed[0]["maker"], listed[0]["price"]) == (ORDER, MAKER, PRICE)


def test_bids_in_a_narrow_terminal_are_folded_whole(tmp_path: Path) -> None:
    _seed_bid(tmp_path / "data")
    text = _run_in_terminal(["bids", "list"], columns=60, cwd=tmp_path)
    assert "…" not in text
    table = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert max(len(line) for line in table) <= 60, text
    assert _column(text, "order") == ORDER
    assert _column(text, "maker") == MAKER
    assert _column(text, "price") == PRICE


def _run_in_terminal(args: list[str], *, columns: int, cwd: Path) -> str:
    """`bot ARGS` on a pseudo-terminal `columns` wide; the screen text without colours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    env.pop("COLUMNS", None)
    env.update({"PYTHONPATH": str(REPO), "BOT_DATA_DIR": "data", "TERM": "xterm"})
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, columns, 0, 0))
    code = "import sys; sys.argv[0] = 'bot'; from bot.cli.app import main; main()"
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env,
        stdin=slave, stdout=slave, stderr=slave, close_fds=True,
    )  # fmt: skip
    os.close(slave)
    chunks = []
    try:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the program closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
        os.close(master)
    return ANSI.sub("", b"".join(chunks).decode())
