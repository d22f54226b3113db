"""The byte formats stored on IPFS: record envelopes and key bundles (see README, "Envelope").

A record envelope is

    "CCR" | version (1 byte) | header length (4 bytes, big-endian) | header | ciphertext

The header is canonical JSON (sorted keys, no spaces): patient, author, category, createdAt,
nonce, `keys`, the record key wrapped for each recipient address, and (from version 2) `summary`,
the record's title and clinical date sealed under a key derived from the record key, which a list
opens without fetching past the header. Everything in the header but `keys` and `summary` is the
AES-GCM associated data of both, so neither opens under another header. Version 1 envelopes (no
summary) are still read. The ciphertext seals the payload

    signature (65 bytes) | body;   body = resource length (4 bytes) | FHIR JSON | attachment

where the EIP-712 signature covers the keccak-256 of the body. Signature and content hash stay
inside the ciphertext: in the clear they would let anyone confirm a guess of a short record.
A version 3 envelope (a record that can be shared with parts removed, see redaction.py) seals
`disclosable signature (65 bytes) | salt seed (32 bytes)` before that payload.

A key bundle (delivered with a grant) is canonical JSON:
{"format": "carechain/key-bundle", "version": 1, "patient": ..., "keys": {digest: {recipient: wrapped}}}.
"""

import json
import struct
from dataclasses import dataclass

from eth_utils import is_checksum_address

from app.carechain.errors import IntegrityError

MAGIC = b"CCR"
VERSION = 2
DISCLOSABLE_VERSION = 3  # version 2 with the disclosure block sealed before the payload
READABLE_VERSIONS = (1, 2, 3)  # version 1: no summary
PREFIX = struct.Struct(">3sBI")
SIGNATURE_SIZE = 65
DISCLOSURE_BLOCK_SIZE = SIGNATURE_SIZE + 32  # disclosable signature | salt seed
MAX_HEADER_SIZE = 4 << 20  # room for thousands of recipients; bounds what a reader accepts
BUNDLE_FORMAT = "carechain/key-bundle"
BUNDLE_VERSION = 1


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Header:
    patient: str
    author: str
    category: int
    created_at: int
    nonce: bytes
    keys: dict  # checksum address -> wrapped key (see crypto.wrap_key)
    summary: bytes = b""  # the sealed summary (see crypto.summary_key); empty in version 1
    version: int = VERSION

    def _fields(self) -> dict:
        return {
            "patient": self.patient,
            "author": self.author,
            "category": self.category,
            "createdAt": self.created_at,
            "nonce": self.nonce.hex(),
        }

    def associated_data(self) -> bytes:
        return MAGIC + bytes([self.version]) + canonical_json(self._fields())

    def to_bytes(self) -> bytes:
        return canonical_json({**self._fields(), "keys": self.keys, "summary": self.summary.hex()})

    @classmethod
    def from_bytes(cls, raw: bytes, version: int = VERSION) -> "Header":
        try:
            fields = json.loads(raw)
            header = cls(
                patient=fields["patient"],
                author=fields["author"],
                category=fields["category"],
                created_at=fields["createdAt"],
                nonce=bytes.fromhex(fields["nonce"]),
                keys=fields["keys"],
                summary=bytes.fromhex(fields["summary"]) if version >= 2 else b"",
                version=version,
            )
        except (ValueError, KeyError, TypeError) as error:
            raise IntegrityError(f"the record envelope's header is damaged ({error})") from None
        header._check()
        return header

    def _check(self) -> None:
        valid = (
            is_checksum_address(self.patient)
            and is_checksum_address(self.author)
            and type(self.category) is int
            and 0 <= self.category < 32
            and type(self.created_at) is int
            and self.created_at >= 0
            and len(self.nonce) == 12
            and isinstance(self.keys, dict)
            and all(is_checksum_address(address) and isinstance(key, dict) for address, key in self.keys.items())
            and (self.version == 1 or len(self.summary) > 16)  # a version 2 summary holds at least a GCM tag
        )
        if not valid:
            raise IntegrityError("the record envelope's header has invalid fields")


def encode(header: Header, ciphertext: bytes) -> bytes:
    raw = header.to_bytes()
    return PREFIX.pack(MAGIC, header.version, len(raw)) + raw + ciphertext


def header_end(prefix: bytes) -> int:
    """How many leading bytes of an envelope hold its header, from its first PREFIX.size bytes."""
    return PREFIX.size + _prefix(prefix)[1]


def _prefix(data: bytes) -> tuple[int, int]:
    """(version, header length) of an envelope, from its first PREFIX.size bytes."""
    if len(data) < PREFIX.size:
        raise IntegrityError("the stored object is too short to be a record envelope")
    magic, version, length = PREFIX.unpack_from(data)
    if magic != MAGIC:
        raise IntegrityError("the stored object is not a CareChain record envelope")
    if version not in READABLE_VERSIONS:
        raise IntegrityError(f"record envelope version {version} is not supported (this reader knows versions "
                             f"{READABLE_VERSIONS[0]} to {READABLE_VERSIONS[-1]})")
    if length > MAX_HEADER_SIZE:
        raise IntegrityError("the record envelope's header is implausibly large")
    return version, length


def decode_header(data: bytes) -> Header:
    version, length = _prefix(data)
    if len(data) < PREFIX.size + length:
        raise IntegrityError("the record envelope is cut short")
    return Header.from_bytes(data[PREFIX.size : PREFIX.size + length], version)


def decode(data: bytes) -> tuple[Header, bytes]:
    header = decode_header(data)
    return header, data[header_end(data) :]


def pack_payload(signature: bytes, resource_json: bytes, attachment: bytes) -> tuple[bytes, bytes]:
    """Returns (payload to seal, body whose hash is signed)."""
    body = struct.pack(">I", len(resource_json)) + resource_json + attachment
    return signature + body, body


def body_of(resource_json: bytes, attachment: bytes) -> bytes:
    return pack_payload(b"", resource_json, attachment)[1]


def split_disclosable(payload: bytes, version: int) -> tuple[bytes | None, bytes]:
    """(the disclosure block of a version 3 payload, else None; the payload after it)."""
    if version != DISCLOSABLE_VERSION:
        return None, payload
    if len(payload) < DISCLOSURE_BLOCK_SIZE:
        raise IntegrityError("the decrypted record is too short to hold its disclosable signature")
    return payload[:DISCLOSURE_BLOCK_SIZE], payload[DISCLOSURE_BLOCK_SIZE:]


def unpack_payload(payload: bytes) -> tuple[bytes, bytes, bytes, bytes]:
    """Returns (signature, body, resource JSON, attachment) of an opened payload."""
    if len(payload) < SIGNATURE_SIZE + 4:
        raise IntegrityError("the decrypted record is too short to hold a signature and a body")
    signature, body = payload[:SIGNATURE_SIZE], payload[SIGNATURE_SIZE:]
    (length,) = struct.unpack_from(">I", body)
    if 4 + length > len(body):
        raise IntegrityError("the decrypted record's body is damaged")
    return signature, body, body[4 : 4 + length], body[4 + length :]


def encode_bundle(patient: str, keys: dict) -> bytes:
    return canonical_json({"format": BUNDLE_FORMAT, "version": BUNDLE_VERSION, "patient": patient, "keys": keys})


def decode_bundle(data: bytes) -> tuple[str, dict]:
    """Returns (patient, {digest hex: {recipient: wrapped key}})."""
    try:
        bundle = json.loads(data)
        if bundle["format"] != BUNDLE_FORMAT or bundle["version"] != BUNDLE_VERSION:
            raise ValueError("unknown format or version")
        patient, keys = bundle["patient"], bundle["keys"]
        if not isinstance(keys, dict) or not all(isinstance(v, dict) for v in keys.values()):
            raise ValueError("keys must map record digests to recipients")
        return patient, keys
    except (ValueError, KeyError, TypeError) as error:
        raise IntegrityError(f"the key bundle is damaged ({error})") from None
