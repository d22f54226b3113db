"""Endorsements: doctors and hospitals vouching on chain for a record another provider (or the
patient) wrote, and the consortium's policy of how many endorsements validate a record of each
category ("validated by 2 of 2", or "awaiting validation: 1 of 2").

The chain stores who endorsed which record version and each category's policy; it does not count.
The count is made here: the endorsements the event index names are confirmed against the chain
(`endorsed`, with the records' entries, the endorsers' standing and the policies, in one batch),
then counted as the policy says: an endorsement of a suspended provider is shown but not counted,
and with distinct hospitals a hospital counts once, for itself and its doctors together.
"""

import time
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount

from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.model import ZERO_ADDRESS, checksum
from app.carechain.records import Category

MAX_REQUIRED = 255  # the contract keeps a policy's count in one byte


@dataclass(frozen=True)
class Policy:
    required: int = 0  # endorsements that validate a record of the category; 0: none needed
    distinct_hospitals: bool = False  # count one endorsement per hospital


@dataclass(frozen=True)
class Endorsement:
    provider: str
    role: str  # doctor or hospital
    hospital: str  # the hospital it counts for: the hospital itself, or a doctor's own
    time: int
    active: bool  # unsuspended now (a doctor's hospital too); a suspended provider's endorsement does not count


@dataclass(frozen=True)
class Validation:
    """A record version's endorsements, confirmed on chain, oldest first, under its category's policy."""

    endorsements: tuple[Endorsement, ...]
    policy: Policy
    current: bool  # not superseded: a superseding version starts without endorsements

    @property
    def required(self) -> int:
        return self.policy.required

    @property
    def counted(self) -> int:
        counting = [endorsement for endorsement in self.endorsements if endorsement.active]
        if self.policy.distinct_hospitals:
            return len({endorsement.hospital for endorsement in counting})
        return len(counting)

    @property
    def validated(self) -> bool:
        return self.required > 0 and self.counted >= self.required

    def endorsed_by(self, provider: str) -> bool:
        return any(endorsement.provider == provider for endorsement in self.endorsements)


class EndorsementFlows:
    """Flows of `CareChain` (see flows.py), which provides chain and index."""

    def endorse(self, provider: LocalAccount, patient: str, digest: bytes) -> Validation:
        """Endorses the current record `digest` of `patient` on chain, after checking in one batch
        what the contract will: the record exists and is current, `provider` did not write it,
        has not endorsed it yet and may read it now. Returns the record's validation."""
        patient, digest = checksum(patient, "patient address"), _digest(digest)
        self._require_endorsements()
        me = provider.address
        (stored, readable_until), already = self.chain.call_many(
            [("recordAccessOf", (patient, digest, me)), ("endorsed", (patient, digest, me))])
        author, category, _, superseded_by, _ = stored
        if author == ZERO_ADDRESS:
            raise InvalidInput("this patient has no such record")
        if self.role_of(me) not in ("doctor", "hospital"):
            raise AccessDenied("only registered doctors and hospitals endorse records")
        if superseded_by:
            raise InvalidInput("a newer version replaces this record: endorse the current one")
        if author == me:
            raise InvalidInput("you wrote this record and your signature already vouches for it; "
                               "another doctor or hospital has to endorse it")
        if already:
            raise InvalidInput("you have already endorsed this record")
        # As for reading: the chain allowing it means only the wall clock can have ended the grant since.
        if readable_until <= time.time():
            raise AccessDenied(self._endorsing_problem(patient, me, category))
        try:
            self.chain.transact(provider, "endorseRecord", patient, digest)
        except TransactionFailed as error:  # a change between the checks and the transaction
            if error.error_name == "EndorsementsAlreadyEndorsed":
                raise InvalidInput("you have already endorsed this record") from None
            if error.error_name in ("EndorsementsUnauthorizedEndorser", "RegistryProviderSuspended"):
                raise AccessDenied(self._endorsing_problem(patient, me, category)) from None
            raise
        return self.endorsements(patient, [digest])[digest]

    def endorsements(self, patient: str, digests) -> dict[bytes, Validation]:
        """digest -> the validation of each record version: its endorsements as the event index
        names them, each confirmed on chain, with the category's policy; one index query and one
        batch of calls, however many records."""
        patient, digests = checksum(patient, "patient address"), [_digest(digest) for digest in digests]
        if not digests or not self._has_endorsements():
            return {digest: Validation((), Policy(), True) for digest in digests}
        wanted = {digest.hex() for digest in digests}
        named = [(bytes.fromhex(details["digest"]), actor, second) for *_, second, _, actor, details
                 in self.indexed().events(patient, ["RecordEndorsed"]) if details["digest"] in wanted]
        providers = sorted({provider for _, provider, _ in named})
        categories = list(Category)
        answers = self.chain.call_many(
            [("recordOf", (patient, digest)) for digest in digests]
            + [("endorsed", (patient, digest, provider)) for digest, provider, _ in named]
            + [("isActiveProvider", (provider,)) for provider in providers]
            + [("endorsementPolicyOf", (int(category),)) for category in categories])
        stored = answers[:len(digests)]
        confirmed = answers[len(digests):len(digests) + len(named)]
        active = dict(zip(providers, answers[len(digests) + len(named):len(answers) - len(categories)]))
        policies = {int(category): Policy(*policy) for category, policy in zip(categories, answers[-len(categories):])}
        for category in {entry[1] for entry in stored} - set(policies):  # not one of the product's categories
            policies[category] = Policy(*self.chain.call("endorsementPolicyOf", category))
        standing = {provider: self.index.standing(provider) for provider in providers}
        found: dict[bytes, list[Endorsement]] = {digest: [] for digest in digests}
        for (digest, provider, second), endorsed in zip(named, confirmed):
            role, affiliation, _ = standing[provider] or ("none", None, False)
            if endorsed and role in ("doctor", "hospital"):
                found[digest].append(Endorsement(provider, role, affiliation or provider, second, active[provider]))
        return {digest: Validation(tuple(found[digest]), policies[entry[1]], entry[3] == 0)
                for digest, entry in zip(digests, stored)}

    def set_policy(self, admin: LocalAccount, category, required: int, distinct_hospitals: bool) -> Policy:
        """Sets how many endorsements validate a record of `category` (0: none needed), from
        distinct hospitals or not. The consortium admin only; the contract checks the same."""
        try:
            category = Category(int(category))
        except (TypeError, ValueError):
            raise InvalidInput(f"there is no record category {category!r}") from None
        if isinstance(required, bool) or not isinstance(required, int) or not 0 <= required <= MAX_REQUIRED:
            raise InvalidInput(f"the number of endorsements required is a whole number from 0 to {MAX_REQUIRED}")
        self._require_endorsements()
        try:
            self.chain.transact(admin, "setEndorsementPolicy", int(category), required, bool(distinct_hospitals))
        except TransactionFailed as error:
            if error.error_name == "OwnableUnauthorizedAccount":
                raise AccessDenied("only the consortium administrator sets endorsement policies") from None
            raise
        return Policy(required, bool(distinct_hospitals))

    def policies(self) -> dict[Category, Policy]:
        """Each category's endorsement policy, as the caught-up event index holds the admin's
        settings (a category never set requires none)."""
        if not self._has_endorsements():
            return {category: Policy() for category in Category}
        set_ = self.indexed().endorsement_policies()
        return {category: Policy(*set_[category]) if category in set_ else Policy() for category in Category}

    def _endorsing_problem(self, patient: str, provider: str, category: int) -> str:
        known = category in {int(member) for member in Category}
        problem = self.access_problem(patient, provider, Category(category)) if known else None
        return problem or "you may not read this record now, so you cannot endorse it"

    def _has_endorsements(self) -> bool:
        """Whether this deployment's contract has endorsements (one deployed before has none)."""
        return any(item.get("name") == "endorseRecord" for item in self.chain.contract.abi)

    def _require_endorsements(self) -> None:
        if not self._has_endorsements():
            raise InvalidInput("this deployment's contract has no endorsements: deploy the current contracts")


def _digest(digest) -> bytes:
    digest = bytes(digest)
    if len(digest) != 32:
        raise InvalidInput("a record is named by the 32-byte digest of its content address")
    return digest
