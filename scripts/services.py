"""`make run`: starts the local services, deploys the contracts if needed, and waits.

Ganache runs with the settings of ganache.json and keeps its database in the data folder, so
the chain and the contracts on it survive restarts. Ctrl-C (or SIGTERM) stops everything this
started.
"""

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

from web3 import Web3

from scripts import localchain

ROOT = localchain.ROOT
LOG_DIR = ROOT / "data" / "logs"
BUILD_ARTIFACT = ROOT / "build" / "contracts" / "CareChain.json"


class ServiceError(RuntimeError):
    pass


def wait_for_chain(url: str, process: subprocess.Popen, timeout: float = 30) -> Web3:
    w3 = Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 5}))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServiceError(f"ganache exited with code {process.returncode}; see {LOG_DIR / 'ganache.log'}")
        if w3.is_connected():
            return w3
        time.sleep(0.2)
    raise ServiceError(f"ganache did not answer at {url} within {timeout:.0f} s")


def start_ganache(settings: dict) -> subprocess.Popen:
    url = localchain.rpc_url(settings)
    if Web3(Web3.HTTPProvider(url, request_kwargs={"timeout": 2})).is_connected():
        raise ServiceError(f"something already answers at {url}: stop it, or change server.port in ganache.json")
    Path(settings["database"]["dbPath"]).mkdir(parents=True, exist_ok=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = open(LOG_DIR / "ganache.log", "ab")
    return subprocess.Popen(
        [str(localchain.GANACHE_BIN), *localchain.cli_args(settings)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches it through our handler, once
    )


def deployed_manifest(w3: Web3, chain_id: int) -> dict | None:
    """The manifest of this chain if the contract it names is on chain with the code just built."""
    path = ROOT / "deployments" / f"{chain_id}.json"
    if not path.exists():
        return None
    manifest = json.loads(path.read_text())
    address = manifest["contracts"]["CareChain"]["address"]
    built = json.loads(BUILD_ARTIFACT.read_text())["deployedBytecode"]
    on_chain = w3.eth.get_code(address)
    return manifest if on_chain and on_chain == bytes.fromhex(built.removeprefix("0x")) else None


def deploy() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "brownie"), "run", "scripts/deploy.py", "--network", "carechain-local"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise ServiceError(f"deployment failed:\n{result.stdout}{result.stderr}")


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)  # lets ganache close its database cleanly
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    settings = localchain.load_settings()
    processes: list[subprocess.Popen] = []
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        ganache = start_ganache(settings)
        processes.append(ganache)
        url = localchain.rpc_url(settings)
        w3 = wait_for_chain(url, ganache)
        chain_id = localchain.chain_id(settings)
        manifest = deployed_manifest(w3, chain_id)
        if manifest is None:
            print("deploying contracts with `brownie run scripts/deploy.py --network carechain-local` ...")
            deploy()
            manifest = deployed_manifest(w3, chain_id)
            if manifest is None:
                raise ServiceError("the deployment finished but its contract is not on chain")
            state = "deployed now"
        else:
            state = "already deployed"
        contract = manifest["contracts"]["CareChain"]
        print(
            f"\nCareChain is running\n"
            f"  chain     {url}  (chain id {chain_id}, ganache pid {ganache.pid}, data {settings['database']['dbPath']})\n"
            f"  contract  CareChain at {contract['address']}  ({state}, block {contract['deployBlock']})\n"
            f"  admin     {manifest['admin']}\n"
            f"  manifest  {ROOT / 'deployments' / f'{chain_id}.json'}\n"
            f"  logs      {LOG_DIR}\n"
            f"Press Ctrl-C to stop.",
            flush=True,
        )
        while ganache.poll() is None:
            time.sleep(0.5)
        raise ServiceError(f"ganache exited with code {ganache.returncode}; see {LOG_DIR / 'ganache.log'}")
    except KeyboardInterrupt:
        print("\nstopping ...", flush=True)
        return 0
    except ServiceError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        stop(processes)


if __name__ == "__main__":
    sys.exit(main())
