"""Consent as a state machine: random sequences of registrations, suspensions, grants, renewals,
narrowings, revocations, record writes, logged reads and time travel, each transaction's outcome
predicted by a plain Python model of the access rules, and after every step every reader's access
compared with the model. Unit tests pin single cases; this catches the orders nobody thought to
write down.

Plain hypothesis rather than brownie's `state_machine` fixture: brownie 1.22.2 ships that module
compiled with mypyc, and its final base class rejects every generated machine with
"TypeError: brownie.test.stateful._BrownieStateMachine object expected"."""

from dataclasses import dataclass

import brownie
import hypothesis.strategies as st
import pytest
from brownie import chain, history, web3
from conftest import DAY, at_time, digest, public_key, typed_error
from hypothesis import settings
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

PATIENT, HOSPITAL, DOCTOR = "patient", "hospital", "doctor"
MAX_GRANT_DURATION = 3650 * DAY
READ_LOG_GRACE = 3600
CATEGORY_COUNT = 32
CATEGORIES = range(4)

# Participants by the role each may take; `people` names them. The admin is never a participant.
# Few, because the invariant asks ganache about every pair after every step, at ~3 ms a call.
PATIENTS = ("patient", "other_patient")
HOSPITALS = ("hospital", "other_hospital")
DOCTORS = ("doctor", "colleague", "outsider")
PROVIDERS = HOSPITALS + DOCTORS
# Registered by the `founded` fixture, in this order, so that grants can succeed from the first
# step; the others join through the rules.
FOUNDERS = {"hospital": HOSPITAL, "doctor": DOCTOR, "colleague": DOCTOR, "patient": PATIENT}
FOUNDING_EMPLOYERS = {"doctor": "hospital", "colleague": "hospital"}
FOUNDING_PROVIDERS = tuple(name for name, role in FOUNDERS.items() if role != PATIENT)


@dataclass(frozen=True)
class Grant:
    expires_at: int
    categories: int
    can_write: bool

    def covers(self, category: int, write: bool, now: int) -> bool:
        in_scope = bool(self.categories >> category & 1)
        return now < self.expires_at and in_scope and (self.can_write or not write)


class ConsentModel:
    """What the contract should hold and decide, keyed by participant name.

    Each `*_error` method returns the custom error (name, *args) a transaction sent at second
    `now` must revert with, or None if it must succeed; names in args stand for their accounts."""

    def __init__(self):
        self.roles = dict(FOUNDERS)
        self.employer = dict(FOUNDING_EMPLOYERS)  # doctor -> hospital
        self.suspended = set()
        self.grants = {}  # (patient, grantee) -> Grant, expired ones included until replaced or revoked
        self.records = {patient: [] for patient in PATIENTS}  # patient -> digests in number order
        self.categories = {}  # (patient, digest) -> category

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
        grantees = (reader, self.employer[reader])
        return any(self._covers(patient, grantee, category, write, now) for grantee in grantees)

    def _covers(self, patient: str, grantee: str, category: int, write: bool, now: int) -> bool:
        grant = self.grants.get((patient, grantee))
        return grant is not None and grant.covers(category, write, now)

    def may_log_read(self, patient: str, reader: str, category: int, now: int) -> bool:
        """The patient, or a provider whose own grant or (for a doctor) hospital's grant covers the
        category and expired at most READ_LOG_GRACE ago; suspension does not matter."""
        if reader == patient:
            return True
        grantees = (reader, self.employer[reader]) if self.roles.get(reader) == DOCTOR else (reader,)
        return any(
            (grant := self.grants.get((patient, grantee))) is not None
            and bool(grant.categories >> category & 1)
            and now <= grant.expires_at + READ_LOG_GRACE
            for grantee in grantees
        )

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
        error = (
            self._grantee_error(grantee) or self._scope_error(categories) or self._expiry_error(expires_at, now)
        )
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

    def read_log_error(self, reader: str, patient: str, record: bytes, now: int):
        if record not in self.records[patient]:
            return ("RecordIndexUnknownRecord", patient, record)
        if not self.may_log_read(patient, reader, self.categories[patient, record], now):
            return ("RecordIndexUnauthorizedReader", patient, reader, record)

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
hospitals = st.sampled_from(HOSPITALS)
doctors = st.sampled_from(DOCTORS)
providers = st.sampled_from(PROVIDERS)
authors = st.sampled_from(PATIENTS + PROVIDERS)
masks = st.integers(0, 2 ** len(CATEGORIES) - 1)
scopes = masks.filter(bool)  # narrowing covers the empty scope, grants need not spend steps on it
record_categories = st.sampled_from((*CATEGORIES, CATEGORY_COUNT))
# Seconds from the transaction's own: well after it, just around it, around the furthest allowed.
durations = st.one_of(
    st.integers(5, 60 * DAY),
    st.integers(-1, 4),
    st.sampled_from([MAX_GRANT_DURATION + d for d in (-1, 0, 1)]),
)
# A first grant that lapses within the example's first steps, or days later.
first_durations = st.one_of(st.integers(1, 6), st.integers(7, 60 * DAY))
# How far a narrowing moves the expiry back: not at all (allowed), days, or -1 (extends: refused).
shrinks = st.one_of(st.just(0), st.integers(1, 60 * DAY), st.just(-1))
# Shorter than most grants, which travel_to_expiry ends: the rules that change a grant need it alive.
sleeps = st.one_of(st.integers(5, 2 * DAY), st.integers(1, 4))


class ConsentStateMachine(RuleBasedStateMachine):
    """Drives CareChain and ConsentModel side by side, each example from the chain snapshot.

    Ganache's clock follows wall time, so every block goes to an exact second instead: each
    transaction to the second after the latest block (conftest's `at_time`), time travel to a
    chosen one. The model then judges each transaction before it is sent, and examples replay
    identically, which hypothesis needs to shrink a failure. Ganache runs calls at the latest
    block's second (checked: wall time and evm_increaseTime alone do not move them), so that is
    the second the invariant judges at."""

    # (patient, grantee) pairs granted so far, revoked since or not: the rules that change or use
    # a grant draw from them, as random pairs would rarely have one.
    granted = Bundle("granted")

    def __init__(self, carechain, people):
        super().__init__()
        chain.revert()
        self.carechain = carechain
        self.people = people
        self.model = ConsentModel()

    @initialize(target=granted, grantee=st.sampled_from(FOUNDING_PROVIDERS), categories=scopes,
                can_write=st.booleans(), duration=first_durations)
    def first_grant(self, grantee, categories, can_write, duration):
        """Every example starts with a grant between founders, so that expiry and the rules that
        change a grant have something to work on however few grants the drawn rules make: of the
        few examples ganache's speed allows, hypothesis spends most on variations of earlier ones."""
        return self.grant("patient", grantee, categories, can_write, duration)

    @rule(patient=patients)
    def register_patient(self, patient):
        account = self._account(patient)
        if self._transact(patient, self.carechain.registerPatient, [public_key(account)],
                          self.model.registration_error(patient)):
            self.model.roles[patient] = PATIENT

    @rule(hospital=hospitals)
    def register_hospital(self, hospital):
        account = self._account(hospital)
        if self._transact("admin", self.carechain.registerHospital, [account, public_key(account)],
                          self.model.registration_error(hospital)):
            self.model.roles[hospital] = HOSPITAL

    @rule(doctor=doctors, hospital=hospitals)
    def register_doctor(self, doctor, hospital):
        account = self._account(doctor)
        if self._transact("admin", self.carechain.registerDoctor,
                          [account, self._account(hospital), public_key(account)],
                          self.model.doctor_registration_error(doctor, hospital)):
            self.model.roles[doctor] = DOCTOR
            self.model.employer[doctor] = hospital

    @rule(provider=providers)
    def suspend(self, provider):
        if self._transact("admin", self.carechain.suspendProvider, [self._account(provider)],
                          self.model.suspension_error(provider, suspend=True)):
            self.model.suspended.add(provider)

    @rule(provider=providers)
    def reinstate(self, provider):
        if self._transact("admin", self.carechain.reinstateProvider, [self._account(provider)],
                          self.model.suspension_error(provider, suspend=False)):
            self.model.suspended.remove(provider)

    @rule(target=granted, patient=patients, grantee=providers, categories=scopes,
          can_write=st.booleans(), duration=durations)
    def grant(self, patient, grantee, categories, can_write, duration):
        now = self._next_second()
        expires_at = now + duration
        if self._transact(patient, self.carechain.grantAccess,
                          [self._account(grantee), categories, can_write, expires_at, bytes(32)],
                          self.model.grant_error(patient, grantee, categories, expires_at, now)):
            self.model.grants[patient, grantee] = Grant(expires_at, categories, can_write)
            return (patient, grantee)
        return multiple()

    @rule(pair=granted, extension=durations)
    def renew(self, pair, extension):
        """Extends from the later of the current expiry and now, so that most renewals are valid."""
        patient, grantee = pair
        now = self._next_second()
        grant = self.model.grants.get(pair)
        expires_at = max(grant.expires_at if grant else 0, now) + extension
        if self._transact(patient, self.carechain.renewAccess, [self._account(grantee), expires_at, bytes(32)],
                          self.model.renewal_error(patient, grantee, expires_at, now)):
            self.model.grants[pair] = Grant(expires_at, grant.categories, grant.can_write)

    @rule(pair=granted, categories=masks, widen=st.booleans(), can_write=st.booleans(), shrink=shrinks)
    def narrow(self, pair, categories, widen, can_write, shrink):
        """Keeps the categories and the write right within the grant's unless told to widen, and
        moves the expiry back from the current one, so that most narrowings are valid."""
        patient, grantee = pair
        now = self._next_second()
        grant = self.model.grants.get(pair, Grant(now, 0, False))
        if not widen:
            categories, can_write = categories & grant.categories, can_write and grant.can_write
        narrowed = Grant(grant.expires_at - shrink, categories, can_write)
        if self._transact(patient, self.carechain.narrowAccess,
                          [self._account(grantee), narrowed.categories, narrowed.can_write, narrowed.expires_at],
                          self.model.narrowing_error(patient, grantee, narrowed, now)):
            self.model.grants[pair] = narrowed

    @rule(pair=granted)
    def revoke(self, pair):
        patient, grantee = pair
        if self._transact(patient, self.carechain.revokeAccess, [self._account(grantee)],
                          self.model.revocation_error(patient, grantee)):
            del self.model.grants[pair]

    @rule(author=authors, patient=patients, category=record_categories, duplicate=st.booleans())
    def add_record(self, author, patient, category, duplicate):
        self._add_record(author, patient, category, duplicate)

    @rule(pair=granted, category=record_categories, duplicate=st.booleans())
    def add_record_as_grantee(self, pair, category, duplicate):
        """A grantee writing is the case that needs an unexpired write grant: random authors are
        rarely grantees."""
        patient, grantee = pair
        self._add_record(grantee, patient, category, duplicate)

    @rule(reader=authors, patient=patients, which=st.integers(0, 3))
    def log_read(self, reader, patient, which):
        self._log_read(reader, patient, which)

    @rule(pair=granted, which=st.integers(0, 3))
    def log_read_as_grantee(self, pair, which):
        """A grantee (or, for a hospital's grant, one of its doctors) logging a read is the case
        that needs a grant: random readers are rarely grantees."""
        patient, grantee = pair
        doctors = [d for d, h in self.model.employer.items() if h == grantee]
        reader = doctors[which % len(doctors)] if doctors and which % 2 else grantee
        self._log_read(reader, patient, which)

    @rule(seconds=sleeps)
    def sleep(self, seconds):
        """Moves time on with an empty block, at an exact second: chain.sleep adds ganache's
        wall-clock drift."""
        chain.mine(timestamp=self._latest_second() + seconds)

    @rule(which=st.integers(0, 3), offset=st.sampled_from([-1, 0, 1, READ_LOG_GRACE - 1, READ_LOG_GRACE]))
    def travel_to_expiry(self, which, offset):
        """Mines a block at an upcoming expiry second (the nearest by default) or one either side,
        where off-by-one errors show, or just before the end of the read-log grace after it (the
        next transaction lands on its last second, or the one after)."""
        now = self._latest_second()
        targets = sorted(
            {g.expires_at + offset for g in self.model.grants.values() if g.expires_at + offset > now}
        )
        if targets:
            chain.mine(timestamp=targets[min(which, len(targets) - 1)])

    @invariant()
    def chain_matches_model(self):
        """Every patient's access for every reader, and its record count, are as the model says at
        the latest block's second."""
        block = web3.eth.get_block("latest")
        access_calls = [
            (getattr(self.carechain, method), [self._account(patient), self._account(reader), category])
            for method, patient, reader, category in ACCESS_QUERIES
        ]
        count_calls = [(self.carechain.recordCount, [self._account(patient)]) for patient in PATIENTS]
        results = self._call_at(block.number, access_calls + count_calls)
        mismatches = [
            f"{method}({patient}, {reader}, {category}) is {result}"
            for (method, patient, reader, category), result in zip(ACCESS_QUERIES, results)
            if result != self.model.can_access(patient, reader, category, method == "canWrite", block.timestamp)
        ] + [
            f"recordCount({patient}) is {count}"
            for patient, count in zip(PATIENTS, results[len(access_calls):])
            if count != len(self.model.records[patient])
        ]
        assert not mismatches, f"at second {block.timestamp}, unlike the model: {mismatches}; {vars(self.model)}"

    def _transact(self, sender: str, method, args: list, expected_error) -> bool:
        """Sends `method(*args)` from `sender` in a block at `_next_second()`, where the model
        judged it: it must revert with `expected_error` (name, *args), or succeed if that is None.
        Returns whether it succeeded."""
        second = self._next_second()
        at_time(second)
        if expected_error is None:
            tx = method(*args, {"from": self._account(sender)})
        else:
            with brownie.reverts(typed_error(expected_error[0], *map(self._address, expected_error[1:]))):
                method(*args, {"from": self._account(sender)})
            tx = history[-1]
        assert tx.timestamp == second, f"at_time put the transaction at second {tx.timestamp}, not {second}"
        return expected_error is None

    def _add_record(self, author: str, patient: str, category: int, duplicate: bool):
        """Adds a fresh record, or the patient's last one again if `duplicate`."""
        records = self.model.records[patient]
        record = records[-1] if duplicate and records else digest(f"{patient} record {len(records) + 1}")
        if self._transact(author, self.carechain.addRecord, [self._account(patient), record, category],
                          self.model.record_error(author, patient, record, category, self._next_second())):
            records.append(record)
            self.model.categories[patient, record] = category

    def _log_read(self, reader: str, patient: str, which: int):
        """Logs a read of one of the patient's last records, or of a digest it does not have."""
        records = self.model.records[patient]
        record = records[-1 - which % len(records)] if records else digest(f"{patient} record 1")
        self._transact(reader, self.carechain.logRead, [self._account(patient), record],
                       self.model.read_log_error(reader, patient, record, self._next_second()))

    def _call_at(self, block_number: int, calls: list) -> list:
        """Runs view calls at one block in a single raw JSON-RPC batch: ganache spends milliseconds
        on each call and web3's middleware as much again, and the invariant makes ~100."""
        responses = web3.provider.make_batch_request([
            ("eth_call", [{"to": self.carechain.address, "data": method.encode_input(*args)}, hex(block_number)])
            for method, args in calls
        ])
        return [method.decode_output(response["result"]) for (method, _), response in zip(calls, responses)]

    def _next_second(self) -> int:
        """The second the next transaction lands in: the one after the latest block's."""
        return self._latest_second() + 1

    def _latest_second(self) -> int:
        return web3.eth.get_block("latest").timestamp

    def _account(self, name: str):
        return getattr(self.people, name)

    def _address(self, arg):
        """Error arguments that name a participant stand for its address."""
        return self._account(arg).address if isinstance(arg, str) else arg


@pytest.fixture(scope="module")
def founded(carechain, people):
    """A consortium of the FOUNDERS."""
    for name, role in FOUNDERS.items():
        account = getattr(people, name)
        if role == PATIENT:
            carechain.registerPatient(public_key(account), {"from": account})
        elif role == HOSPITAL:
            carechain.registerHospital(account, public_key(account), {"from": people.admin})
        else:
            hospital = getattr(people, FOUNDING_EMPLOYERS[name])
            carechain.registerDoctor(account, hospital, public_key(account), {"from": people.admin})
    return carechain


def test_access_follows_the_rules(founded, people):
    chain.snapshot()  # each example reverts to here
    run_state_machine_as_test(
        lambda: ConsentStateMachine(founded, people),
        settings=settings(max_examples=30, stateful_step_count=10, deadline=None),
    )
