"""The patient's audit trail: grants, records, disputes and reads from the contract's events, paged
back through the whole history and filtered by kind.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from app.carechain.errors import InvalidInput
from app.carechain.model import ROLES, checksum
from app.carechain.records import categories_in

AUDIT_KINDS = {  # event name -> kind of audit event
    "AccessGranted": "granted", "AccessRenewed": "renewed", "AccessNarrowed": "narrowed", "AccessRevoked": "revoked",
    "RecordAdded": "record added", "RecordSuperseded": "record replaced", "RecordDisputed": "record disputed",
    "RecordRead": "read",
}
DISPUTE_WITHDRAWN = "dispute withdrawn"  # the kind of a RecordDisputed event with `disputed` false
AUDIT_FILTERS = {  # what the audit trail can be narrowed to: kinds of events
    "grants": ("AccessGranted", "AccessRenewed", "AccessNarrowed", "AccessRevoked"),
    "records": ("RecordAdded", "RecordSuperseded", "RecordDisputed"),
    "reads": ("RecordRead",),
}


@dataclass(frozen=True)
class AuditEvent:
    time: int
    block: int
    log_index: int
    kind: str  # a value of AUDIT_KINDS, or DISPUTE_WITHDRAWN
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
        """Grants, renewals, narrowings, revocations, records, disputes and reads of the patient,
        oldest first: all of them, or the newest `limit`, found by searching back from the latest
        block in growing windows, so a page costs what the recent history costs, not the whole.
        `kinds` keeps only some of AUDIT_FILTERS ("grants", "records", "reads"), so a flood of one
        kind hides no other. `before` (an event's `position`) keeps only older events: the page
        before `page` is `audit_trail(..., before=page[0].position)`."""
        patient = checksum(patient)
        found = self._newest_events(self._audit_event_names(kinds), limit, before=before, patient=patient)
        found = found[-limit:] if limit else found
        times = self.chain.block_times(event["blockNumber"] for _, event in found)
        actors = [event["args"].get("reader") or event["args"].get("author") or patient for _, event in found]
        roles = self._roles(set(actors))
        trail = []
        for (name, event), actor in zip(found, actors):
            args = dict(event["args"])
            details = {key: (value.hex() if isinstance(value, bytes) else value)
                       for key, value in args.items() if key != "patient"}
            if "categories" in details:
                details["categories"] = [c.label for c in categories_in(details["categories"])]
            kind = DISPUTE_WITHDRAWN if name == "RecordDisputed" and not args["disputed"] else AUDIT_KINDS[name]
            trail.append(AuditEvent(times[event["blockNumber"]], event["blockNumber"], event["logIndex"], kind,
                                    actor, roles[actor], details))
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

    def _roles(self, addresses: set[str]) -> dict[str, str]:
        """The current roles of some accounts, from one batch request."""
        addresses = sorted(addresses)
        participants = self.chain.call_many([("participantOf", (address,)) for address in addresses])
        return {address: ROLES[participant[0]] for address, participant in zip(addresses, participants)}

    def _newest_events(self, names: list[str], limit: int | None, raw: bool = False,
                       before: tuple[int, int] | None = None, **indexed) -> list[tuple[str, dict]]:
        """(name, event) of the events `names` matching `indexed`, oldest first: all of them, or at
        least the newest `limit` (when there are so many), searched back in growing windows from
        the latest block, or from the position `before` (block, log index; exclusive); `raw` leaves
        them undecoded."""
        query = self.chain.raw_events if raw else self.chain.events
        first, last = self.chain.deploy_block, self.chain.latest_block()
        if before:
            last = min(last, before[0])
        if last < first:
            return []
        span = max(256, 2 * (limit or 0))
        while True:
            start = max(first, last - span + 1) if limit else first
            found = [(name, event) for name in names
                     for event in query(name, from_block=start, to_block=last, **indexed)
                     if not before or (event["blockNumber"], event["logIndex"]) < tuple(before)]
            if not limit or len(found) >= limit or start == first:
                break
            span *= 4
        found.sort(key=lambda item: (item[1]["blockNumber"], item[1]["logIndex"]))
        return found
