"""A patient's contribution to research: de-identified data built by the patient's own client from
the patient's current records, sealed for the research steward, stored on IPFS, its digest on
chain (Research.setContribution).

- What it holds (research_stats.Contribution): an age band (from the profile's birth date, as of
  today), a sex (from the profile; "unknown" without one), for Conditions and Medications the codes
  ("system|code") of the patient's current records, for Vitals and Labs the mean value per code
  (components such as blood pressure's count as codes of their own). Never a name, a date, an
  address, free text or a record's identity; a concept written only in words is left out.
- The sealed object is JSON: a header (format, patient, steward, the datasets, when) that is the
  associated data of AES-256-GCM over the contribution, its key wrapped (crypto.wrap_key) for the
  steward and for the patient, who may look at exactly what the steward sees.
- Replacing or withdrawing a contribution unpins the earlier object once the chain took the change.
- Who contributed what, and when, follows from the ContributionSet and StewardSet events: the
  steward answers from the state at a block it names in its result, and a patient's list of the
  queries that used their data is computed from the same events.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from statistics import fmean

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto
from app.carechain.errors import CareChainError, IntegrityError, InvalidInput
from app.carechain.model import NO_DIGEST
from app.carechain.records import Category, categories_in, categories_mask
from app.carechain.research import ANSWERED, NOBODY, ResearchQuery, canonical
from app.carechain.research_stats import CODE, CODED, DATASETS, MEASURED, Contribution, age_band, dataset_of

FORMAT = "carechain/research-contribution/1"
CODED_FIELDS = ("code", "medicationCodeableConcept", "vaccineCode")  # where a coded record names what it is


@dataclass(frozen=True)
class Contributor:
    """A patient's contribution as the chain held it at some block."""

    patient: str
    datasets: tuple[Category, ...]
    digest: bytes
    steward: str  # the steward it was sealed for
    block: int
    updated_at: int = 0  # when the patient last set it (known for the current one)

    def covers(self, dataset: Category, steward: str) -> bool:
        return dataset in self.datasets and self.steward == steward


class Contributions:
    """Flows around contributions, over a `CareChain` connection and its `Research` client."""

    def __init__(self, carechain):
        self.carechain = carechain
        self.research = carechain.research
        # The events read so far, until this connection sends a transaction: a page asks for a
        # patient's history and the stewards' more than once.
        self._read: dict[tuple, list] = {}

    # The patient's side

    def build(self, patient: LocalAccount, datasets) -> Contribution:
        """The contribution the patient's current records in `datasets` make now."""
        datasets = _datasets(datasets)
        profile = self.carechain.own_profile(patient)
        today = datetime.now(timezone.utc).date()
        band = age_band(profile.birth_date if profile else None, today)
        sex = profile.gender if profile else "unknown"
        entries = [entry for entry in self.carechain.all_records(patient.address)
                   if entry.category in datasets and not entry.disputed]
        codes = {dataset: set() for dataset in datasets if dataset in CODED}
        values = {dataset: defaultdict(list) for dataset in datasets if dataset in MEASURED}
        for opened in self._open_records(patient, entries):
            resource, category = opened.record.resource, opened.entry.category
            if category in codes:
                codes[category] |= codes_of(resource)
            elif category in values:
                for code, value in measures_of(resource):
                    values[category][code].append(value)
        measures = {dataset: {code: round(fmean(found), 6) for code, found in per_code.items()}
                    for dataset, per_code in values.items()}
        return Contribution(band, sex, {dataset: frozenset(found) for dataset, found in codes.items()}, measures)

    def contribute(self, patient: LocalAccount, datasets) -> Contribution | None:
        """Opts the patient in to exactly `datasets` with a contribution built now (none: opts
        out), sealed for the current steward; replaces and unpins any earlier one."""
        datasets = _datasets(datasets)
        if not datasets:
            self.withdraw(patient)
            return None
        named = self.research.steward()
        if named is None:
            raise InvalidInput("the administrator has not named a research steward yet: nobody could open it")
        contribution = self.build(patient, datasets)
        digest = self._seal(patient, named, datasets, contribution)
        earlier = self._digest_of(patient.address)
        try:
            self.research.chain.transact(patient, "setContribution", categories_mask(datasets), digest)
        except CareChainError:
            if digest != earlier:
                self.carechain.store.unpin(digest)
            raise
        if earlier not in (NO_DIGEST, digest):
            self.carechain.store.unpin(earlier)
        return contribution

    def withdraw(self, patient: LocalAccount) -> None:
        """Opts the patient out of every dataset and unpins the contribution."""
        earlier = self._digest_of(patient.address)
        self.research.chain.transact(patient, "setContribution", 0, NO_DIGEST)
        if earlier != NO_DIGEST:
            self.carechain.store.unpin(earlier)

    def current(self, patient: str) -> Contributor | None:
        """The patient's contribution now (None: not contributing)."""
        steward, categories, updated_at, digest = self.research.chain.call("contributionOf", patient)
        if bytes(digest) == NO_DIGEST:
            return None
        return Contributor(patient, tuple(categories_in(categories)), bytes(digest), steward,
                           self.research.chain.latest_block(), updated_at)

    def records_since(self, current: Contributor) -> int:
        """How many records the patient gained in the contributed categories since the contribution
        was last set (new records, not corrections or re-encryptions): what an update would add."""
        history = self._history(current.patient)
        set_in = history[-1].block if history else 0
        return self.carechain.indexed().records_added_after(current.patient, set_in, current.datasets)

    def own(self, patient: LocalAccount) -> Contribution | None:
        """The patient's current contribution opened with the patient's key: what the steward sees."""
        current = self.current(patient.address)
        return self.open(patient, current) if current else None

    def used_by(self, patient: str) -> list[ResearchQuery]:
        """The answered queries that counted this patient's contribution: those answered from a
        state (the block the result names) in which the patient was opted in to the query's
        dataset with a contribution sealed for the steward then named. Newest first."""
        history = self._history(patient)
        if not history:
            return []
        stewards = self._stewards()
        used = []
        for query in self.research.queries():
            block = (query.result or {}).get("asOfBlock")
            if query.status != ANSWERED or not isinstance(block, int):
                continue
            state = _at(history, block)
            if state is not None and state.covers(query.dataset, _steward_at(stewards, block)):
                used.append(query)
        return used

    # The steward's side

    def contributors_at(self, block: int) -> list[Contributor]:
        """Every patient contributing in the state after `block`, from the events."""
        stewards = self._stewards()
        latest: dict[str, tuple[int, dict]] = {}
        for event in self.research.chain.events("ContributionSet"):
            if event["blockNumber"] <= block:
                latest[event["args"]["patient"]] = (event["blockNumber"], event["args"])
        return [Contributor(patient, tuple(categories_in(args["categories"])), bytes(args["contribution"]),
                            _steward_at(stewards, set_in), set_in)
                for patient, (set_in, args) in latest.items() if args["categories"]]

    def open(self, reader: LocalAccount, contributor: Contributor) -> Contribution:
        """The contribution of `contributor`, opened by its steward or its patient and checked
        against what the chain says: this patient, this steward, these datasets."""
        try:
            sealed = json.loads(self.carechain.store.get(contributor.digest))
            header = {key: sealed[key] for key in ("format", "patient", "steward", "categories", "createdAt")}
            wrapped = sealed["keys"].get(reader.address)
            nonce, ciphertext = bytes.fromhex(sealed["nonce"]), bytes.fromhex(sealed["ciphertext"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IntegrityError("the contribution is not a sealed contribution") from None
        if (header["format"], header["patient"], header["steward"], header["categories"]) != (
                FORMAT, contributor.patient, contributor.steward, categories_mask(contributor.datasets)):
            raise IntegrityError("the contribution is not this patient's for this steward and these datasets")
        if wrapped is None:
            raise IntegrityError("the contribution is not sealed for this account")
        key = crypto.unwrap_key(wrapped, reader.address, reader.key)
        plaintext = crypto.open_sealed(key, nonce, ciphertext, canonical(header))
        try:
            contribution = Contribution.from_json(json.loads(plaintext))
        except (ValueError, InvalidInput) as error:
            raise IntegrityError(f"the contribution is malformed: {error}") from None
        if {d for d in DATASETS if contribution.holds(d)} != set(contributor.datasets):
            raise IntegrityError("the contribution holds other datasets than the patient opted in to")
        return contribution

    # Internals

    def _seal(self, patient: LocalAccount, steward: tuple[str, bytes], datasets, contribution: Contribution) -> bytes:
        steward_address, steward_key = steward
        header = {"format": FORMAT, "patient": patient.address, "steward": steward_address,
                  "categories": categories_mask(datasets), "createdAt": self.carechain.now()}
        plaintext = canonical(contribution.to_json())
        chain = self.research.chain
        label = b"%d|" % chain.chain_id + bytes.fromhex(chain.address[2:]) + b"|research|"
        secrets = crypto.RecordSecrets(patient.key, label + keccak(canonical(header) + plaintext))
        readers = {patient.address: crypto.public_key_of(patient.key), steward_address: steward_key}
        keys = {reader: crypto.wrap_key(secrets.key, reader, public_key, secrets.ephemeral_secret(reader))
                for reader, public_key in sorted(readers.items())}
        sealed = {**header, "nonce": secrets.nonce.hex(), "keys": keys,
                  "ciphertext": crypto.seal(secrets.key, secrets.nonce, plaintext, canonical(header)).hex()}
        return self.carechain.store.put(canonical(sealed))

    def _digest_of(self, patient: str) -> bytes:
        return bytes(self.research.chain.call("contributionOf", patient)[3])

    def _history(self, patient: str) -> list[Contributor]:
        def read():
            stewards = self._stewards()
            return [Contributor(patient, tuple(categories_in(event["args"]["categories"])),
                                bytes(event["args"]["contribution"]), _steward_at(stewards, event["blockNumber"]),
                                event["blockNumber"])
                    for event in self.research.chain.events("ContributionSet", patient=patient)]

        return self._once(("history", patient), read)

    def _stewards(self) -> list[tuple[int, str]]:
        return self._once(("stewards",), self.research.steward_history)

    def _once(self, key: tuple, read) -> list:
        """`read()`, read again only after this connection sent a transaction."""
        key += (len(self.research.chain.receipts),)
        if key not in self._read:
            self._read[key] = read()
        return self._read[key]

    def _open_records(self, patient: LocalAccount, entries) -> list:
        """The patient's records, opened without logging; one that does not open is left out."""
        try:
            return self.carechain.read_records(patient, patient.address, [e.digest for e in entries], log=False)
        except IntegrityError:
            opened = []
            for entry in entries:
                try:
                    opened.append(self.carechain.read_record(patient, patient.address, entry.digest, log=False))
                except IntegrityError:
                    continue
            return opened


def codes_of(resource: dict) -> set[str]:
    """The "system|code" tokens naming what a coded record is (a concept in words only: none)."""
    return {token for field in CODED_FIELDS for token in _tokens(resource.get(field))}


def measures_of(resource: dict) -> list[tuple[str, float]]:
    """(code, value) of each quantity an Observation holds, its components' included; of each
    Observation of a Bundle (a device's window of vital signs)."""
    if resource.get("resourceType") == "Bundle":
        return [found for entry in resource.get("entry", []) for found in measures_of(entry.get("resource") or {})]
    if resource.get("resourceType") != "Observation":
        return []
    found = []
    for part in [resource, *resource.get("component", [])]:
        value = (part.get("valueQuantity") or {}).get("value")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            found += [(token, float(value)) for token in _tokens(part.get("code"))]
    return found


def _tokens(concept) -> set[str]:
    if not isinstance(concept, dict):
        return set()
    tokens = {f"{coding.get('system')}|{coding.get('code')}" for coding in concept.get("coding", [])
              if coding.get("system") and coding.get("code")}
    return {token for token in tokens if CODE.match(token)}


def _datasets(datasets) -> tuple[Category, ...]:
    return tuple(sorted({dataset_of(dataset) for dataset in datasets}))


def _at(history: list[Contributor], block: int) -> Contributor | None:
    state = None
    for contributor in history:
        if contributor.block <= block:
            state = contributor
    return state


def _steward_at(stewards: list[tuple[int, str]], block: int) -> str:
    named = NOBODY
    for named_in, steward in stewards:
        if named_in <= block:
            named = steward
    return named
