"""Run the real `bot` entry point in a fresh interpreter: for start-up imports (`-X
importtime`), completion, and installs without an extra (modules made unimportable)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# A meta path finder in front of every other one makes the named top-level modules
# unimportable, as on an install without them: `import torch` raises ModuleNotFoundError and
# `importlib.util.find_spec("torch")` fails too. Then the CLI's own entry point runs.
_LAUNCHER = """
import sys

class _Blocked:
    def __init__(self, names):
        self.names = names

    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in self.names:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

blocked = {name for name in sys.argv.pop(1).split(",") if name}
if blocked:
    sys.meta_path.insert(0, _Blocked(blocked))
sys.argv[0] = "bot"
from bot.cli.app import main
main()
"""


def run_bot(
    *args: str,
    cwd: Path,
    blocked: Iterable[str] = (),
    importtime: bool = False,
    env: dict[str, str] | None = None,
    timeout: float = 120,
    from_shell: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`bot ARGS` in a new interpreter with this checkout first on the path; `from_shell`:
    started by that shell (as typed at its prompt), which then is the command's parent."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("BOT_")}
    full_env["PYTHONPATH"] = str(REPO)
    full_env.update(env or {})
    command = [sys.executable]
    if importtime:
        command += ["-X", "importtime"]
    command += ["-c", _LAUNCHER, ",".join(blocked), *args]
    if from_shell:  # the shell stays the parent: a lone command would be exec'd in its place
        command = [from_shell, "-c", '"$@"; exit $?', from_shell, *command]
    return subprocess.run(
        command, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def imported_modules(importtime_log: str) -> set[str]:
    """Module names from a `python -X importtime` log (stderr)."""
    modules = set()
    for line in importtime_log.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "imported package":  # the header line
                modules.add(name)
    return modules
