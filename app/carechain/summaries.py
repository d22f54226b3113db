"""What each record is, without opening it: a summary (title, clinical date, FHIR type) sealed in
the envelope's header for the same readers as the record (see envelope.py), and the listing of a
patient's records a provider may read, with filters, sorting and a search by title.

A summary is the author's statement of what the record is. The chain binds it to its author (the
envelope's digest is indexed by the author's own transaction), and opening the record checks it
against the signed content (reading.py), so a summary that misstates its record is reported as an
integrity failure the moment the record is opened.

Listing is audited once per visit, not once per record: a provider's listing is logged on chain
(`logListing`, with the categories listed) before the titles are shown, and each record opened is
logged as a read, as before. Decrypted summaries are kept in this process's memory only, per
reader, so a list shown again costs no IPFS fetch.
"""

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timezone

from eth_account.signers.local import LocalAccount

from app.carechain import crypto, envelope
from app.carechain.caches import ReaderCache
from app.carechain.errors import AccessDenied, IntegrityError, ServiceUnavailable, TransactionFailed
from app.carechain.model import RecordEntry, checksum
from app.carechain.records import WINDOW_EXTENSION, Category, Record, categories_mask, fhir_datetime

FETCHERS = 8  # envelopes fetched at once for a list
CACHED = 20_000  # summaries kept in memory (a few hundred bytes each)
MAX_TITLE = 300

# Where a resource says when it happened clinically, in order of preference.
CLINICAL_DATES = ("effectiveDateTime", "effectivePeriod.start", "effectiveInstant", "occurrenceDateTime",
                  "occurrencePeriod.start", "performedDateTime", "performedPeriod.start", "onsetDateTime",
                  "period.start", "recordedDate", "authoredOn", "issued", "date", "created")


@dataclass(frozen=True)
class Summary:
    """What a record is: its title, when it happened clinically (a FHIR date or dateTime) and its
    FHIR resource type."""

    title: str
    clinical_date: str
    resource_type: str

    @classmethod
    def of(cls, record: Record) -> "Summary":
        return cls(record.title[:MAX_TITLE], clinical_date_of(record), record.resource_type)

    def to_bytes(self) -> bytes:
        return envelope.canonical_json({"title": self.title, "date": self.clinical_date, "type": self.resource_type})

    @classmethod
    def from_bytes(cls, raw: bytes) -> "Summary":
        try:
            fields = json.loads(raw)
            summary = cls(fields["title"], fields["date"], fields["type"])
            moment_of(summary.clinical_date)
        except (ValueError, KeyError, TypeError):
            raise IntegrityError("the record's summary is damaged") from None
        if not all(isinstance(value, str) for value in (summary.title, summary.resource_type)):
            raise IntegrityError("the record's summary is damaged")
        return summary

    @property
    def moment(self) -> int:
        """The clinical date in unix seconds (a date alone: its midnight UTC), for sorting."""
        return moment_of(self.clinical_date)

    @property
    def has_time(self) -> bool:
        return "T" in self.clinical_date


def clinical_date_of(record: Record) -> str:
    """When the record's content happened: the resource's own date (measured, given, performed,
    recorded, ...), a vitals window's start, else the second the record was written."""
    resource = record.resource
    for path in CLINICAL_DATES:
        value = resource
        for key in path.split("."):
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, str):
            return value
    window = next((extension["valuePeriod"]["start"] for extension in resource.get("meta", {}).get("extension", [])
                   if extension.get("url") == WINDOW_EXTENSION), None)
    return window or fhir_datetime(record.created_at)


def moment_of(value: str) -> int:
    """Unix seconds of a FHIR date ("2026", "2026-10", "2026-10-02") or dateTime (with a zone)."""
    if "T" in value:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return int((moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp())
    parts = [int(part) for part in value.split("-")] + [1, 1]
    return int(datetime(parts[0], parts[1], parts[2], tzinfo=timezone.utc).timestamp())


def seal_summary(record_key: bytes, header: envelope.Header, summary: bytes) -> bytes:
    return crypto.seal(crypto.summary_key(record_key), header.nonce, summary, header.associated_data())


def open_summary(record_key: bytes, header: envelope.Header) -> Summary | None:
    """The header's summary opened with the record key; None in a version 1 envelope."""
    if not header.summary:
        return None
    try:
        raw = crypto.open_sealed(crypto.summary_key(record_key), header.nonce, header.summary,
                                 header.associated_data())
    except IntegrityError:
        raise IntegrityError("the record's summary does not decrypt: its header was altered") from None
    return Summary.from_bytes(raw)


@dataclass(frozen=True)
class ListedRecord:
    """An index entry and what it is: its summary and signing author (from the envelope's
    header), or why they could not be told."""

    entry: RecordEntry
    summary: Summary | None
    author: str  # the header's author: a rotation re-publishes records but keeps their author
    problem: str | None = None

    @property
    def moment(self) -> int:
        return self.summary.moment if self.summary else self.entry.added_at


@dataclass(frozen=True)
class RecordListing:
    """What a reader may do with a patient's records now, and those it may read."""

    readable: set[Category]
    writable: set[Category]
    records: list[ListedRecord]


@dataclass(frozen=True)
class RecordQuery:
    """A list's filters: a category, clinical dates from and to (inclusive), words of the title."""

    category: Category | None = None
    since: date | None = None
    until: date | None = None
    text: str = ""
    oldest_first: bool = False

    def select(self, listed: list[ListedRecord]) -> list[ListedRecord]:
        words = self.text.lower().split()
        since = self.since.isoformat() if self.since else None
        until = self.until.isoformat() if self.until else None
        found = [row for row in listed
                 if (self.category is None or row.entry.category == self.category)
                 and (not words or row.summary and all(word in row.summary.title.lower() for word in words))
                 and (since is None or row.summary and row.summary.clinical_date[:10] >= since)
                 and (until is None or row.summary and row.summary.clinical_date[:10] <= until)]
        return sorted(found, key=lambda row: (row.moment, row.entry.origin), reverse=not self.oldest_first)


class NotSharedWithReader(Exception):
    """A record the patient published for others only: left out of the reader's list."""


# Summaries (with their authors) this process decrypted (see caches.py), at most CACHED of them.
SUMMARIES = ReaderCache(CACHED)


class SummaryFlows:
    """Flows of `CareChain` (see flows.py)."""

    def list_records(self, reader: LocalAccount, patient: str, log: bool = True) -> RecordListing:
        """The patient's current records in the categories `reader` may read now, each with its
        summary, as the chain decides them. A provider's listing is logged on chain first (`log`
        False: this visit's listing was logged already)."""
        patient = checksum(patient)
        if reader.address == patient:
            readable = writable = set(Category)
        else:
            readable, writable = self.access_scope(patient, reader.address)
            if not readable:
                raise AccessDenied(self.access_problem(patient, reader.address, Category.VITALS)
                                   or "this patient has not granted you access, or has revoked it")
            if log:
                self.log_listing(reader, patient, readable)
        entries = [entry for entry in self.all_records(patient) if entry.category in readable]
        return RecordListing(readable, writable, self.summaries(reader, patient, entries))

    def log_listing(self, reader: LocalAccount, patient: str, categories) -> None:
        """Logs on chain that `reader` listed the patient's records in `categories`."""
        try:
            self.chain.transact(reader, "logListing", checksum(patient), categories_mask(categories))
        except TransactionFailed as error:
            if error.error_name == "RecordIndexUnauthorizedListing":
                raise AccessDenied("your access ended while the list was being made, so it was not shown") from None
            raise

    def summaries(self, reader: LocalAccount, patient: str, entries: list[RecordEntry]) -> list[ListedRecord]:
        """`entries` with their summaries, decrypted with the reader's key (fetched at most once
        per process); an entry whose envelope cannot be read is listed with the reason."""
        missing = [entry for entry in entries if SUMMARIES.get(reader.address, entry.digest) is None]
        with ThreadPoolExecutor(FETCHERS) as pool:
            fetched = dict(zip((entry.digest for entry in missing), pool.map(self._fetch_quietly, missing)))
        listed = []
        for entry in entries:
            known = SUMMARIES.get(reader.address, entry.digest)
            if known is None:
                try:
                    known = self._summary_of(reader, patient, entry, fetched[entry.digest])
                except NotSharedWithReader:
                    continue
                except (IntegrityError, AccessDenied, ServiceUnavailable) as error:
                    listed.append(ListedRecord(entry, None, entry.author, str(error)))
                    continue
                SUMMARIES.put(reader.address, entry.digest, known)
            listed.append(ListedRecord(entry, *known))
        return listed

    def _fetch_quietly(self, entry: RecordEntry) -> bytes | Exception:
        try:
            return self.store.get(entry.digest)
        except (IntegrityError, ServiceUnavailable) as error:
            return error

    def _summary_of(self, reader: LocalAccount, patient: str, entry: RecordEntry, data) -> tuple[Summary, str]:
        if isinstance(data, Exception):
            raise data
        header = envelope.decode_header(data)
        self._check_header(patient, entry, header)
        try:
            key = self._record_key(reader, patient, entry.digest, header)
        except AccessDenied:
            if header.author == patient and entry.category == Category.SHARED:  # a copy shared with others only
                raise NotSharedWithReader() from None
            raise
        return self._summary_in(reader, patient, entry, key, header), header.author

    def _summary_in(self, reader: LocalAccount, patient: str, entry: RecordEntry, key: bytes,
                    header: envelope.Header) -> Summary:
        """The header's summary, opened with the record key; a version 1 envelope has none, and the
        record itself, opened, tells."""
        summary = open_summary(key, header)
        return summary if summary is not None else Summary.of(
            self._open(reader, patient, entry, self.store.get(entry.digest)).record)
