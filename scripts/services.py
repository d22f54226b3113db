"""`make run`: starts the local services, deploys the contracts if needed, creates the demo
accounts, and serves the web app on 127.0.0.1 until Ctrl-C.

Ganache runs with the settings of ganache.json and the IPFS node with those of
scripts/localipfs.py; both keep their data in the data folder, so the chain, the contracts on it
and the stored records survive restarts. Ctrl-C (or SIGTERM) stops everything this started.
The tests start their own instances, on other ports and data folders, through `LocalServices`.
"""

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from web3 import Web3

from app import create_app
from app.carechain.errors import CareChainError
from app.carechain.settings import Settings
from scripts import custodian, demo, localchain, localipfs, steward
from scripts.serve import check_deployment, serve

ROOT = localchain.ROOT
BUILD = ROOT / "build" / "contracts"


class ServiceError(RuntimeError):
    pass


class LocalServices:
    """The chain and the IPFS node as child processes, each with its log in `log_dir`."""

    def __init__(self, chain_settings: dict, ipfs_node: localipfs.IpfsNode, log_dir: Path):
        self.chain_settings = chain_settings
        self.ipfs_node = ipfs_node
        self.log_dir = log_dir
        self.chain: subprocess.Popen | None = None
        self.ipfs: subprocess.Popen | None = None

    @property
    def rpc_url(self) -> str:
        return localchain.rpc_url(self.chain_settings)

    def start_chain(self, timeout: float = 30) -> Web3:
        url = self.rpc_url
        if Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected():
            raise ServiceError(f"something already answers at {url}: stop it, or change server.port in ganache.json")
        Path(self.chain_settings["database"]["dbPath"]).mkdir(parents=True, exist_ok=True)
        self.chain = subprocess.Popen(
            [str(localchain.GANACHE_BIN), *localchain.cli_args(self.chain_settings)],
            stdin=subprocess.DEVNULL,
            stdout=self._log("ganache"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches it through our handler, once
        )
        w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5}))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.chain.poll() is not None:
                raise ServiceError(f"ganache exited with code {self.chain.returncode}; see {self.log_dir / 'ganache.log'}")
            if w3.is_connected():
                return w3
            time.sleep(0.2)
        raise ServiceError(f"ganache did not answer at {url} within {timeout:.0f} s")

    def start_ipfs(self) -> None:
        try:
            self.ipfs = localipfs.start(self.ipfs_node, self._log("ipfs"))
            localipfs.wait_ready(self.ipfs_node, self.ipfs)
        except (RuntimeError, subprocess.CalledProcessError) as error:
            raise ServiceError(f"{error}; see {self.log_dir / 'ipfs.log'}") from error

    def stop_chain(self) -> None:
        self.chain = _stop(self.chain)

    def stop_ipfs(self) -> None:
        self.ipfs = _stop(self.ipfs)

    def stop(self) -> None:
        self.stop_ipfs()
        self.stop_chain()

    def _log(self, name: str):
        self.log_dir.mkdir(parents=True, exist_ok=True)
        return open(self.log_dir / f"{name}.log", "ab")


def _stop(process: subprocess.Popen | None) -> None:
    """SIGINT lets ganache close its database and js-ipfs release its repository lock cleanly."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def deployed_manifest(w3: Web3, chain_id: int) -> dict | None:
    """The manifest of this chain if each contract of the build (CareChain, Research) is on chain
    at the address it names, with the code just built; a manifest from before Research: None."""
    path = ROOT / "deployments" / f"{chain_id}.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    for name in ("CareChain", "Research"):
        entry = manifest["contracts"].get(name)
        if entry is None:
            return None
        built = json.loads((BUILD / f"{name}.json").read_text())["deployedBytecode"]
        on_chain = w3.eth.get_code(entry["address"])
        if not on_chain or on_chain != bytes.fromhex(built.removeprefix("0x")):
            return None
    return manifest


def deploy(network: str = "carechain-local", environment: dict | None = None) -> None:
    """Runs scripts/deploy.py on `network` (through scripts.toolchain: `brownie run` fails in a
    checkout whose path holds a dot), in a process of its own, since brownie keeps global state."""
    result = subprocess.run(
        [sys.executable, "-m", "scripts.toolchain", "run", "scripts/deploy.py", "--network", network],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=environment,
    )
    if result.returncode != 0:
        raise ServiceError(f"deployment failed:\n{result.stdout}{result.stderr}")


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def throwaway_stack(root: Path, ipfs_ports: dict):
    """A chain and IPFS node of their own under `root`, with the contracts deployed by the real
    deploy script, for the end-to-end tests and the benchmarks. Returns (services, settings);
    call `services.stop()` when done."""

    chain = localchain.e2e_settings(localchain.load_settings(), root / "chain")
    services = LocalServices(chain, localipfs.IpfsNode(repo=root / "ipfs", **ipfs_ports), root / "logs")
    try:
        services.start_chain()
        services.start_ipfs()
        manifest = root / "deployment.json"
        deploy("carechain-e2e", {**os.environ, "CARECHAIN_MANIFEST": str(manifest)})
    except BaseException:
        services.stop()
        raise
    settings = Settings(rpc_url=services.rpc_url, manifest=manifest, ipfs_api=services.ipfs_node.api_multiaddr,
                        keystores=root / "keystores", directory=root / "providers.json")
    return services, settings


def start_simulator(port: int) -> subprocess.Popen | None:
    """`make run SIMULATE=1`: scripts/simulate_devices.py posting to this web app, with the arguments
    CARECHAIN_DEVICE_SIMULATOR holds (unset: no simulator); its output shares this terminal."""
    arguments = os.environ.get("CARECHAIN_DEVICE_SIMULATOR")
    if arguments is None:
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.simulate_devices", "--url", f"http://127.0.0.1:{port}", *shlex.split(arguments)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,  # Ctrl-C reaches it through _stop, once, before the web app closes
    )


def main() -> int:
    settings = localchain.load_settings()
    services = LocalServices(settings, localipfs.IpfsNode(), ROOT / "data" / "logs")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        w3 = services.start_chain()
        services.start_ipfs()
        chain_id = localchain.chain_id(settings)
        manifest = deployed_manifest(w3, chain_id)
        if manifest is None:
            print("deploying contracts (scripts/deploy.py on carechain-local) ...")
            deploy()
            manifest = deployed_manifest(w3, chain_id)
            if manifest is None:
                raise ServiceError("the deployment finished but its contract is not on chain")
            state = "deployed now"
        else:
            state = "already deployed"
        contract = manifest["contracts"]["CareChain"]
        node = services.ipfs_node
        print("creating the demo accounts (first start only) ...", flush=True)
        app_settings = Settings.from_environment()
        check_deployment(app_settings)
        logins = demo.ensure(app_settings)
        port = int(os.environ.get("CARECHAIN_WEB_PORT", 5000))
        server = serve(create_app({"CARECHAIN": app_settings, "FAUCET_KEY": demo.faucet_key()}), "127.0.0.1", port)
        print(
            f"\nCareChain is running\n"
            f"  chain     {services.rpc_url}  (chain id {chain_id}, data {settings['database']['dbPath']})\n"
            f"  ipfs      {node.api_multiaddr}  (offline, loopback only, data {node.repo})\n"
            f"  contract  CareChain at {contract['address']}  ({state}, block {contract['deployBlock']})\n"
            f"  admin     {manifest['admin']}\n"
            f"  manifest  {ROOT / 'deployments' / f'{chain_id}.json'}\n"
            f"  logs      {services.log_dir}\n"
            f"\n  web app   http://127.0.0.1:{port}/\n\n"
            f"Demo logins (password for all: {demo.PASSWORD}):\n"
            + "".join(f"  {label:<10} {address}  {name}\n" for label, name, address in logins)
            + "Press Ctrl-C to stop.",
            flush=True,
        )
        simulator = start_simulator(port)
        custodians = custodian.start_demo(app_settings)  # the demo hospitals release break-glass shares
        research_steward = steward.start_demo(app_settings)  # answers research queries
        try:
            while services.chain.poll() is None and services.ipfs.poll() is None:
                time.sleep(0.5)
        finally:
            custodians.set()
            research_steward.set()
            _stop(simulator)
            server.close()
        raise ServiceError(f"a service exited; see the logs in {services.log_dir}")
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except (ServiceError, CareChainError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        services.stop()


if __name__ == "__main__":
    sys.exit(main())
