"""Consent as a state machine: random sequences of registrations, suspensions, grants, renewals,
narrowings, revocations, record writes and time travel, each transaction's outcome predicted by a
plain Python model of the access rules, and after every step every reader's access compared with
the model. Unit tests pin single cases; this catches the orders nobody thought to write down."""

from dataclasses import dataclass

import hypothesis.strategies as st
import pytest
from brownie import chain, web3
from brownie.exceptions import VirtualMachineError
from conftest import DAY, digest, public_key, typed_error
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

PATIENT, HOSPITAL, DOCTOR = "patient", "hospital", "doctor"
MAX_GRANT_DURATION = 3650 * DAY
CATEGORY_COUNT = 32
CATEGORIES = range(4)

# Participants by the role each may take; `people` names them. The admin is never a participant.
# Few, because the invariant asks ganache about every pair after every step.
PATIENTS = ("patient", "other_patient")
HOSPITALS = ("hospital", "other_hospital")
DOCTORS = ("doctor", "colleague", "outsider")
PROVIDERS = HOSPITALS + DOCTORS
# Registered by the `founded` fixture, so that grants can succeed from the first step.
FOUNDERS = {"hospital": HOSPITAL, "doctor": DOCTOR, "patient": PATIENT}


@dataclass(frozen=True)
class Grant:
    expires_at: int
    categories: int
    can_write: bool

    def covers(self, category: int, write: bool, now: int) -> bool:
        return now < self.expires_at and bool(self.categories >> category & 1) and (self.can_write or not write)


class ConsentModel:
    """What the contract should hold and decide, keyed by participant name.

    Each `*_error` method returns the custom error (name, *args) a transaction sent at second
    `now` must revert with, or None if it must succeed; names in args stand for their accounts."""

    def __init__(self):
        self.roles = dict(FOUNDERS)
        self.suspended = set()
        self.employer = {"doctor": "hospital"}  # doctor -> hospital
        self.grants = {}  # (patient, grantee) -> Grant, expired ones included until replaced or revoked
        self.records = {patient: [] for patient in PATIENTS}  # patient -> digests in number order

    def is_active_provider(self, account: str) -> bool:
        role = self.roles.get(account)
        if role == DOCTOR:
            return account not in self.suspended and self.employer[account] not in self.suspended
        return role == HOSPITAL and account not in self.suspended

    def can_access(self, patient: str, reader: str, category: int, write: bool, now: int) -> bool:
        """A patient always reaches its own records; an active provider reaches them through its
        own grant or, for a doctor, its hospital's; hospitals read but never write."""
        if reader == patient:
            return self.roles.get(patient) == PATIENT
        if not self.is_active_provider(reader):
            return False
        if self.roles[reader] == HOSPITAL:
            return not write and self._covers(patient, reader, category, False, now)
        return any(self._covers(patient, grantee, category, write, now) for grantee in (reader, self.employer[reader]))

    def _covers(self, patient: str, grantee: str, category: int, write: bool, now: int) -> bool:
        grant = self.grants.get((patient, grantee))
        return grant is not None and grant.covers(category, write, now)

    def registration_error(self, account: str):
        if account in self.roles:
            return ("RegistryAlreadyRegistered", account)

    def doctor_registration_error(self, doctor: str, hospital: str):
        if self.roles.get(hospital) != HOSPITAL:
            return ("RegistryNotAHospital", hospital)
        if hospital in self.suspended:
            return ("RegistryProviderSuspended", hospital)
        return self.registration_error(doctor)

    def suspension_error(self, provider: str, suspend: bool):
        if self.roles.get(provider) not in (HOSPITAL, DOCTOR):
            return ("RegistryNotAProvider", provider)
        if suspend and provider in self.suspended:
            return ("RegistryProviderSuspended", provider)
        if not suspend and provider not in self.suspended:
            return ("RegistryProviderNotSuspended", provider)

    def grant_error(self, patient: str, grantee: str, categories: int, expires_at: int, now: int):
        if self.roles.get(patient) != PATIENT:
            return ("RegistryNotAPatient", patient)
        error = self._grantee_error(grantee) or self._scope_error(categories) or self._expiry_error(expires_at, now)
        if error:
            return error
        grant = self.grants.get((patient, grantee))
        if grant and grant.expires_at > now:
            return ("AccessGrantsGrantExists", patient, grantee)

    def renewal_error(self, patient: str, grantee: str, expires_at: int, now: int):
        grant = self.grants.get((patient, grantee))
        if grant is None:
            return ("AccessGrantsNoGrant", patient, grantee)
        error = self._grantee_error(grantee) or self._expiry_error(expires_at, now)
        if error:
            return error
        if expires_at <= grant.expires_at:
            return ("AccessGrantsNotLater", expires_at, grant.expires_at)

    def narrowing_error(self, patient: str, grantee: str, narrowed: Grant, now: int):
        grant = self.grants.get((patient, grantee))
        if grant is None:
            return ("AccessGrantsNoGrant", patient, grantee)
        if grant.expires_at <= now:
            return ("AccessGrantsGrantExpired", patient, grantee)
        error = self._scope_error(narrowed.categories)
        if error:
            return error
        if narrowed.expires_at <= now:
            return ("AccessGrantsExpiryNotInFuture", narrowed.expires_at)
        if (
            narrowed.categories & ~grant.categories
            or (narrowed.can_write and not grant.can_write)
            or narrowed.expires_at > grant.expires_at
        ):
            return ("AccessGrantsNotNarrower",)

    def revocation_error(self, patient: str, grantee: str):
        if (patient, grantee) not in self.grants:
            return ("AccessGrantsNoGrant", patient, grantee)

    def record_error(self, author: str, patient: str, record: bytes, category: int, now: int):
        if category >= CATEGORY_COUNT:
            return ("RecordIndexInvalidCategory", category)
        if self.roles.get(patient) != PATIENT:
            return ("RegistryNotAPatient", patient)
        if not self.can_access(patient, author, category, True, now):
            return ("RecordIndexUnauthorizedAuthor", patient, author, category)
        if record in self.records[patient]:
            return ("RecordIndexDuplicateRecord", patient, record)

    def _grantee_error(self, grantee: str):
        if self.roles.get(grantee) not in (HOSPITAL, DOCTOR):
            return ("RegistryNotAProvider", grantee)
        if grantee in self.suspended:
            return ("RegistryProviderSuspended", grantee)

    @staticmethod
    def _scope_error(categories: int):
        if categories == 0:
            return ("AccessGrantsEmptyScope",)

    @staticmethod
    def _expiry_error(expires_at: int, now: int):
        if expires_at <= now:
            return ("AccessGrantsExpiryNotInFuture", expires_at)
        if expires_at > now + MAX_GRANT_DURATION:
            return ("AccessGrantsExpiryTooFar", expires_at, now + MAX_GRANT_DURATION)


# Every patient's access for every reader: itself and each provider, each category, read and write.
ACCESS_QUERIES = [
    (method, patient, reader, category)
    for method in ("canAccess", "canWrite")
    for patient in PATIENTS
    for reader in (patient,) + PROVIDERS
    for category in CATEGORIES
]

patients = st.sampled_from(PATIENTS)
granters = st.sampled_from(PATIENTS + ("doctor",))  # a doctor tries too: only patients grant
hospitals = st.sampled_from(HOSPITALS)
employers = st.sampled_from(HOSPITALS + ("doctor",))  # a doctor is no employer
doctors = st.sampled_from(DOCTORS)
providers = st.sampled_from(PROVIDERS)
authors = st.sampled_from(PATIENTS + PROVIDERS)
masks = st.integers(0, 2 ** len(CATEGORIES) - 1)
record_categories = st.sampled_from((*CATEGORIES, CATEGORY_COUNT))
# Offsets from an anchor second: around it, well past it, and around the longest grant allowed.
durations = st.one_of(
    st.integers(-1, 4),
    st.integers(5, 60 * DAY),
    st.sampled_from([MAX_GRANT_DURATION + d for d in (-1, 0, 1, 2)]),
)
shrinks = st.one_of(st.integers(-1, 4), st.integers(5, 60 * DAY))
sleeps = st.one_of(st.integers(1, 4), st.integers(5, 60 * DAY))


class ConsentStateMachine(RuleBasedStateMachine):
    """Drives CareChain and ConsentModel side by side, each example from the chain snapshot.

    Ganache's clock follows wall time, so the second a transaction lands in is known only once it
    is mined: each outcome is checked against the model at the transaction's own block second.
    Calls run at the latest block's second (checked: a sleep without a mined block does not move
    them), so the invariants compare with the model at that second.

    Plain hypothesis rather than brownie's `state_machine`: brownie 1.22.2 ships that module
    compiled with mypyc, and its final base class rejects every generated machine with
    "TypeError: brownie.test.stateful._BrownieStateMachine object expected"."""

    def __init__(self, carechain, people):
        super().__init__()
        with open("/tmp/probe/stats", "a") as f:
            f.write("example\n")
        chain.revert()
        self.carechain = carechain
        self.people = people
        self.model = ConsentModel()

    @rule(patient=patients)
    def register_patient(self, patient):
        account = self._account(patient)
        if self._transact(patient, self.carechain.registerPatient, [public_key(account)],
                          lambda now: self.model.registration_error(patient)):
            self.model.roles[patient] = PATIENT

    @rule(hospital=hospitals)
    def register_hospital(self, hospital):
        account = self._account(hospital)
        if self._transact("admin", self.carechain.registerHospital, [account, public_key(account)],
                          lambda now: self.model.registration_error(hospital)):
            self.model.roles[hospital] = HOSPITAL

    @rule(doctor=doctors, hospital=employers)
    def register_doctor(self, doctor, hospital):
        account = self._account(doctor)
        if self._transact("admin", self.carechain.registerDoctor,
                          [account, self._account(hospital), public_key(account)],
                          lambda now: self.model.doctor_registration_error(doctor, hospital)):
            self.model.roles[doctor] = DOCTOR
            self.model.employer[doctor] = hospital

    @rule(provider=providers)
    def suspend(self, provider):
        if self._transact("admin", self.carechain.suspendProvider, [self._account(provider)],
                          lambda now: self.model.suspension_error(provider, suspend=True)):
            self.model.suspended.add(provider)

    @rule(provider=providers)
    def reinstate(self, provider):
        if self._transact("admin", self.carechain.reinstateProvider, [self._account(provider)],
                          lambda now: self.model.suspension_error(provider, suspend=False)):
            self.model.suspended.remove(provider)

    @rule(patient=granters, grantee=providers, categories=masks, can_write=st.booleans(), duration=durations)
    def grant(self, patient, grantee, categories, can_write, duration):
        expires_at = self._latest_second() + duration
        if self._transact(patient, self.carechain.grantAccess,
                          [self._account(grantee), categories, can_write, expires_at],
                          lambda now: self.model.grant_error(patient, grantee, categories, expires_at, now)):
            self.model.grants[patient, grantee] = Grant(expires_at, categories, can_write)

    @rule(patient=granters, grantee=providers, extension=durations)
    def renew(self, patient, grantee, extension):
        """Extends from the later of the current expiry and now, so that most renewals are valid."""
        grant = self.model.grants.get((patient, grantee))
        expires_at = max(grant.expires_at if grant else 0, self._latest_second()) + extension
        if self._transact(patient, self.carechain.renewAccess, [self._account(grantee), expires_at],
                          lambda now: self.model.renewal_error(patient, grantee, expires_at, now)):
            self.model.grants[patient, grantee] = Grant(expires_at, grant.categories, grant.can_write)

    @rule(patient=granters, grantee=providers, categories=masks, can_write=st.booleans(), shrink=shrinks)
    def narrow(self, patient, grantee, categories, can_write, shrink):
        """Moves the expiry back from the current one, so that most narrowings keep it in range."""
        grant = self.model.grants.get((patient, grantee))
        narrowed = Grant((grant.expires_at if grant else self._latest_second()) - shrink, categories, can_write)
        if self._transact(patient, self.carechain.narrowAccess,
                          [self._account(grantee), categories, can_write, narrowed.expires_at],
                          lambda now: self.model.narrowing_error(patient, grantee, narrowed, now)):
            self.model.grants[patient, grantee] = narrowed

    @rule(patient=granters, grantee=providers)
    def revoke(self, patient, grantee):
        if self._transact(patient, self.carechain.revokeAccess, [self._account(grantee)],
                          lambda now: self.model.revocation_error(patient, grantee)):
            del self.model.grants[patient, grantee]

    @rule(author=authors, patient=patients, category=record_categories, duplicate=st.booleans())
    def add_record(self, author, patient, category, duplicate):
        records = self.model.records[patient]
        record = records[-1] if duplicate and records else digest(f"{patient} record {len(records) + 1}")
        if self._transact(author, self.carechain.addRecord, [self._account(patient), record, category],
                          lambda now: self.model.record_error(author, patient, record, category, now)):
            records.append(record)

    @rule(seconds=sleeps)
    def sleep(self, seconds):
        chain.sleep(seconds)
        chain.mine()

    @rule(pick=st.integers(0, 7), offset=st.sampled_from([-1, 0, 1]))
    def travel_to_expiry(self, pick, offset):
        """Mines a block at an expiry second or one either side, where off-by-one errors show;
        chain.sleep alone lands a second or so off, with ganache's wall clock."""
        now = self._latest_second()
        targets = sorted({g.expires_at + offset for g in self.model.grants.values() if g.expires_at + offset > now})
        if targets:
            chain.mine(timestamp=targets[pick % len(targets)])

    @invariant()
    def access_matches_model(self):
        block = web3.eth.get_block("latest")
        actual = self._call_at(block.number, [
            (getattr(self.carechain, method), [self._account(patient), self._account(reader), category])
            for method, patient, reader, category in ACCESS_QUERIES
        ])
        mismatches = [
            f"{method}({patient}, {reader}, {category}) is {result}"
            for (method, patient, reader, category), result in zip(ACCESS_QUERIES, actual)
            if result != self.model.can_access(patient, reader, category, method == "canWrite", block.timestamp)
        ]
        with open("/tmp/probe/stats", "a") as f:
            f.write(f"inv true={sum(actual)} exp={sum(1 for g in self.model.grants.values() if g.expires_at == block.timestamp)} init={len(self.model.grants)}\n")
        assert not mismatches, f"at second {block.timestamp}, against the model: {mismatches}; {vars(self.model)}"

    @invariant()
    def record_counts_match_model(self):
        block = web3.eth.get_block("latest")
        counts = self._call_at(block.number, [(self.carechain.recordCount, [self._account(p)]) for p in PATIENTS])
        assert counts == [len(self.model.records[patient]) for patient in PATIENTS]

    def _transact(self, sender: str, method, args: list, error_at) -> bool:
        """Sends `method(*args)` from `sender` and checks it succeeded or reverted as the model
        says at the second of its block, `error_at(second)`. Returns whether it succeeded."""
        try:
            tx = method(*args, {"from": self._account(sender)})
        except VirtualMachineError as revert:
            tx = chain.get_transaction(revert.txid)
        expected = error_at(tx.timestamp)
        with open("/tmp/probe/stats", "a") as f:
            f.write(f"tx {method._name} {expected[0] if expected else 'OK'}\n")
        action = f"{method._name}{tuple(args)} from {sender} at second {tx.timestamp}"
        if expected is None:
            assert tx.status == 1, f"{action} reverted with {tx.revert_msg}; the model expected success"
        else:
            error = typed_error(expected[0], *(self._address(arg) for arg in expected[1:]))
            assert tx.status == 0, f"{action} succeeded; the model expected {error}"
            assert tx.revert_msg == error, f"{action} reverted with {tx.revert_msg}; the model expected {error}"
        return expected is None

    def _call_at(self, block_number: int, calls: list) -> list:
        """Runs view calls at one block in a single raw JSON-RPC batch: ganache spends milliseconds
        on each call and web3's middleware as much again, and the invariants make ~100 per step."""
        responses = web3.provider.make_batch_request([
            ("eth_call", [{"to": self.carechain.address, "data": method.encode_input(*args)}, hex(block_number)])
            for method, args in calls
        ])
        return [method.decode_output(response["result"]) for (method, _), response in zip(calls, responses)]

    def _latest_second(self) -> int:
        return web3.eth.get_block("latest").timestamp

    def _account(self, name: str):
        return getattr(self.people, name)

    def _address(self, arg):
        """Error arguments that name a participant stand for its address."""
        return self._account(arg).address if isinstance(arg, str) else arg


@pytest.fixture(scope="module")
def founded(carechain, people):
    """A consortium of the FOUNDERS: hospital, its doctor, and patient."""
    carechain.registerHospital(people.hospital, public_key(people.hospital), {"from": people.admin})
    carechain.registerDoctor(people.doctor, people.hospital, public_key(people.doctor), {"from": people.admin})
    carechain.registerPatient(public_key(people.patient), {"from": people.patient})
    return carechain


def test_access_follows_the_rules(founded, people):
    chain.snapshot()  # each example reverts to here
    run_state_machine_as_test(
        lambda: ConsentStateMachine(founded, people),
        settings=settings(max_examples=25, stateful_step_count=20, deadline=None),
    )
