"""The FHIR R4 API's search and ids, without the web: a search's parameters checked, the patient's
records a provider may read narrowed by type, category and clinical date from their summaries
(a listing, logged on chain as the web's is), then by code (opening the candidates), and the page
opened and verified; every record opened is logged on chain as a read, in one transaction.

A record's API id is its patient's address and the number people see (the record's first
version's number), so it stays the same when the record is re-encrypted or corrected.
"""

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from eth_account.signers.local import LocalAccount

from app.carechain.errors import InvalidInput
from app.carechain.model import OpenedRecord, RecordEntry, checksum
from app.carechain.records import CATEGORY_OF, Category
from app.carechain.summaries import ListedRecord, moment_of

RECORD_TYPES = tuple(sorted(CATEGORY_OF))
SEARCH_PARAMETERS = ("patient", "category", "code", "date", "_count", "_offset", "_format")
PATIENT_PARAMETERS = ("name", "_count", "_offset", "_format")
DEFAULT_COUNT, MAX_COUNT = 20, 100
# FHIR category codes with a CareChain category of their own (Observation's vital-signs, laboratory).
CATEGORY_CODES = {"vital-signs": Category.VITALS, "laboratory": Category.LABS}
DATE_PREFIXES = ("eq", "ge", "gt", "le", "lt")
# The operators older clients send instead (fhirclient's $gte, $lte, $gt, $lt), longest first.
DATE_OPERATORS = {">=": "ge", "<=": "le", ">": "gt", "<": "lt"}
RESOURCE_ID = re.compile(r"(0x[0-9a-fA-F]{40})-([1-9][0-9]{0,15})")
# Where a resource names what it is, for `code`.
CODE_ELEMENTS = ("code", "medicationCodeableConcept", "vaccineCode", "type")


def resource_id(entry: RecordEntry) -> str:
    return f"{entry.patient.lower()}-{entry.origin}"


def parse_resource_id(text: str) -> tuple[str, int]:
    """(patient address, record number) of an API id."""
    match = RESOURCE_ID.fullmatch(text)
    if not match:
        raise InvalidInput(f"{text!r} is not a CareChain record id: expected <patient address>-<record number>")
    return checksum(match.group(1)), int(match.group(2))


def patient_of(reference: str) -> str:
    """The address in a `patient` parameter: an address or Patient/<address>."""
    return checksum(reference.removeprefix("Patient/"), "patient reference")


@dataclass(frozen=True)
class DateBound:
    prefix: str
    start: int  # the first second of the value's precision (a year, month, day or second)
    end: int  # the first second after it

    @classmethod
    def parse(cls, text: str) -> "DateBound":
        operator = next((operator for operator in DATE_OPERATORS if text.startswith(operator)), None)
        if operator:
            prefix, value = DATE_OPERATORS[operator], text[len(operator):]
        else:
            prefix, value = (text[:2], text[2:]) if text[:2] in DATE_PREFIXES else ("eq", text)
        try:
            start = moment_of(value)
        except ValueError:
            raise InvalidInput(f"date {text!r} is not a FHIR date or dateTime (e.g. ge2026-01-01)") from None
        if "T" in value:
            end = start + 1
        else:
            parts = value.split("-")
            begin = datetime.fromtimestamp(start, timezone.utc)
            if len(parts) == 1:
                after = begin.replace(year=begin.year + 1)
            elif len(parts) == 2:
                after = (begin + timedelta(days=32)).replace(day=1)
            else:
                after = begin + timedelta(days=1)
            end = int(after.timestamp())
        return cls(prefix, start, end)

    def admits(self, moment: int) -> bool:
        return {"eq": self.start <= moment < self.end, "ge": moment >= self.start, "gt": moment >= self.end,
                "le": moment < self.end, "lt": moment < self.start}[self.prefix]


@dataclass(frozen=True)
class Search:
    """A search of one patient's records of one FHIR type; `codes` are (system or None, code)."""

    resource_type: str
    patient: str
    categories: frozenset = frozenset()
    codes: tuple = ()
    dates: tuple = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    asked: tuple = field(default=(), compare=False)  # the parameters as given, for the page links

    @classmethod
    def parse(cls, resource_type: str, parameters: list[tuple[str, str]]) -> "Search":
        """A search from the query string's (name, value) pairs; anything unknown or malformed is refused."""
        values: dict[str, list[str]] = {}
        for name, value in parameters:
            if name not in SEARCH_PARAMETERS:
                raise InvalidInput(f"unknown search parameter {name!r}: use {', '.join(SEARCH_PARAMETERS[:-1])}")
            values.setdefault(name, []).append(value)
        patients = values.get("patient", [])
        if len(patients) != 1:
            raise InvalidInput("a search names one patient: patient=<address> (or Patient/<address>)")
        return cls(resource_type, patient_of(patients[0]),
                   frozenset(_category(code) for value in values.get("category", []) for code in value.split(",")),
                   tuple(_code(token) for value in values.get("code", []) for token in value.split(",")),
                   tuple(DateBound.parse(value) for value in values.get("date", [])),
                   _number(values, "_count", DEFAULT_COUNT, 1, MAX_COUNT), _number(values, "_offset", 0, 0, 10**9),
                   tuple((name, value) for name, value in parameters if name not in ("_offset", "_format")))

    def candidates(self, listed: list[ListedRecord]) -> list[ListedRecord]:
        """The listed records of this type, category and dates, newest first; those whose summary
        could not be read are left out (opened by id, they report why)."""
        found = [row for row in listed if row.summary and row.summary.resource_type == self.resource_type
                 and (not self.categories or row.entry.category in self.categories)
                 and all(bound.admits(row.summary.moment) for bound in self.dates)]
        return sorted(found, key=lambda row: (row.moment, row.entry.origin), reverse=True)

    def matches_code(self, resource: dict) -> bool:
        codings = [coding for element in CODE_ELEMENTS for coding in _codings(resource.get(element))]
        return any(coding.get("code") == code and system in (None, coding.get("system"))
                   for system, code in self.codes for coding in codings)


def search(carechain, reader: LocalAccount, query: Search) -> tuple[int, list[OpenedRecord]]:
    """How many of the patient's records `reader` may read match, and the page asked, opened and
    verified. Logged on chain before anything is returned, as on the web: the listing of the
    categories searched (titles, dates and types are read to filter), then the reads, in one
    transaction: the page's, or, for a search by code, every candidate opened to read its codes.
    No grant: AccessDenied with the reason."""
    listing = carechain.list_records(reader, query.patient)
    rows = query.candidates(listing.records)
    if not query.codes:
        page = rows[query.offset:query.offset + query.count]
        return len(rows), carechain.read_records(reader, query.patient, [row.entry.digest for row in page])
    opened = carechain.read_records(reader, query.patient, [row.entry.digest for row in rows])
    matching = [record for record in opened if query.matches_code(record.record.resource)]
    return len(matching), matching[query.offset:query.offset + query.count]


@dataclass(frozen=True)
class PatientSearch:
    """A search of the patients whose live grant covers the caller (its own or, for a doctor, its
    hospital's); `words` keep those whose shared profile's name holds every one."""

    words: tuple = ()
    count: int = DEFAULT_COUNT
    offset: int = 0
    asked: tuple = field(default=(), compare=False)

    @classmethod
    def parse(cls, parameters: list[tuple[str, str]]) -> "PatientSearch":
        values: dict[str, list[str]] = {}
        for name, value in parameters:
            if name not in PATIENT_PARAMETERS:
                raise InvalidInput(f"unknown Patient search parameter {name!r}: use {', '.join(PATIENT_PARAMETERS[:-1])}")
            values.setdefault(name, []).append(value)
        return cls(tuple(word for value in values.get("name", []) for word in value.casefold().split()),
                   _number(values, "_count", DEFAULT_COUNT, 1, MAX_COUNT), _number(values, "_offset", 0, 0, 10**9),
                   tuple((name, value) for name, value in parameters if name not in ("_offset", "_format")))


def search_patients(carechain, reader: LocalAccount, query: PatientSearch, own: bool = False) -> tuple[int, list[dict]]:
    """How many patients match, and the page asked as Patient resources, by name then address: the
    profile a patient shared with the caller, or only the address (the id) for one who shared none.
    `own`: the caller is a patient, who finds only itself."""
    if own:
        found = [own_patient(carechain, reader)]
    else:
        now = carechain.now()
        live = list(dict.fromkeys(access.patient for access in carechain.patients_of(reader.address)
                                  if access.grant.active(now)))
        profiles = carechain.profiles_seen_by(reader, live)
        found = [profiles[patient].resource() if patient in profiles else {"resourceType": "Patient", "id": patient}
                 for patient in live]
    found = sorted((resource for resource in found if all(word in patient_name(resource) for word in query.words)),
                   key=lambda resource: (patient_name(resource), resource["id"].lower()))
    return len(found), found[query.offset:query.offset + query.count]


def own_patient(carechain, patient: LocalAccount) -> dict:
    """A patient's own Patient resource: its profile, or only its address (the id) without one."""
    profile = carechain.own_profile(patient)
    return profile.resource() if profile else {"resourceType": "Patient", "id": patient.address}


def patient_name(resource: dict) -> str:
    """How a Patient resource sorts: family then given names; "" for one without a name, first."""
    name = (resource.get("name") or [{}])[0]
    return " ".join([name.get("family", ""), *name.get("given", [])]).casefold()


def find_record(carechain, reader: LocalAccount, resource_type: str, text: str) -> OpenedRecord | None:
    """The record of an API id, opened (the access checked on chain, verified, the read logged);
    None if the patient has no current record of that number and type."""
    patient, origin = parse_resource_id(text)
    entry = next((entry for entry in carechain.all_records(patient) if entry.origin == origin), None)
    if entry is None:
        return None
    opened = carechain.read_record(reader, patient, entry.digest)
    return opened if opened.record.resource_type == resource_type else None


def as_resource(opened: OpenedRecord) -> dict:
    """The record's FHIR resource with its API id; a document's attachment names the Binary that
    serves its file (same id)."""
    resource = {**opened.record.resource, "id": resource_id(opened.entry)}
    if opened.record.attachment:
        (content, *rest) = resource["content"]
        attachment = {**content["attachment"], "url": f"Binary/{resource['id']}"}
        resource["content"] = [{**content, "attachment": attachment}, *rest]
    return resource


def _category(code: str) -> Category:
    code = code.split("|")[-1].strip().lower()
    if code in CATEGORY_CODES:
        return CATEGORY_CODES[code]
    names = {category.name.lower(): category for category in Category}
    if code not in names:
        raise InvalidInput(f"unknown category {code!r}: use {', '.join([*CATEGORY_CODES, *names])}")
    return names[code]


def _code(token: str) -> tuple[str | None, str]:
    system, _, code = token.rpartition("|") if "|" in token else (None, "", token)
    if not code:
        raise InvalidInput(f"code {token!r} names no code: use <code> or <system>|<code>")
    return system or None, code


def _codings(concept) -> list[dict]:
    if isinstance(concept, list):
        return [coding for item in concept for coding in _codings(item)]
    return concept.get("coding", []) if isinstance(concept, dict) else []


def _number(values: dict, name: str, default: int, least: int, most: int) -> int:
    given = values.get(name, [])
    if not given:
        return default
    if len(given) > 1 or not given[-1].isdigit() or not least <= int(given[-1]):
        raise InvalidInput(f"{name} must be one whole number of at least {least}")
    return min(int(given[-1]), most)
