"""Deploys CareChain and, beside it, Research (de-identified research queries), and writes the deployment manifest the Python side reads.

    python -m scripts.toolchain run scripts/deploy.py --network carechain-local

(`brownie run scripts/deploy.py --network …` does the same, but only from a checkout whose path
holds no folder with a dot in its name.)

The deployer becomes the consortium admin. On the local chain it is Ganache's first account;
on any other network set DEPLOYER_PRIVATE_KEY (hex) to a funded key, and EXPECTED_CHAIN_ID to the
network's chain id, so a mistyped RPC address cannot deploy to the wrong chain. The manifest is
written to deployments/<chain id>.json, or to the path in CARECHAIN_MANIFEST.

On a development chain (no DEPLOYER_PRIVATE_KEY) every research dataset gets a policy at once:
LOCAL_BUDGET epsilon and a minimum cohort of LOCAL_MIN_COHORT; elsewhere the admin sets them.
"""

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import rlp
from brownie import CareChain, Research, accounts, chain, history, network, web3
from eth_utils import keccak, to_checksum_address

ROOT = Path(__file__).resolve().parent.parent
LOCAL_BUDGET = 10_000_000  # micro-epsilon per dataset: 10 epsilon
LOCAL_MIN_COHORT = 10


def manifest_path(chain_id: int) -> Path:
    return Path(os.environ.get("CARECHAIN_MANIFEST", ROOT / "deployments" / f"{chain_id}.json"))


def deployer():
    key = os.environ.get("DEPLOYER_PRIVATE_KEY")
    if key:
        return accounts.add(key)
    if len(accounts) == 0:
        raise SystemExit(
            f"network {network.show_active()} has no unlocked accounts: "
            "set DEPLOYER_PRIVATE_KEY to the hex private key of a funded account"
        )
    return accounts[0]


def entry(contract, container, tx) -> dict:
    return {
        "address": contract.address,
        "deployBlock": tx.block_number,
        "transactionHash": tx.txid,
        "runtimeCodeHash": web3.keccak(web3.eth.get_code(contract.address)).hex(),
        "abi": container.abi,  # the build's: brownie may attach an older saved deployment at this address
    }


def write_manifest(contract, tx, research, research_tx) -> Path:
    manifest = {
        "chainId": chain.id,
        "network": network.show_active(),
        "deployedAt": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "admin": contract.owner(),
        "contracts": {"CareChain": entry(contract, CareChain, tx), "Research": entry(research, Research, research_tx)},
    }
    path = manifest_path(chain.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path


def forget_stale_deployment(account) -> None:
    """brownie remembers the contracts it deployed per chain id (build/deployments), across chains
    that share the id, and refuses to deploy one kind of contract at an address it remembers for
    another kind: the same deployer's nonces give each chain the same addresses. Whatever it
    remembers at the address the next deployment of `account` gets is of another chain: forgotten."""
    nonce = web3.eth.get_transaction_count(account.address)
    address = to_checksum_address(keccak(rlp.encode([bytes.fromhex(account.address[2:]), nonce]))[12:])
    for container in (CareChain, Research):
        for contract in [contract for contract in container if contract.address == address]:
            container.remove(contract)


def check_chain_id() -> None:
    expected = os.environ.get("EXPECTED_CHAIN_ID")
    if expected and int(expected) != chain.id:
        raise SystemExit(f"network {network.show_active()} has chain id {chain.id}, not EXPECTED_CHAIN_ID {expected}")


def main():
    check_chain_id()
    account = deployer()
    forget_stale_deployment(account)
    contract = CareChain.deploy(account, {"from": account})
    # `contract.tx` is unset when brownie reuses a deployment map of this chain id; history is not.
    tx = history[-1]
    forget_stale_deployment(account)
    research = Research.deploy(contract, {"from": account})
    research_tx = history[-1]
    if not os.environ.get("DEPLOYER_PRIVATE_KEY"):
        for dataset in range(research.DATASET_COUNT()):
            research.setDatasetPolicy(dataset, LOCAL_BUDGET, LOCAL_MIN_COHORT, {"from": account})
    path = write_manifest(contract, tx, research, research_tx)
    print(f"CareChain deployed at {contract.address} on chain {chain.id}; admin {account.address}")
    print(f"Research deployed at {research.address}")
    print(f"manifest written to {path}")
    return contract
