"""The product works from a checkout at any path (issue 11): one whose folders hold dots and
spaces, like a home folder `jane.doe` and a folder `my projects`.

The copy reuses this checkout's node_modules (a symlink: the packages hold no path of their
own) and this checkout's virtualenv: a virtualenv embeds its absolute path, so one for the copy
would take a fresh install of minutes. The copy's own code runs all the same: the interpreter is
started in the copy, which imports its `scripts` and `app` from there.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from web3 import Web3

from scripts import localchain, localipfs, toolchain
from scripts.services import LocalServices, free_port

ROOT = localchain.ROOT


def copy_checkout(destination):
    """The repository's files as they are in this working tree: tracked, and new but not ignored."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             cwd=ROOT, check=True, capture_output=True, text=True)
    for name in listing.stdout.split("\0"):
        source = ROOT / name
        if name and source.is_file():  # a tracked file may be deleted in the working tree
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)
    (destination / "node_modules").symlink_to(ROOT / "node_modules")


def test_the_contracts_deploy_from_a_checkout_whose_path_holds_dots_and_spaces(tmp_path):
    home = tmp_path / "jane.doe"
    checkout = home / "my projects" / "carechain"
    copy_checkout(checkout)
    # The copy's chain on a free port, so that it runs beside any other chain on this machine.
    ganache_json = checkout / "ganache.json"
    settings = json.loads(ganache_json.read_text())
    settings["server"]["port"] = free_port()
    ganache_json.write_text(json.dumps(settings))
    chain_settings = {**settings, "database": {"dbPath": str(tmp_path / "chain")}}
    services = LocalServices(chain_settings, localipfs.IpfsNode(repo=tmp_path / "ipfs"), tmp_path / "logs")

    # Jane's own brownie settings (networks generated from the copy's ganache.json); the solc
    # wrapper that `make setup` installed for this machine.
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("CARECHAIN_MANIFEST", "DEPLOYER_PRIVATE_KEY", "EXPECTED_CHAIN_ID", "PYTHONPATH")}
    environment.update(HOME=str(home), SOLCX_BINARY_PATH=str(Path.home() / ".solcx"))
    w3 = services.start_chain()
    try:
        # What `make run` does to deploy, with the copy's code.
        result = subprocess.run(
            [sys.executable, "-c", "from scripts import services, toolchain\n"
                                   "toolchain.configure_networks()\n"
                                   "services.deploy()"],
            cwd=checkout, env=environment, capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr

        manifest = json.loads((checkout / "deployments" / "1337.json").read_text())
        entry = manifest["contracts"]["CareChain"]
        code = w3.eth.get_code(entry["address"])
        assert code and Web3.keccak(code).hex() == entry["runtimeCodeHash"]
        # Built by the copy with brownie-config.yaml's compiler settings (shanghai, optimizer).
        built = json.loads((checkout / "build" / "contracts" / "CareChain.json").read_text())
        assert code == bytes.fromhex(built["deployedBytecode"])
        assert built["compiler"]["evm_version"] == "shanghai"
        assert built["compiler"]["optimizer"] == {"enabled": True, "runs": 10000}
    finally:
        services.stop()


def test_the_generated_networks_hold_no_checkout_path():
    """Brownie splits a network's command at spaces, and all checkouts of a user share the
    networks: the throw-away chain's command is relative to the checkout."""
    networks = toolchain.wanted_networks(localchain.load_settings())
    assert all(str(ROOT) not in value for network in networks.values() for value in network.values())
