"""Consent: granting, renewing, narrowing and revoking access, with the record keys delivered in the
same transaction, and who may read what now.
"""

import time
from collections.abc import Iterable

from eth_account.signers.local import LocalAccount

from app.carechain import crypto, envelope
from app.carechain.errors import IntegrityError, InvalidInput
from app.carechain.model import NO_DIGEST, GrantView, PatientAccess, checksum
from app.carechain.records import Category, categories_in, categories_mask
from app.carechain.rotation import Rotation


class GrantFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, journal and quota."""

    def grant(self, patient: LocalAccount, grantee: str, categories: Iterable, can_write: bool,
              expires_at: int) -> GrantView:
        """Grants a doctor or hospital access until `expires_at` and delivers, in the same
        transaction, the keys of the patient's current records in scope."""
        grantee, mask = self._check_grant(patient, grantee, categories, expires_at)
        self._grant_with_keys(patient, grantee, mask, lambda bundle: self.chain.transact(
            patient, "grantAccess", grantee, mask, bool(can_write), int(expires_at), bundle))
        return self.grant_of(patient.address, grantee)

    def renew(self, patient: LocalAccount, grantee: str, expires_at: int) -> GrantView:
        """Extends a grant. A lapsed one gets the keys of every record in scope again, since
        records added while it had lapsed were not encrypted for the grantee."""
        current = self.grant_of(patient.address, grantee)
        if current.expires_at == 0:
            raise InvalidInput("there is no grant for this provider to renew")
        with self._storage_lock(patient.address):
            bundle = NO_DIGEST
            if not current.active(self.now()):
                mask = categories_mask(current.categories)
                bundle = self._key_bundle(patient, mask, self._key_holders(current.grantee))
            self._send_or_release(bundle, lambda: self.chain.transact(
                patient, "renewAccess", current.grantee, int(expires_at), bundle),
                still_needed=lambda: self._bundle_named(patient.address, bundle))
        return self.grant_of(patient.address, current.grantee)

    def narrow(self, patient: LocalAccount, grantee: str, categories: Iterable, can_write: bool,
               expires_at: int, rotate: bool = False) -> tuple[GrantView, Rotation]:
        """Reduces a grant. With `rotate`, the records of the categories dropped are re-encrypted
        (see `rotate`). Returns the grant as it now stands and what the rotation did."""
        grantee = checksum(grantee, "grantee address")
        before = self.grant_of(patient.address, grantee)
        self.chain.transact(patient, "narrowAccess", grantee, categories_mask(categories), bool(can_write),
                            int(expires_at))
        dropped = set(before.categories) - {Category(c) for c in categories}
        rotation = Rotation([], [])
        if rotate and dropped:
            rotation = self.rotate(patient, dropped, f"narrowing {grantee}'s grant")
        return self.grant_of(patient.address, grantee), rotation

    def revoke(self, patient: LocalAccount, grantee: str, rotate: bool = True) -> Rotation:
        """Ends a grant at once. With `rotate` (the default), the records the grantee could open
        are re-encrypted under new keys for the remaining readers, the old entries superseded and
        the old ciphertext deleted from our node: keys the grantee kept open nothing current. The
        profile is sealed again too."""
        grant = self.grant_of(patient.address, grantee)
        self.chain.transact(patient, "revokeAccess", grant.grantee)
        if not rotate:
            return Rotation([], [])
        self.reseal_profile(patient)
        return self.rotate(patient, grant.categories, f"revoking {grant.grantee}")

    def grant_of(self, patient: str, grantee: str) -> GrantView:
        return self._grant_views(checksum(patient), [checksum(grantee, "grantee address")])[0]

    def grants_of(self, patient: str, limit: int | None = None) -> list[GrantView]:
        """The patient's grants as they stand, revoked ones left out, newest grantee first: all,
        or those among the newest `limit` grantees (found from recent blocks back, so a page
        costs what a page holds)."""
        patient = checksum(patient)
        grantees = self.indexed().grantees_of(patient, limit)
        return [view for view in self._grant_views(patient, grantees) if view.expires_at != 0]

    def _grant_views(self, patient: str, grantees: list[str]) -> list[GrantView]:
        """The grants of `patient` to `grantees` (revoked or never given ones with expiry 0) as
        their events left them, from the event index caught up with the chain: what the pages
        show. The contract checks every access and every change against its own state."""
        states = self.indexed().grants(patient, grantees)
        roles = self.index.roles(grantees)
        return [GrantView(patient, grantee, roles.get(grantee, "none"), categories_in(mask), can_write, expires_at)
                for grantee in grantees for expires_at, mask, can_write in [states.get(grantee, (0, 0, False))]]

    def patients_of(self, doctor: str) -> list[PatientAccess]:
        """Everyone who granted the doctor, or the doctor's hospital, access (live or lapsed), from
        the caught-up event index (a doctor's hospital never changes)."""
        doctor = checksum(doctor)
        standing = self.indexed().standing(doctor)
        grantees = [doctor] + ([standing[1]] if standing and standing[0] == "doctor" else [])
        grants = self.index.grants_to(grantees) if standing else []
        roles = self.index.roles(grantee for _, grantee, *_ in grants)
        return [PatientAccess(patient, grantee, GrantView(patient, grantee, roles[grantee], categories_in(mask),
                                                          can_write, expires_at))
                for patient, grantee, expires_at, mask, can_write in grants]

    def readers(self, patient: str, category: int) -> set[str]:
        """Everyone who may read `category` of the patient's records now: live grantees, and the
        active doctors of granted hospitals. The index lists grants live by the wall clock, which is
        never later than `now()`: every grant live by the chain's clock, perhaps some the chain then
        refuses, so the chain's clock need not be asked."""
        listed = self.indexed().live_grantees(patient, category, int(time.time()))
        accounts = list(dict.fromkeys(account for grantee in listed for account in self._covered_by(grantee)))
        allowed = self.chain.call("canAccessEach", patient, accounts, int(category)) if accounts else []
        return {account for account, may in zip(accounts, allowed) if may}  # the chain decides

    def remaining_access(self, patient: str, account: str) -> list[GrantView]:
        """Live grants of `patient` through which `account` can still read after its own grant
        ended: a doctor's hospital's grant; for a hospital, its doctors' own grants."""
        participant = self.participant(account)
        if participant is None:
            return []
        holders = [participant.hospital] if participant.hospital else []
        if participant.role == "hospital":
            holders = self.doctors_of(participant.address)
        now = self.now()
        return [view for view in self._grant_views(checksum(patient), holders) if view.active(now)]

    def _check_grant(self, patient: LocalAccount, grantee: str, categories: Iterable, expires_at: int):
        grantee = checksum(grantee, "grantee address")
        provider = self.participant(grantee)
        if provider is None or provider.role not in ("doctor", "hospital"):
            raise InvalidInput(f"{grantee} is not a registered doctor or hospital")
        mask = categories_mask(categories)
        if mask == 0:
            raise InvalidInput("choose at least one category")
        if int(expires_at) <= self.now():
            raise InvalidInput("the end of access must be in the future")
        return grantee, mask

    def _grant_with_keys(self, patient: LocalAccount, grantee: str, mask: int, send) -> None:
        """Stores the key bundle of the patient's records in `mask` for `grantee` and sends the
        transaction `send(bundle)` that grants with it (`grantAccess`, `approveRequest`), under the
        patient's storage lock; a refused transaction releases the bundle."""
        with self._storage_lock(patient.address):
            bundle = self._key_bundle(patient, mask, self._key_holders(grantee))
            self._send_or_release(bundle, lambda: send(bundle),
                                  still_needed=lambda: self._bundle_named(patient.address, bundle))

    def _covered_by(self, grantee: str) -> list[str]:
        """The accounts a grant to `grantee` covers: the grantee, and a hospital's doctors. Reads
        the event index as it stands: callers catch it up (`indexed`) once per flow."""
        if self.index.roles([grantee]).get(grantee) == "hospital":
            return [grantee] + self.index.doctors_of(grantee)
        return [grantee]

    def _key_holders(self, grantee: str) -> list[str]:
        """Who receives keys with a grant: the accounts it covers, less suspended doctors."""
        self.indexed()
        covered = self._covered_by(grantee)
        return [grantee] + [doctor.address for doctor in self.participants(covered[1:]) if not doctor.suspended]

    def _key_bundle(self, patient: LocalAccount, mask: int, recipients: list[str]) -> bytes:
        """Stores the keys of the patient's current records in `mask`, wrapped for each recipient;
        returns the bundle's digest (zero when there is nothing to deliver). Entries that are not
        readable records of the patient are skipped (see `unreadable`), never fatal."""
        keys = {}
        for entry in self.all_records(patient.address):
            if not mask >> entry.category & 1:
                continue
            try:
                header = self._header(entry.digest)
                self._check_header(patient.address, entry, header)
                key = self._patient_key(patient, header)
            except IntegrityError:
                self.unreadable.append(entry)
                continue
            keys[entry.digest.hex()] = self._wrapped_for(patient, key, entry.digest, recipients)
        keys.update(self._profile_keys(patient, recipients))  # the patient's profile travels with every grant
        return self.store.put(envelope.encode_bundle(patient.address, keys)) if keys else NO_DIGEST

    def _wrapped_for(self, patient: LocalAccount, key: bytes, digest: bytes, recipients: list[str]) -> dict:
        """{recipient: `key` wrapped for it}: the entry of the object `digest` in a key bundle."""
        return {recipient: crypto.wrap_key(key, recipient, self.public_key(recipient), crypto.derived_secret(
                    patient.key, self._deployment + b"bundle|" + digest + bytes.fromhex(recipient[2:])))
                for recipient in recipients}

    def _bundle_named(self, patient: str, bundle: bytes) -> bool:
        """Whether a grant or renewal of `patient` delivered the key bundle `bundle`."""
        return self.indexed().bundle_delivered(patient, bundle)
