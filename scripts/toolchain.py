"""Registers the project's toolchain with brownie; idempotent, run by `make setup`.

    python -m scripts.toolchain                                           (make setup)
    python -m scripts.toolchain run scripts/deploy.py --network NETWORK   (brownie run, for any path)

1. The offline `solc`: a wrapper over solcjs (scripts/solc.js) placed where py-solc-x looks
   for installed compilers, and on the virtualenv's PATH for tools that call `solc` directly.
2. Three brownie networks generated from ganache.json:
   - carechain-local: the chain `make run` starts (brownie attaches to it, deploys, runs scripts);
   - carechain-test: a throw-away in-memory Ganache that `brownie test` launches itself;
   - carechain-e2e: the chain the library and web tests start themselves (tests/services.py).
3. `run`: what `brownie run` does, from a checkout at any path. `brownie run` imports a script
   under a module name made of every folder of its absolute path, so a folder whose name holds a
   dot (a home folder `jane.doe`) makes it fail; here the script is imported as `scripts.NAME`.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import brownie
import yaml

from scripts import localchain

ROOT = localchain.ROOT
SOLC_JS = ROOT / "scripts" / "solc.js"
BROWNIE_NETWORKS = Path.home() / ".brownie" / "network-config.yaml"


def solc_version() -> str:
    package = json.loads((ROOT / "node_modules" / "solc" / "package.json").read_text())
    return package["version"]


def install_solc() -> None:
    wrapper = f'#!/bin/sh\nexec node "{SOLC_JS}" "$@"\n'
    solcx_folder = Path(os.environ.get("SOLCX_BINARY_PATH", Path.home() / ".solcx"))
    venv_bin = Path(sys.executable).parent
    # The venv's `solc` replaces the shim of solc-select (installed with slither), which would
    # try to download compilers.
    for target in (solcx_folder / f"solc-v{solc_version()}", venv_bin / "solc"):
        if target.exists() and target.read_text() == wrapper:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(wrapper)
        target.chmod(0o755)
        print(f"installed solc wrapper: {target}")


def wanted_networks(settings: dict) -> dict[str, dict]:
    chain, wallet = settings["chain"], settings["wallet"]
    port = int(settings.get("server", {}).get("port", 8545)) + localchain.TEST_PORT_OFFSET
    e2e = localchain.e2e_settings(settings, settings["database"]["dbPath"])
    return {
        "carechain-local": {
            "environment": "Ethereum",
            "name": "CareChain local Ganache (make run)",
            "host": localchain.rpc_url(settings),
            "chainid": str(localchain.chain_id(settings)),
        },
        "carechain-e2e": {
            "environment": "Ethereum",
            "name": "CareChain end-to-end test Ganache (started by the tests)",
            "host": localchain.rpc_url(e2e),
            "chainid": str(localchain.chain_id(settings)),
        },
        "carechain-test": {
            "environment": "Development",
            "name": "CareChain throw-away Ganache (brownie test)",
            "host": "http://127.0.0.1",
            # Relative to the checkout, where brownie runs: brownie splits this command at spaces,
            # and every checkout of this user shares the network settings.
            "cmd": f"{localchain.GANACHE_BIN.relative_to(ROOT)} --logging.quiet",
            "port": str(port),
            "chain_id": str(chain["chainId"]),
            "network_id": str(chain.get("networkId", chain["chainId"])),
            "evm_version": chain["hardfork"],
            "gas_limit": str(settings["miner"]["blockGasLimit"]),
            "accounts": str(wallet["totalAccounts"]),
            "mnemonic": wallet["mnemonic"],
            "default_balance": str(wallet["defaultBalance"]),
        },
    }


def existing_network(network_id: str) -> dict | None:
    if not BROWNIE_NETWORKS.exists():
        return None
    config = yaml.safe_load(BROWNIE_NETWORKS.read_text()) or {}
    for group in config.get("live", []) + config.get("development", []):
        for network in group.get("networks", [group]):
            if network.get("id") == network_id:
                flat = {k: str(v) for k, v in network.items() if k not in ("id", "cmd_settings")}
                flat.update({k: str(v) for k, v in (network.get("cmd_settings") or {}).items()})
                flat["environment"] = group.get("name", "Development")
                return flat
    return None


def configure_networks() -> None:
    brownie = [str(Path(sys.executable).parent / "brownie")]
    for network_id, wanted in wanted_networks(localchain.load_settings()).items():
        current = existing_network(network_id)
        if current is not None and all(current.get(k) == v for k, v in wanted.items() if k != "environment"):
            continue
        if current is not None:
            subprocess.run(brownie + ["networks", "delete", network_id], check=True, capture_output=True)
        options = [f"{k}={v}" for k, v in wanted.items() if k != "environment"]
        subprocess.run(
            brownie + ["networks", "add", wanted["environment"], network_id, *options],
            check=True,
            capture_output=True,
        )
        print(f"configured brownie network {network_id}")


def run(script: Path, network_name: str, function: str = "main"):
    """Calls `function` of the brownie script `script` (a file under ROOT) connected to
    `network_name`, as `brownie run` does, and returns its result."""
    module_name = ".".join(script.resolve().relative_to(ROOT).with_suffix("").parts)
    # load() compiles what changed with brownie-config.yaml's compiler section but ignores the rest
    # of the file (gas_price: auto) until load_config(); as in `brownie run`, the contracts then
    # join the brownie namespace, for `from brownie import CareChain`.
    carechain = brownie.project.load(ROOT)
    carechain.load_config()
    carechain._add_to_main_namespace()
    brownie.network.connect(network_name)
    try:
        return getattr(importlib.import_module(module_name), function)()
    finally:
        brownie.network.disconnect()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command")
    run_command = commands.add_parser("run", help="run a brownie script's main() on a network")
    run_command.add_argument("script", type=Path)
    run_command.add_argument("--network", required=True)
    arguments = parser.parse_args()
    if arguments.command == "run":
        run(arguments.script, arguments.network)
    else:
        install_solc()
        configure_networks()


if __name__ == "__main__":
    main()
