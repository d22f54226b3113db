"""scripts/deploy.py deploys CareChain with the deployer as admin, and Research beside it, and
writes a manifest holding everything the Python side needs to find and verify the contracts."""

import json

import pytest

from brownie import Research, chain, history, web3
from scripts import deploy


def test_deploy_writes_manifest(people, tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    monkeypatch.setenv("CARECHAIN_MANIFEST", str(path))
    contract = deploy.main()

    manifest = json.loads(path.read_text())
    entry = manifest["contracts"]["CareChain"]
    assert manifest["chainId"] == chain.id == 1337
    assert manifest["admin"] == contract.owner() == people.admin
    assert entry["address"] == contract.address
    assert entry["deployBlock"] == contract.tx.block_number
    assert entry["runtimeCodeHash"] == web3.keccak(web3.eth.get_code(contract.address)).hex()
    assert {item["name"] for item in entry["abi"] if item["type"] == "function"} >= {
        "registerPatient", "grantAccess", "addRecord", "logRead", "disputeRecord", "canAccess",
    }


def test_deployer_key_comes_from_the_environment(tmp_path, monkeypatch):
    key = "0x" + "11" * 32
    monkeypatch.setenv("DEPLOYER_PRIVATE_KEY", key)
    account = deploy.deployer()
    assert account.private_key == key


def test_a_deployment_to_an_unexpected_chain_id_stops_before_sending(tmp_path, monkeypatch):
    monkeypatch.setenv("CARECHAIN_MANIFEST", str(tmp_path / "manifest.json"))
    monkeypatch.setenv("EXPECTED_CHAIN_ID", "4242")
    sent = len(history)
    with pytest.raises(SystemExit, match="has chain id 1337, not EXPECTED_CHAIN_ID 4242"):
        deploy.main()
    assert len(history) == sent and not (tmp_path / "manifest.json").exists()


def test_deploy_puts_research_beside_carechain_with_local_policies(tmp_path, monkeypatch):
    path = tmp_path / "manifest.json"
    monkeypatch.setenv("CARECHAIN_MANIFEST", str(path))
    contract = deploy.main()

    entry = json.loads(path.read_text())["contracts"]["Research"]
    research = Research.at(entry["address"])
    assert research.care() == contract.address
    assert entry["runtimeCodeHash"] == web3.keccak(web3.eth.get_code(research.address)).hex()
    assert {item["name"] for item in entry["abi"] if item["type"] == "function"} >= {"submitQuery", "setContribution"}
    for dataset in range(4):
        assert tuple(research.datasetOf(dataset)) == (deploy.LOCAL_BUDGET, 0, deploy.LOCAL_MIN_COHORT)
