"""The local IPFS node: a js-ipfs daemon (npm `ipfs`, from the committed lock) on loopback only,
offline and with preload off, so nothing leaves the machine. Its repository lives in the
git-ignored data folder, so records and pins survive restarts.

The Python side only speaks the standard /api/v0 RPC to `api_multiaddr`, so a kubo node or an
IPFS Cluster proxy can replace this daemon (see app.carechain.settings).
"""

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from app.carechain.settings import LOCAL_IPFS_API_PORT, ROOT

JSIPFS_BIN = ROOT / "node_modules" / ".bin" / "jsipfs"


@dataclass(frozen=True)
class IpfsNode:
    """Where a local node keeps its repository and which loopback ports it listens on."""

    repo: Path = ROOT / "data" / "ipfs"
    api_port: int = LOCAL_IPFS_API_PORT
    gateway_port: int = 9090
    rpc_port: int = 5003
    swarm_port: int = 4002

    @property
    def api_multiaddr(self) -> str:
        return f"/ip4/127.0.0.1/tcp/{self.api_port}/http"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}/api/v0"

    def environment(self) -> dict:
        return {**os.environ, "IPFS_PATH": str(self.repo)}


def answers(node: IpfsNode, timeout: float = 2) -> bool:
    """Whether an IPFS API answers on the node's port (the API takes POST only)."""
    try:
        with urllib.request.urlopen(urllib.request.Request(f"{node.api_url}/id", method="POST"), timeout=timeout):
            return True
    except (urllib.error.URLError, OSError):
        return False


def init_repo(node: IpfsNode) -> None:
    """Creates the repository on first use, then (re)applies the loopback-and-offline settings."""
    if not (node.repo / "config").exists():
        node.repo.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [str(JSIPFS_BIN), "init", "--empty-repo"],
            env=node.environment(),
            check=True,
            capture_output=True,
        )
    configure(node)


def configure(node: IpfsNode) -> None:
    """Binds every listener to 127.0.0.1 on the node's ports and turns off every way of reaching
    other peers (bootstrap list, delegates, MDNS, webRTC-star)."""
    path = node.repo / "config"
    config = json.loads(path.read_text())
    config["Addresses"].update(
        Swarm=[f"/ip4/127.0.0.1/tcp/{node.swarm_port}"],
        API=f"/ip4/127.0.0.1/tcp/{node.api_port}",
        Gateway=f"/ip4/127.0.0.1/tcp/{node.gateway_port}",
        RPC=f"/ip4/127.0.0.1/tcp/{node.rpc_port}",
        Delegates=[],
    )
    config["Bootstrap"] = []
    config["Discovery"] = {"MDNS": {"Enabled": False}, "webRTCStar": {"Enabled": False}}
    config.setdefault("Swarm", {})["DisableNatPortMap"] = True
    path.write_text(json.dumps(config, indent=2))


def clear_stale_lock(node: IpfsNode) -> bool:
    """Removes the lock a killed daemon left behind; only when no daemon answers, so a running
    node is never unlocked under its feet. Returns whether a lock was removed."""
    lock = node.repo / "repo.lock"
    if not lock.exists() or answers(node):
        return False
    shutil.rmtree(lock) if lock.is_dir() else lock.unlink()
    (node.repo / "api").unlink(missing_ok=True)
    return True


def start(node: IpfsNode, log) -> subprocess.Popen:
    """Starts the daemon (init, settings and stale lock handled first); wait with `wait_ready`."""
    if answers(node):
        raise RuntimeError(f"an IPFS API already answers on port {node.api_port}: stop it, or use another port")
    init_repo(node)
    clear_stale_lock(node)
    return subprocess.Popen(
        [str(JSIPFS_BIN), "daemon", "--offline", "--enable-preload=false"],
        env=node.environment(),
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_ready(node: IpfsNode, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the IPFS daemon exited with code {process.returncode}")
        if answers(node, timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"the IPFS daemon did not answer on port {node.api_port} within {timeout:.0f} s")
