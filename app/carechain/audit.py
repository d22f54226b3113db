"""The patient's audit trail: grants, records, disputes, endorsements, reads and listings, devices,
acknowledged alerts and key recovery from the contract's events, paged back through the whole history
and filtered by kind.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from app.carechain.errors import InvalidInput
from app.carechain.model import checksum
from app.carechain.records import categories_in

AUDIT_KINDS = {  # event name -> kind of audit event
    "AccessGranted": "granted", "AccessRenewed": "renewed", "AccessNarrowed": "narrowed", "AccessRevoked": "revoked",
    "RecordAdded": "record added", "RecordSuperseded": "record corrected", "RecordDisputed": "record disputed",
    "RecordRead": "read", "DeviceAuthorized": "device paired", "DeviceRevoked": "device revoked",
    "AlertAcknowledged": "alert acknowledged", "RecordsListed": "listed", "ProfileUpdated": "profile updated",
    "AccessRequested": "access requested", "AccessRequestAnswered": "request approved",
    "AccessRequestWithdrawn": "request withdrawn", "RecordEndorsed": "record endorsed",
    "GuardiansSet": "guardians named", "RecoveryRequested": "recovery requested",
    "RecoveryApproved": "recovery approved", "RecoveryCancelled": "recovery cancelled", "KeyRecovered": "key recovered",
    "EmergencySummarySet": "emergency summary saved", "EmergencyDeclared": "emergency declared",
    "EmergencyConfirmed": "emergency confirmed", "EmergencyShareReleased": "emergency share released",
}
DISPUTE_WITHDRAWN = "dispute withdrawn"  # the kind of a RecordDisputed event with `disputed` false
REQUEST_DECLINED = "request declined"  # the kind of an AccessRequestAnswered event with `approved` false
# The kind of a RecordSuperseded event the patient sent: a rotation (a provider's is a correction).
# The index keeps a replacement as this one event (see index.py), its details carrying the new
# version's number and category, and here the rotation's reason if it was kept (else None).
RE_ENCRYPTED = "record re-encrypted"
AUDIT_FILTERS = {  # what the audit trail can be narrowed to: kinds of events
    "grants": ("AccessGranted", "AccessRenewed", "AccessNarrowed", "AccessRevoked", "AccessRequested",
               "AccessRequestAnswered", "AccessRequestWithdrawn"),
    "records": ("RecordAdded", "RecordSuperseded", "RecordDisputed", "RecordEndorsed"),
    "reads": ("RecordRead", "RecordsListed"),
    "devices": ("DeviceAuthorized", "DeviceRevoked", "AlertAcknowledged"),
    "profile": ("ProfileUpdated",),
    "recovery": ("GuardiansSet", "RecoveryRequested", "RecoveryApproved", "RecoveryCancelled", "KeyRecovered"),
    "emergency": ("EmergencySummarySet", "EmergencyDeclared", "EmergencyConfirmed", "EmergencyShareReleased"),
}


@dataclass(frozen=True)
class AuditEvent:
    time: int
    block: int
    log_index: int
    kind: str  # a value of AUDIT_KINDS, DISPUTE_WITHDRAWN, REQUEST_DECLINED or RE_ENCRYPTED
    actor: str
    actor_role: str  # the actor's role on chain now: patient, hospital, doctor, or none (never registered)
    details: dict

    @property
    def position(self) -> tuple[int, int]:
        """Where the event is in the chain's history; `audit_trail(before=...)` pages back from it."""
        return self.block, self.log_index


class AuditFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, journal and quota."""

    def audit_trail(self, patient: str, limit: int | None = None, kinds: Iterable[str] | None = None,
                    before: tuple[int, int] | None = None) -> list[AuditEvent]:
        """Grants, renewals, narrowings, revocations, records (added, re-encrypted, corrected),
        disputes, reads and listings, devices, profile changes and key recovery of the patient, oldest first: all
        of them, or the newest `limit`, from the event index, so a page costs the same however
        long the history. `kinds` keeps only some of AUDIT_FILTERS ("grants", "records", "reads",
        "devices", "profile", "recovery", "emergency"), so a flood of one kind hides no other. `before` (an event's
        `position`) keeps only older events: the page before `page` is
        `audit_trail(..., before=page[0].position)`."""
        patient = checksum(patient)
        found = self.indexed().events(patient, self._audit_event_names(kinds), limit, before)
        roles = self.index.roles({actor for *_, actor, _ in found})
        reasons = self.journal.reasons(patient) if any(name == "RecordSuperseded" for *_, name, _, _ in found) else {}
        trail = []
        for block, log_index, time, name, actor, details in found:
            if "categories" in details:
                details["categories"] = [c.label for c in categories_in(details["categories"])]
            kind = AUDIT_KINDS[name]
            if name == "RecordDisputed" and not details["disputed"]:
                kind = DISPUTE_WITHDRAWN
            elif name == "AccessRequestAnswered" and not details["approved"]:
                kind = REQUEST_DECLINED
            elif name == "RecordSuperseded" and actor == patient:
                kind, details["reason"] = RE_ENCRYPTED, reasons.get(details["newDigest"])
            trail.append(AuditEvent(time, block, log_index, kind, actor, roles.get(actor, "none"), details))
        return trail

    def _audit_event_names(self, kinds: Iterable[str] | None) -> list[str]:
        """The events of AUDIT_FILTERS `kinds` (all: None) that this deployment's contract has:
        one deployed before an event existed simply has none of it."""
        kinds = list(AUDIT_FILTERS) if kinds is None else list(kinds)
        unknown = [kind for kind in kinds if kind not in AUDIT_FILTERS]
        if unknown:
            raise InvalidInput(f"no such kind of audit event: {', '.join(unknown)} "
                               f"(choose from {', '.join(AUDIT_FILTERS)})")
        wanted = {name for kind in kinds for name in AUDIT_FILTERS[kind]}
        deployed = {item["name"] for item in self.chain.contract.abi if item["type"] == "event"}
        return [name for name in AUDIT_KINDS if name in wanted and name in deployed]
