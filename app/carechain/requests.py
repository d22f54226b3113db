"""Access requests: a registered doctor or hospital asks a patient for access (categories, read or
read and add, for how long, and why); the patient approves, in the scope it chooses, which grants
with the record keys in the same transaction (as `grant` does), or declines; the provider may
withdraw its request. Every step is an event of the patient's audit trail.

- The chain (AccessRequests.sol) holds one open request per provider and patient, lapsing after
  REQUEST_LIFETIME, and refuses requests from unregistered or suspended accounts. The pages read
  requests and their outcomes from the event index; the chain decides every answer.
- The reason may say something about the patient's health, so it is not on chain: it is a note
  (notes.py) sealed for the patient and the provider only, and only its digest is in the event.
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace

from eth_account.signers.local import LocalAccount

from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.locks import named_lock
from app.carechain.model import NO_DIGEST, GrantView, checksum
from app.carechain.notes import NoteKind, clean_note
from app.carechain.records import Category, categories_in, categories_mask

REQUEST_LIFETIME = 30 * 86400  # AccessRequests.REQUEST_LIFETIME
MAX_DURATION = 3650 * 86400  # AccessGrants.MAX_GRANT_DURATION
REASON = NoteKind(30, "carechain/access-request-reason", "Reason for an access request", "the request's reason",
                  "the provider who asked")
REQUEST_EVENTS = ("AccessRequested", "AccessRequestAnswered", "AccessRequestWithdrawn")
NOT_OPEN = "this request is no longer open: it was answered, withdrawn or lapsed"


@dataclass(frozen=True)
class AccessRequest:
    """A provider's latest request to a patient, as its events left it."""

    patient: str
    provider: str
    categories: list[Category]
    can_write: bool
    duration: int  # seconds of access asked for
    reason: bytes  # digest of the sealed reason on IPFS; NO_DIGEST: none given
    requested_at: int
    outcome: str  # open, approved, declined, withdrawn or lapsed
    answered_at: int = 0  # when approved, declined or withdrawn

    @property
    def lapses_at(self) -> int:
        return self.requested_at + REQUEST_LIFETIME


class RequestFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, index and the grant flows."""

    def request_access(self, provider: LocalAccount, patient: str, categories: Iterable, can_write: bool,
                       duration: int, reason: str = "") -> AccessRequest:
        """Asks `patient` for access for `duration` seconds, with an optional reason sealed for the
        patient and the provider. The same request sent twice at once is sent once: the second
        finds the first open and is refused in words."""
        patient = self._require_role(checksum(patient, "patient address"), "patient")
        mask = self._check_request(provider.address, patient, categories, can_write, duration)
        reason = clean_note(reason)
        with named_lock("access request", self.chain.address, patient, provider.address):
            if self.chain.call("requestOf", patient, provider.address):
                raise InvalidInput("you already asked this patient for access: wait for the answer, or withdraw "
                                   "that request first")
            digest = self._seal_note(REASON, provider, patient, reason) if reason else NO_DIGEST
            self._send_or_release(digest, lambda: self.chain.transact(
                provider, "requestAccess", patient, mask, bool(can_write), int(duration), digest),
                still_needed=lambda: False)  # a reason object is its request's alone
        return self.request_between(patient, provider.address)

    def withdraw_request(self, provider: LocalAccount, patient: str) -> None:
        patient = checksum(patient, "patient address")
        self._answer(lambda: self.chain.transact(provider, "withdrawRequest", patient))

    def approve_request(self, patient: LocalAccount, provider: str, categories: Iterable, can_write: bool,
                        expires_at: int) -> GrantView:
        """Grants the provider access in the scope the patient chose (what was asked, less or more),
        delivering the keys of the records in scope in the same transaction, as `grant` does."""
        provider, mask = self._check_grant(patient, provider, categories, expires_at)
        if not self.chain.call("requestOf", patient.address, provider):
            raise InvalidInput(NOT_OPEN)
        current = self.grant_of(patient.address, provider)
        if current.active(self.now()):
            raise InvalidInput("this provider already has access to your records: decline the request, and renew "
                               "or narrow that grant on the Access page instead")
        self._answer(lambda: self._grant_with_keys(patient, provider, mask, lambda bundle: self.chain.transact(
            patient, "approveRequest", provider, mask, bool(can_write), int(expires_at), bundle)))
        return self.grant_of(patient.address, provider)

    def decline_request(self, patient: LocalAccount, provider: str) -> None:
        provider = checksum(provider, "provider address")
        self._answer(lambda: self.chain.transact(patient, "declineRequest", provider))

    def requests_to(self, patient: str) -> list[AccessRequest]:
        """Each provider's latest request to the patient, newest first."""
        patient = checksum(patient)
        rows = self.indexed().events(patient, REQUEST_EVENTS)
        return self._latest((block, log_index, time, name, patient, details)
                            for block, log_index, time, name, _, details in rows)

    def requests_by(self, provider: str) -> list[AccessRequest]:
        """The provider's latest request to each patient it asked, newest first."""
        return self._latest(self.indexed().events_by(checksum(provider), REQUEST_EVENTS))

    def request_between(self, patient: str, provider: str) -> AccessRequest | None:
        provider = checksum(provider, "provider address")
        return next((request for request in self.requests_to(patient) if request.provider == provider), None)

    def request_reason(self, reader: LocalAccount, request: AccessRequest) -> str:
        """The reason of a request, opened by the patient or the provider; "" when none was given
        (see notes.py)."""
        if request.reason == NO_DIGEST:
            return ""
        return self._open_note(REASON, reader, request.reason, request.patient, request.provider)

    def _check_request(self, provider: str, patient: str, categories: Iterable, can_write: bool,
                       duration: int) -> int:
        """The scope's bit mask, once the request is one the chain would take and not one the
        provider's own grant already gives; else why not, in words."""
        participant = self.participant(provider)
        if participant is None or participant.role not in ("doctor", "hospital"):
            raise AccessDenied("only registered doctors and hospitals can ask for access")
        if participant.suspended:
            raise AccessDenied("your account is suspended")
        mask = categories_mask(categories)
        if mask == 0:
            raise InvalidInput("choose at least one category")
        if not 0 < int(duration) <= MAX_DURATION:
            raise InvalidInput("access can be asked for at least a day and at most ten years")
        current = self.grant_of(patient, provider)
        if current.active(self.now()) and mask & ~categories_mask(current.categories) == 0 \
                and (current.can_write or not can_write):
            raise InvalidInput("this patient's grant already gives you that access")
        return mask

    @staticmethod
    def _answer(send) -> None:
        """Sends an answer to (or the withdrawal of) an open request; one already closed, by a
        second tab or a double click, is said in words."""
        try:
            send()
        except TransactionFailed as error:
            if error.error_name == "AccessRequestsNoOpenRequest":
                raise InvalidInput(NOT_OPEN) from None
            raise

    def _latest(self, rows: Iterable[tuple]) -> list[AccessRequest]:
        """Folds request events (block, log_index, time, name, patient, details), oldest first,
        into each (patient, provider)'s latest request, newest first."""
        latest: dict[tuple[str, str], AccessRequest] = {}
        for _, _, time, name, patient, details in rows:
            key = (patient, details["provider"])
            if name == "AccessRequested":
                latest.pop(key, None)  # keeps `latest` in the order of the requests
                latest[key] = AccessRequest(patient, details["provider"], categories_in(details["categories"]),
                                            details["writable"], details["duration"], bytes.fromhex(details["reason"]),
                                            time, "open")
            elif key in latest and latest[key].outcome == "open":
                outcome = ("withdrawn" if name == "AccessRequestWithdrawn"
                           else "approved" if details["approved"] else "declined")
                latest[key] = replace(latest[key], outcome=outcome, answered_at=time)
        now = self.now()
        found = [replace(request, outcome="lapsed") if request.outcome == "open" and now >= request.lapses_at
                 else request for request in latest.values()]
        return found[::-1]

