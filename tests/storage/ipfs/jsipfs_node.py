"""Start and stop the offline js-ipfs test node (installed by scripts/install_test_deps.sh).

js-ipfs 0.66.1 serves a kubo-compatible RPC API. It runs with the `test` profile (every
address on 127.0.0.1 with port 0, no bootstrap, no MDNS) and `--offline`, in its own process
group, and is stopped by its PID and process group.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[3]
TOOL_DIR = REPO_ROOT / ".test-tools" / "ipfs"
JSIPFS = TOOL_DIR / "node_modules" / ".bin" / "jsipfs"
POLYFILL = TOOL_DIR / "polyfill.cjs"


@dataclass
class JsIpfsNode:
    process: subprocess.Popen[bytes]
    api_url: str
    repo: Path
    log: Path
    gateway_url: str = ""  # its read-only HTTP gateway, `<gateway_url>/ipfs/<cid>`

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _env(repo: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["IPFS_PATH"] = str(repo)
    env["NODE_OPTIONS"] = f"--require {POLYFILL}"
    return env


def start_node(workdir: Path, *, timeout_s: float = 60.0) -> JsIpfsNode:
    if not JSIPFS.exists():
        raise RuntimeError(
            f"js-ipfs is not installed at {JSIPFS}; run `bash scripts/install_test_deps.sh`"
        )
    repo = workdir / "repo"
    env = _env(repo)
    subprocess.run(
        [str(JSIPFS), "init", "--profile", "test"],
        env=env,
        check=True,
        capture_output=True,
        timeout=120,
    )
    # The test profile leaves the gRPC address on a fixed port; use a free one instead.
    config_path = repo / "config"
    config = json.loads(config_path.read_text())
    config.setdefault("Addresses", {})["RPC"] = "/ip4/127.0.0.1/tcp/0"
    config["Addresses"]["API"] = "/ip4/127.0.0.1/tcp/0"
    config["Addresses"]["Gateway"] = "/ip4/127.0.0.1/tcp/0"
    config_path.write_text(json.dumps(config))
    log = workdir / "daemon.log"
    with open(log, "wb") as log_handle:
        process = subprocess.Popen(
            [str(JSIPFS), "daemon", "--offline", "--enable-preload=false"],
            env=env,
            stdout=log_handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    node = JsIpfsNode(process, "", repo, log)
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"js-ipfs exited early: {log.read_text()[-2000:]}")
            api_file = repo / "api"
            if api_file.is_file():
                parts = api_file.read_text().strip().split("/")  # /ip4/127.0.0.1/tcp/PORT/http
                node.api_url = f"http://{parts[2]}:{parts[4]}"
                gateway = re.search(
                    r"Gateway \(read only\) listening on /ip4/([\d.]+)/tcp/(\d+)/http",
                    log.read_text(),
                )
                if gateway:
                    node.gateway_url = f"http://{gateway[1]}:{gateway[2]}"
                try:
                    ready = requests.post(f"{node.api_url}/api/v0/version", timeout=2).ok
                    if ready and node.gateway_url:
                        return node
                except requests.ConnectionError:
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"js-ipfs API not ready in {timeout_s}s: {log.read_text()[-2000:]}")
    except BaseException:
        node.stop()
        raise
