"""The library's view of what the chain holds: participants, index entries, opened records, grants."""

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from eth_utils import is_address, to_checksum_address

from app.carechain.errors import InvalidInput
from app.carechain.ipfs import cid_of
from app.carechain.records import Category, Record

if TYPE_CHECKING:
    from app.carechain.redaction import Disclosable, VerifiedCopy

ROLES = {0: "none", 1: "patient", 2: "hospital", 3: "doctor", 4: "device"}
NO_DIGEST = bytes(32)
ZERO_ADDRESS = "0x" + "00" * 20


@dataclass(frozen=True)
class Participant:
    address: str
    role: str
    suspended: bool
    registered_at: int
    record_count: int
    hospital: str | None  # a doctor's hospital
    patient: str | None = None  # a device's patient (a revoked device is `suspended`)

    @classmethod
    def of(cls, address: str, stored: tuple) -> "Participant | None":
        """From the contract's Participant (role, suspended, registeredAt, recordCount,
        affiliation); None for an unregistered account."""
        role, suspended, registered_at, record_count, affiliation = stored
        if role == 0:
            return None
        role = ROLES[role]
        return cls(address, role, suspended, registered_at, record_count,
                   affiliation if role == "doctor" else None, affiliation if role == "device" else None)

    @property
    def grantees(self) -> list[str]:
        """The accounts whose grants cover this participant: itself, and a doctor's hospital."""
        return [self.address, self.hospital] if self.hospital else [self.address]


class Numbering(NamedTuple):
    number: int  # the chain's number of an entry: internal
    origin: int  # the chain's number of the record's first version: the number people see


@dataclass(frozen=True)
class RecordEntry:
    """An index entry of the chain: one version of a record."""

    patient: str
    digest: bytes
    number: int  # the chain's own, internal: a re-encryption or a correction gets a new one
    origin: int  # the number of the record's first version: the one people see, the same for every version
    author: str
    category: Category
    added_at: int
    superseded_by: int  # number of the replacing record; 0 while current
    disputed: bool  # flagged by the patient (e.g. junk a write grantee indexed); the entry stays

    @classmethod
    def of(cls, patient: str, digest: bytes, numbering: Numbering, stored: tuple) -> "RecordEntry":
        """An entry from the contract's Record (author, category, addedAt, supersededBy, disputed)."""
        author, category, added_at, superseded_by, disputed = stored
        return cls(patient, bytes(digest), *numbering, author, Category(category), added_at, superseded_by, disputed)

    @property
    def has_versions(self) -> bool:
        """Whether the record was ever re-encrypted or corrected: its history has more than this entry."""
        return self.number != self.origin or self.superseded_by != 0

    @property
    def cid(self) -> str:
        return cid_of(self.digest)


@dataclass(frozen=True)
class OpenedRecord:
    """A record fetched, verified (digest, header, decryption, signature, author) and decrypted."""

    entry: RecordEntry
    record: Record
    author: str  # who signed it; the index's author differs only after a rotation by the patient
    author_role: str
    disclosable: "Disclosable | None" = None  # its signed disclosures, if it can be shared with parts removed
    redacted: "VerifiedCopy | None" = None  # a redacted copy: what it shows, how much was withheld


@dataclass(frozen=True)
class GrantView:
    patient: str
    grantee: str
    grantee_role: str
    categories: list
    can_write: bool
    expires_at: int  # 0: revoked

    def active(self, now: int) -> bool:
        return self.expires_at > now

    def seconds_left(self, now: int) -> int:
        return max(0, self.expires_at - now)


@dataclass(frozen=True)
class PatientAccess:
    """A patient who granted a doctor access, directly or through the doctor's hospital."""

    patient: str
    via: str  # the grantee: the doctor or their hospital
    grant: GrantView


def checksum(address: str, what: str = "address") -> str:
    checksummed = _checksummed(address) if isinstance(address, str) else None
    if checksummed is None:
        raise InvalidInput(f"{address!r} is not a valid {what}: expected 0x and 40 hexadecimal characters")
    if address != address.lower() and address != address.upper() and checksummed != address:
        raise InvalidInput(f"{address} has a wrong checksum: check it for typing errors")
    return checksummed


@functools.lru_cache(maxsize=4096)
def _checksummed(address: str) -> str | None:
    """The checksummed form of `address`, None if it is not one; cached, as each check costs a keccak
    or two and flows ask about the same few addresses again and again."""
    return to_checksum_address(address) if is_address(address) else None
