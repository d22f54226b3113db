"""The library's tests run against a real Ganache chain and a real js-ipfs daemon that this test
run starts itself, on ports and data folders of its own (so `make run` may keep running), with
the contracts deployed by the real deploy script."""

from types import SimpleNamespace

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.flows import CareChain
from app.carechain.records import vital_sign
from scripts import localchain
from scripts.services import throwaway_stack

DAY = 86400
TEST_IPFS = dict(api_port=5102, gateway_port=9190, rpc_port=5103, swarm_port=4102)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    services, settings = throwaway_stack(tmp_path_factory.mktemp("services"), TEST_IPFS)
    yield services, settings
    services.stop()


@pytest.fixture(scope="session")
def services(stack):
    return stack[0]


@pytest.fixture(scope="session")
def carechain(stack):
    client = CareChain.connect(stack[1])
    yield client
    client.close()


@pytest.fixture(scope="session")
def people(carechain):
    """The admin (deployer) and registered providers: two hospitals, their doctors."""
    p = SimpleNamespace(**{name: localchain.dev_account(index) for index, name in enumerate(
        ["admin", "hospital", "other_hospital", "doctor", "colleague", "outsider"])})
    for hospital in (p.hospital, p.other_hospital):
        carechain.register_hospital(p.admin, hospital.address, crypto.public_key_of(hospital.key))
    for doctor, hospital in ((p.doctor, p.hospital), (p.colleague, p.hospital), (p.outsider, p.other_hospital)):
        carechain.register_doctor(p.admin, doctor.address, hospital.address, crypto.public_key_of(doctor.key))
    return p


@pytest.fixture
def new_patient(carechain, people):
    """A fresh registered patient per call, funded by the admin: tests share one chain."""
    def create():
        account = Account.create()
        carechain.fund(people.admin, account.address, 1)
        carechain.register_patient(account)
        return account
    return create


@pytest.fixture
def patient(new_patient):
    return new_patient()


def pulse(patient, value=72, at=None):
    return vital_sign(patient.address, "pulse", value, at)


def days_from_now(carechain, days):
    return carechain.now() + int(days * DAY)


def travel_to(carechain, second):
    """Mines a block at `second`: the chain's clock then reads it."""
    carechain.chain.w3.provider.make_request("evm_mine", [second])
