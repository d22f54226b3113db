"""Key recovery: a patient's private key split with Shamir's secret sharing in the SLIP-0039
format (the `shamir-mnemonic` reference implementation) into shares of which any `threshold`
restore it, each share encrypted for a registered guardian or handed over as printed words.

- Naming guardians: the key is split into one group of `threshold` of N shares (no SLIP-0039
  passphrase: the threshold is the protection, and a passphrase would be one more secret to lose).
  The registered guardians' shares are ECIES-wrapped for their registered keys, each with a salt
  of its own, in one "carechain/recovery-shares" object on IPFS whose entries name nobody (a
  guardian finds its own by trying to open them); a roster of the guardians is wrapped for the
  patient alone. On chain: the object's digest, the threshold, N, and keccak256(guardian, salt)
  per registered guardian. The printed shares are returned once and stored nowhere.
- Recovering: the person who lost the key asks from a fresh account whose key exists only in the
  web session's memory (`RecoveryRequest`); each guardian approves by publishing its share
  wrapped for that account ("carechain/recovery-share") and revealing its salt on chain; the
  requester combines the released shares with typed printed ones, the result must be the key of
  the patient's registered public key, and the restored key records the recovery on chain.
"""

import json
import random
import secrets
from dataclasses import dataclass, replace

import shamir_mnemonic
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import keccak, to_canonical_address
from shamir_mnemonic import MnemonicError, Share

from app.carechain import crypto
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.model import checksum
from app.carechain.records import canonical_json

SHARES_TYPE = "carechain/recovery-shares"
RELEASE_TYPE = "carechain/recovery-share"
MAX_SHARES = 16  # SLIP-0039's limit, and the contract's
RECOVERY_LIFETIME = 7 * 86400  # the contract's: how long a request stays open for approvals
# A SLIP-0039 share of a 256-bit secret: identifier and parameters (4 words), the value (26), the checksum (3).
SHARE_WORDS = 33
GUARDIAN_ROLES = ("patient", "doctor", "hospital")


@dataclass(frozen=True)
class GuardianSet:
    """A patient's current guardians as the chain records them; `guardians` (the registered ones)
    and `offline` (printed shares) are known only to the patient, from its roster."""

    patient: str
    version: int
    threshold: int
    share_count: int
    shares_digest: bytes
    set_at: int
    position: tuple[int, int]  # (block, log index) of its GuardiansSet event
    guardians: tuple[str, ...] | None = None
    offline: int | None = None


@dataclass(frozen=True)
class RecoveryRequest:
    """A request for `patient`'s key by `requester`, a fresh account whose key lives only in the
    memory of the session that asked: the guardians' shares are released to it."""

    patient: str
    requester: LocalAccount


@dataclass(frozen=True)
class PendingRecovery:
    """An open request for the key of a patient who named the guardian looking at it."""

    patient: str
    requester: str
    requested_at: int
    approved: bool  # by this guardian already


@dataclass(frozen=True)
class OpenRecovery:
    """An open request for the patient's own key, as the patient sees it."""

    requester: str
    requested_at: int
    approvals: tuple[str, ...]  # guardians who released their share to it


def word_shares_in(text: str) -> list[str]:
    """The printed shares typed in `text`, one per SHARE_WORDS words, however they were broken
    into lines; numbers and punctuation copied from the printout are left out."""
    words = [word.strip(".,;:").lower() for word in (text or "").split()]
    words = [word for word in words if word.isalpha()]
    if len(words) % SHARE_WORDS:
        missing = SHARE_WORDS - len(words) % SHARE_WORDS
        raise InvalidInput(f"{len(words)} words typed, but each share has {SHARE_WORDS}: "
                           f"{missing} word{'s' * (missing != 1)} missing or one too many typed")
    return [" ".join(words[i:i + SHARE_WORDS]) for i in range(0, len(words), SHARE_WORDS)]


class RecoveryFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, index and the other flows."""

    def name_guardians(self, patient: LocalAccount, guardians: list[str], offline: int, threshold: int) -> list[str]:
        """Splits the patient's key into len(guardians) + `offline` shares, any `threshold` of which
        restore it; wraps one for each registered guardian and records the set on chain, replacing
        the earlier one. Returns the `offline` printed shares (words), shown once and kept nowhere."""
        self._require_role(patient.address, "patient")
        guardians = self._checked_guardians(patient.address, guardians)
        share_count = len(guardians) + offline
        if not 0 <= offline <= MAX_SHARES or not 2 <= share_count <= MAX_SHARES:
            raise InvalidInput(f"name 2 to {MAX_SHARES} shares in all, registered guardians and printed shares")
        if not 2 <= threshold <= share_count:
            raise InvalidInput(f"the number of shares that restore the key must be from 2 to {share_count}, "
                               "the number of shares")
        (mnemonics,) = shamir_mnemonic.generate_mnemonics(1, [(threshold, share_count)], patient.key)
        salts = [secrets.token_bytes(32) for _ in guardians]
        entries = [self._wrap(guardian, {"share": mnemonic, "salt": salt.hex()})
                   for guardian, mnemonic, salt in zip(guardians, mnemonics, salts)]
        random.SystemRandom().shuffle(entries)  # the entries' order says nothing about the roster's
        shares = {"type": SHARES_TYPE, "version": 1, "patient": patient.address, "threshold": threshold,
                  "shareCount": share_count, "identifier": Share.from_mnemonic(mnemonics[0]).identifier,
                  "shares": entries,
                  "roster": self._wrap(patient.address, {"guardians": guardians, "offline": offline})}
        tags = sorted(keccak(to_canonical_address(guardian) + salt) for guardian, salt in zip(guardians, salts))
        with self._storage_lock(patient.address):
            previous = self.guardians_of(patient.address)
            digest = self.store.put(canonical_json(shares))
            self._send_or_release(digest, lambda: self.chain.transact(
                patient, "setGuardians", digest, threshold, share_count, tags), still_needed=lambda: False)
            if previous is not None and previous.shares_digest != digest:
                self.store.unpin(previous.shares_digest)
        return mnemonics[len(guardians):]

    def withdraw_guardians(self, patient: LocalAccount) -> None:
        """No guardian can approve a recovery any more. Shares already handed out still restore
        the key together: only moving to a new account takes that back (see README)."""
        with self._storage_lock(patient.address):
            previous = self.guardians_of(patient.address)
            if previous is not None:
                self.chain.transact(patient, "setGuardians", bytes(32), 0, 0, [])
                self.store.unpin(previous.shares_digest)

    def guardians_of(self, patient: str, reader: LocalAccount | None = None) -> GuardianSet | None:
        """The patient's current set (None: none named, or withdrawn); with the patient as
        `reader`, its roster too."""
        patient = checksum(patient, "patient address")
        found = self.indexed().events(patient, ["GuardiansSet"], limit=1)
        if not found or not found[0][5]["threshold"]:
            return None
        block, log_index, time, _, _, details = found[0]
        current = GuardianSet(patient, details["version"], details["threshold"], details["shareCount"],
                              bytes.fromhex(details["sharesDigest"]), time, (block, log_index))
        if reader is None or reader.address != patient:
            return current
        roster = self._unwrap(reader, self._shares_object(current)["roster"])
        return replace(current, guardians=tuple(roster["guardians"]), offline=roster["offline"])

    def request_recovery(self, patient: str, requester: LocalAccount) -> RecoveryRequest:
        """Asks the guardians of `patient` for its key, for `requester` (a fresh account with gas,
        whose key the caller keeps in memory only)."""
        patient = checksum(patient, "patient address")
        if self.guardians_of(patient) is None:
            raise InvalidInput(f"{patient} has named no guardians: its key cannot be recovered with their help")
        self.chain.transact(requester, "requestRecovery", patient, crypto.public_key_of(requester.key))
        return RecoveryRequest(patient, requester)

    def pending_recoveries(self, guardian: LocalAccount) -> list[PendingRecovery]:
        """Open requests for the keys of patients whose current set includes `guardian`, oldest
        first: one fetch of each such patient's shares object, opened by trial."""
        latest = {}
        for time, patient, details in self.indexed().recent_events("RecoveryRequested", self.now() - RECOVERY_LIFETIME):
            latest[patient, details["requester"]] = time
        asked = list(latest)
        opened = self.chain.call_many([("recoveryOf", pair) for pair in asked])
        found, shares_of = [], {}
        for (patient, requester), requested_at in zip(asked, opened):
            if not requested_at:
                continue
            if patient not in shares_of:
                shares_of[patient] = self._own_share(guardian, patient)
            if shares_of[patient] is not None:
                approved = guardian.address in self._approvals(patient, requester)
                found.append(PendingRecovery(patient, requester, requested_at, approved))
        return found

    def open_recoveries(self, patient: str) -> list[OpenRecovery]:
        """The open requests for the patient's own key, oldest first, with who approved each."""
        patient = checksum(patient, "patient address")
        latest = {details["requester"]: time for _, _, time, _, _, details in
                  self.indexed().events(patient, ["RecoveryRequested"]) if time >= self.now() - RECOVERY_LIFETIME}
        requesters = list(latest)
        opened = self.chain.call_many([("recoveryOf", (patient, requester)) for requester in requesters])
        return [OpenRecovery(requester, requested_at, tuple(self._approvals(patient, requester)))
                for requester, requested_at in zip(requesters, opened) if requested_at]

    def approve_recovery(self, guardian: LocalAccount, patient: str, requester: str) -> None:
        """Releases the guardian's share of `patient`'s key to `requester`: wrapped for the public
        key the request carries, on IPFS, its digest on chain with the guardian's salt."""
        patient = checksum(patient, "patient address")
        requester = checksum(requester, "requester address")
        if not self.chain.call("recoveryOf", patient, requester):
            raise InvalidInput("that recovery request is no longer open: cancelled, completed or older than 7 days")
        own = self._own_share(guardian, patient)
        if own is None:
            raise AccessDenied(f"you are not a guardian of {patient}'s key")
        public_key = self._request_key(patient, requester)
        release = {"type": RELEASE_TYPE, "patient": patient, "requester": requester,
                   "share": self._wrap(requester, own["share"], public_key)}
        digest = self.store.put(canonical_json(release))
        self._send_or_release(digest, lambda: self.chain.transact(
            guardian, "approveRecovery", patient, requester, bytes.fromhex(own["salt"]), digest),
            still_needed=lambda: False)

    def released_shares(self, request: RecoveryRequest) -> dict[str, str]:
        """guardian -> its share released to this request under the current set (a release that
        does not open, or of an earlier set, is left out)."""
        current = self.guardians_of(request.patient)
        if current is None:
            return {}
        found = {}
        for block, log_index, *_, details in self.indexed().events(request.patient, ["RecoveryApproved"]):
            if details["requester"] != request.requester.address or (block, log_index) < current.position:
                continue
            try:
                release = json.loads(self.store.get(bytes.fromhex(details["releasedShare"])))
                if release.get("type") == RELEASE_TYPE and release.get("patient") == request.patient:
                    found[details["guardian"]] = self._unwrap(request.requester, release["share"])
            except (IntegrityError, ValueError, AttributeError, TypeError):
                continue  # a guardian's unreadable release counts for nothing
        return found

    def recover(self, request: RecoveryRequest, word_shares: list[str]) -> LocalAccount:
        """The patient's key from the shares released to `request` and the typed `word_shares`.
        Too few shares, words that are no share, shares of another set or another key: InvalidInput
        saying what is wrong (and how many shares are still needed)."""
        current = self.guardians_of(request.patient)
        if current is None:
            raise InvalidInput(f"{request.patient} has no guardians now: its key cannot be recovered this way")
        identifier = self._shares_object(current)["identifier"]
        shares: dict[int, str] = {}
        for mnemonic in self.released_shares(request).values():
            share = _share(mnemonic)
            if share is not None and share.identifier == identifier:
                shares[share.index] = mnemonic
        released = len(shares)
        for number, words in enumerate(word_shares, 1):
            share = _share(words)
            if share is None:
                raise InvalidInput(f"printed share {number} is not a valid share: check its words for typing errors")
            if share.identifier != identifier or share.member_threshold != current.threshold:
                raise InvalidInput(f"printed share {number} belongs to another set of shares, not to the "
                                   f"guardians {request.patient} has now")
            shares[share.index] = words
        missing = current.threshold - len(shares)
        if missing > 0:
            raise InvalidInput(f"{len(shares)} of the {current.threshold} shares needed so far ({released} released "
                               f"by guardians, {len(shares) - released} typed): {missing} more needed")
        try:
            secret = shamir_mnemonic.combine_mnemonics(sorted(shares.values())[:current.threshold])
        except MnemonicError as error:
            raise InvalidInput(f"these shares do not combine: {error}") from None
        account = Account.from_key(secret)
        if account.address != request.patient:
            raise InvalidInput(f"these shares restore another key than {request.patient}'s")
        return account

    def record_recovery(self, patient: LocalAccount, requester: str | None) -> None:
        """Signed by the restored key: the patient's audit trail shows the recovery, and the
        request is closed."""
        self.chain.transact(patient, "recordRecovery", checksum(requester) if requester else "0x" + "00" * 20)

    def cancel_recovery(self, patient: LocalAccount, requester: str) -> None:
        self.chain.transact(patient, "cancelRecovery", checksum(requester, "requester address"))

    def _checked_guardians(self, patient: str, guardians: list[str]) -> list[str]:
        checked = []
        for guardian in guardians:
            guardian = checksum(guardian.strip(), "guardian address")
            if guardian == patient:
                raise InvalidInput("you cannot be your own guardian")
            if guardian in checked:
                raise InvalidInput(f"{guardian} is named twice")
            if self.role_of(guardian) not in GUARDIAN_ROLES:
                raise InvalidInput(f"{guardian} is not a registered patient, doctor or hospital")
            checked.append(guardian)
        return checked

    def _own_share(self, guardian: LocalAccount, patient: str) -> dict | None:
        """{"share", "salt"} of the guardian in the patient's current set; None if it has none."""
        current = self.guardians_of(patient)
        if current is None:
            return None
        try:
            entries = self._shares_object(current)["shares"]
        except IntegrityError:
            return None
        for entry in entries:
            try:
                return self._unwrap(guardian, entry)
            except IntegrityError:
                continue
        return None

    def _request_key(self, patient: str, requester: str) -> bytes:
        """The public key an open request of `requester` carries (the contract checked it is its own)."""
        return [bytes.fromhex(details["publicKey"]) for *_, details in
                self.indexed().events(patient, ["RecoveryRequested"]) if details["requester"] == requester][-1]

    def _approvals(self, patient: str, requester: str) -> list[str]:
        """Guardians who approved the request of `requester` under the patient's current set."""
        current = self.guardians_of(patient)
        approvals = self.index.events(patient, ["RecoveryApproved"]) if current else []
        return [details["guardian"] for block, log_index, *_, details in approvals
                if details["requester"] == requester and (block, log_index) > current.position]

    def _shares_object(self, current: GuardianSet) -> dict:
        try:
            shares = json.loads(self.store.get(current.shares_digest))
        except ValueError:
            shares = None
        if not isinstance(shares, dict) or (shares.get("type"), shares.get("patient")) != (SHARES_TYPE, current.patient):
            raise IntegrityError(f"the guardians' shares on chain for {current.patient} are not a set of its shares")
        return shares

    def _wrap(self, recipient: str, content, public_key: bytes | None = None) -> dict:
        """`content` (JSON) ECIES-encrypted for `recipient`'s registered key (or `public_key`)."""
        public_key = public_key or self.public_key(recipient)
        return crypto.wrap_key(json.dumps(content).encode(), recipient, public_key, secrets.token_bytes(32))

    @staticmethod
    def _unwrap(reader: LocalAccount, wrapped: dict):
        return json.loads(crypto.unwrap_key(wrapped, reader.address, reader.key))


def _share(words: str) -> Share | None:
    try:
        return Share.from_mnemonic(words)
    except (MnemonicError, ValueError):
        return None
