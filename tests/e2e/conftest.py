"""The Python tests (library, web, browser) run against a real Ganache chain and a real js-ipfs
daemon that this test run starts itself, on ports and data folders of its own (so `make run` may
keep running), with the contracts deployed by the real deploy script."""

from types import SimpleNamespace

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.flows import CareChain
from scripts import localchain
from scripts.services import throwaway_stack

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


PROVIDERS = [  # attribute of `people`, name, role, attribute of the hospital
    ("hospital", "St. Mary's Hospital", "hospital", None),
    ("other_hospital", "Riverside Clinic", "hospital", None),
    ("doctor", "Dr. Alice Chen", "doctor", "hospital"),
    ("colleague", "Dr. Bob Okafor", "doctor", "hospital"),
    ("outsider", "Dr. Carol Diaz", "doctor", "other_hospital"),
]


@pytest.fixture(scope="session")
def people(stack, carechain):
    """The admin (deployer) and registered, named providers: two hospitals, their doctors."""
    p = SimpleNamespace(admin=localchain.dev_account(0))
    directory = ProviderDirectory(stack[1].directory)
    for index, (attribute, name, role, hospital) in enumerate(PROVIDERS, start=1):
        account = localchain.dev_account(index)
        setattr(p, attribute, account)
        entry = provider_entry(account.address, name, role, crypto.public_key_of(account.key))
        enrol(carechain, directory, p.admin, entry, getattr(p, hospital).address if hospital else None)
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


STEWARD_INDEX = 16  # the research steward's development account in the tests


@pytest.fixture(scope="session")
def steward(carechain, people):
    """The research steward, named by the admin (an account of its own, like the demo's)."""
    account = localchain.dev_account(STEWARD_INDEX)
    if carechain.research.steward() != (account.address, crypto.public_key_of(account.key)):
        carechain.research.set_steward(people.admin, account.address, crypto.public_key_of(account.key))
    return account


@pytest.fixture
def institution(carechain, people):
    """A fresh research institution per call, funded and registered by the admin."""
    account = Account.create()
    carechain.fund(people.admin, account.address, 1)
    carechain.research.register_institution(people.admin, account.address)
    return account
