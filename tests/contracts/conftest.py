"""Fixtures for the contract tests: one deployment per module, every test isolated by brownie's
chain snapshots, and named participants drawn from Ganache's deterministic accounts."""

from types import SimpleNamespace

import eth_abi
import pytest
from brownie import CareChain, accounts, chain
from brownie.exceptions import decode_typed_error
from eth_utils import function_signature_to_4byte_selector

from scripts import localchain

# Category numbers used by the tests (the product's names for them live in the Python library).
VITALS, LABS, CONDITIONS, MEDICATIONS = 0, 1, 2, 3
DAY = 86400
NONE = bytes(32)  # "no digest"


def public_key(account) -> bytes:
    """The 64-byte uncompressed secp256k1 public key of a Ganache account."""
    index = [a.address for a in accounts].index(account.address)
    return localchain.public_key(localchain.dev_account(index))


def mask(*categories: int) -> int:
    return sum(1 << c for c in categories)


def digest(label: str) -> bytes:
    """A stand-in for a CID's sha2-256 digest."""
    from hashlib import sha256

    return sha256(label.encode()).digest()


def typed_error(name: str, *args) -> str:
    """The revert message brownie gives for CareChain's custom error `name` with `args`."""
    (error,) = [item for item in CareChain.abi if item["type"] == "error" and item["name"] == name]
    types = [i["type"] for i in error["inputs"]]
    values = [str(a) if hasattr(a, "address") else a for a in args]
    selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
    return decode_typed_error("0x" + (selector + eth_abi.encode(types, values)).hex())


def at_time(timestamp: int) -> None:
    """Makes the next transaction land in a block with exactly this timestamp (and calls run at
    timestamp - 1, the latest block). Ganache's clock moves with wall time, so callers send the
    transaction right away and check tx.timestamp."""
    chain.mine(timestamp=timestamp - 1)


@pytest.fixture(autouse=True)
def isolate(fn_isolation):
    pass


@pytest.fixture(scope="module")
def people():
    names = "admin hospital other_hospital doctor colleague outsider patient other_patient stranger".split()
    return SimpleNamespace(**dict(zip(names, accounts)))


@pytest.fixture(scope="module")
def carechain(people):
    """A fresh deployment with nobody registered."""
    return CareChain.deploy(people.admin, {"from": people.admin})


@pytest.fixture(scope="module")
def registered(people):
    """A deployment of its own with two hospitals, three doctors and two patients registered:
    doctor and colleague work at hospital; outsider works at other_hospital."""
    p = people
    carechain = CareChain.deploy(p.admin, {"from": p.admin})
    carechain.registerHospital(p.hospital, public_key(p.hospital), {"from": p.admin})
    carechain.registerHospital(p.other_hospital, public_key(p.other_hospital), {"from": p.admin})
    for doctor, hospital in ((p.doctor, p.hospital), (p.colleague, p.hospital), (p.outsider, p.other_hospital)):
        carechain.registerDoctor(doctor, hospital, public_key(doctor), {"from": p.admin})
    for patient in (p.patient, p.other_patient):
        carechain.registerPatient(public_key(patient), {"from": patient})
    return carechain


def grant(carechain, patient, grantee, categories, can_write=False, duration=30 * DAY):
    expires_at = chain.time() + duration
    return carechain.grantAccess(grantee, categories, can_write, expires_at, NONE, {"from": patient})
