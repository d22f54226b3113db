"""Redacted copies of signed records (extraction signatures): the selective disclosure of IETF
SD-JWT (RFC 9901: salted digests of each disclosable element under one signature) over a FHIR
resource's elements, signed with EIP-712 by the record's author like every record (README,
"Redacted copies"). Pure functions: the flows are in sharing.py.

- **Elements.** Every top-level element of the resource but `resourceType`, each item of a
  top-level array on its own (`section[2]`: SD-JWT's array element disclosures), and the attached
  file as `attachment`, its value the SHA-256 of its bytes (hex).
- **Disclosures.** `[salt, path, value]`; its digest is the SHA-256 of its canonical JSON. Salts
  are 128 bits, HMAC-SHA256(salt seed, path): the seed is derived from the author's key and the
  record's identity (a retried upload seals the same bytes) and sealed in the record, so whoever
  holds a copy sees the salts of the elements shown and can guess no withheld one.
- **Signature.** Beside the record's own signature, the author signs
  `Disclosable(address patient, address author, uint8 category, uint64 createdAt,
  string resourceType, bytes32 digestsRoot)`, digestsRoot = keccak256 of the sorted digests.
- **A copy** is canonical JSON with the format marker, the signed fields, every digest (sorted),
  the disclosures shown and the signature; the attached file travels beside it when shown.
  Withheld = digests - disclosures, from the signed list: a copy cannot pass as the whole record.
"""

import hashlib
import hmac
import html
import json
import re
from dataclasses import dataclass
from functools import lru_cache

from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import is_checksum_address, keccak
from fhir.resources.R4B import get_fhir_model_class
from pydantic import TypeAdapter, ValidationError

from app.carechain.envelope import SIGNATURE_SIZE, Header, canonical_json
from app.carechain.errors import IntegrityError, InvalidInput
from app.carechain.records import CATEGORY_OF, Category, Record
from app.carechain.titles import title_of

FORMAT = "carechain/redacted-copy"
FORMAT_VERSION = 1
MARKER = b'"format":"' + FORMAT.encode() + b'"'  # no valid FHIR resource holds it (format is a Coding there)
ATTACHMENT = "attachment"
SALT_SIZE = 16
SEED_SIZE = 32
BLOCK_SIZE = SIGNATURE_SIZE + SEED_SIZE  # what a version 3 envelope seals: disclosable signature | salt seed
PATH = re.compile(r"(_?[A-Za-z][A-Za-z0-9]{0,63})(?:\[(0|[1-9][0-9]{0,5})\])?")
SALT = re.compile(r"[0-9a-f]{32}")
SHA256_HEX = re.compile(r"[0-9a-f]{64}")
BLOCK_TAG = re.compile(r"</?(?:div|p|br|li|tr|td|th|h[1-6])\b[^>]*>", re.IGNORECASE)  # a narrative's breaks
INLINE_TAG = re.compile(r"<[^>]*>")

DISCLOSABLE_TYPES = {
    "Disclosable": [
        {"name": "patient", "type": "address"},
        {"name": "author", "type": "address"},
        {"name": "category", "type": "uint8"},
        {"name": "createdAt", "type": "uint64"},
        {"name": "resourceType", "type": "string"},
        {"name": "digestsRoot", "type": "bytes32"},
    ]
}


@dataclass(frozen=True)
class Disclosure:
    salt: str  # 32 hex digits
    path: str  # "status", "section[2]", "attachment"
    value: object  # the element as JSON; for the attachment, the SHA-256 of the file (hex)

    @property
    def digest(self) -> bytes:
        return hashlib.sha256(canonical_json([self.salt, self.path, self.value])).digest()

    @property
    def element(self) -> str:
        return PATH.fullmatch(self.path)[1] if self.path != ATTACHMENT else ATTACHMENT

    @property
    def label(self) -> str:
        """What the patient chooses from: "section: Psychiatric history", "status: final"."""
        if self.path == ATTACHMENT:
            return "attachment: the attached file"
        caption = _caption(self.value)
        return f"{self.element}: {caption}" if caption else self.path

    @property
    def text(self) -> str:
        """The element in words, for a reader's page."""
        return _readable(self.value)


@dataclass(frozen=True)
class Signed:
    """The fields the author's disclosable signature covers, beside the digests' root."""

    patient: str
    author: str
    category: int
    created_at: int
    resource_type: str

    def _message(self, domain: dict, digests) -> object:
        return encode_typed_data(domain_data=domain, message_types=DISCLOSABLE_TYPES, message_data={
            "patient": self.patient, "author": self.author, "category": self.category, "createdAt": self.created_at,
            "resourceType": self.resource_type, "digestsRoot": digests_root(digests)})

    def sign(self, domain: dict, private_key: bytes, digests) -> bytes:
        return bytes(Account.sign_message(self._message(domain, digests), private_key).signature)

    def signer(self, domain: dict, signature: bytes, digests) -> str:
        try:
            return Account.recover_message(self._message(domain, digests), signature=signature)
        except Exception:  # eth-keys raises several types for malformed signatures
            raise IntegrityError("the disclosable signature is malformed") from None


def digests_root(digests) -> bytes:
    return keccak(b"".join(sorted(bytes(digest) for digest in digests)))


def salt_of(seed: bytes, path: str) -> str:
    return hmac.new(seed, path.encode(), hashlib.sha256).digest()[:SALT_SIZE].hex()


def disclosures_of(resource: dict, attachment: bytes, seed: bytes) -> tuple[Disclosure, ...]:
    """Every disclosable element of a record, salted, in the resource's order."""
    elements = []
    for name, value in resource.items():
        if name == "resourceType":
            continue
        if isinstance(value, list):
            elements += [(f"{name}[{index}]", item) for index, item in enumerate(value)]
        else:
            elements.append((name, value))
    if attachment:
        elements.append((ATTACHMENT, hashlib.sha256(attachment).hexdigest()))
    return tuple(Disclosure(salt_of(seed, path), path, value) for path, value in elements)


@dataclass(frozen=True)
class Disclosable:
    """A record's disclosures and its author's signature over their digests: what a copy is cut from."""

    signed: Signed
    signature: bytes
    disclosures: tuple[Disclosure, ...]

    def cut(self, withheld: set[str]) -> "RedactedCopy":
        """A copy showing every element but those at the paths `withheld`."""
        paths = [disclosure.path for disclosure in self.disclosures]
        unknown = sorted(set(withheld) - set(paths))
        if unknown:
            raise InvalidInput(f"the record has no element {', '.join(unknown)}")
        if not withheld:
            raise InvalidInput("choose at least one part to withhold (to share the whole record, grant access)")
        if len(withheld) == len(paths):
            raise InvalidInput("a copy must show at least one part: you chose to withhold everything")
        return RedactedCopy(self.signed, tuple(sorted(d.digest for d in self.disclosures)),
                            tuple(d for d in self.disclosures if d.path not in withheld), self.signature)


def seal_disclosable(domain: dict, private_key: bytes, signed: Signed, resource: dict, attachment: bytes,
                     seed: bytes) -> bytes:
    """The block a version 3 envelope seals before the payload: the disclosable signature and the seed."""
    digests = [disclosure.digest for disclosure in disclosures_of(resource, attachment, seed)]
    return signed.sign(domain, private_key, digests) + seed


def open_disclosable(domain: dict, header: Header, resource_json: bytes, attachment: bytes,
                     block: bytes) -> Disclosable:
    """A version 3 record's disclosures, its author's disclosable signature checked."""
    signature, seed = block[:SIGNATURE_SIZE], block[SIGNATURE_SIZE:]
    resource = json.loads(resource_json)
    signed = Signed(header.patient, header.author, header.category, header.created_at, resource["resourceType"])
    disclosures = disclosures_of(resource, attachment, seed)
    if signed.signer(domain, signature, [d.digest for d in disclosures]) != header.author:
        raise IntegrityError("the record's disclosable signature is not by its stated author")
    return Disclosable(signed, signature, disclosures)


def is_copy(content: bytes) -> bool:
    """Whether a record's content is a redacted copy rather than a FHIR resource."""
    return MARKER in content


@dataclass(frozen=True)
class RedactedCopy:
    """What a patient shares: the signed fields, every digest, the disclosures shown, the signature."""

    signed: Signed
    digests: tuple[bytes, ...]  # sorted
    disclosures: tuple[Disclosure, ...]
    signature: bytes

    def to_json(self) -> bytes:
        return canonical_json({
            "format": FORMAT, "version": FORMAT_VERSION, "patient": self.signed.patient,
            "author": self.signed.author, "category": self.signed.category, "createdAt": self.signed.created_at,
            "fhirType": self.signed.resource_type, "digests": [digest.hex() for digest in self.digests],
            "disclosures": [[d.salt, d.path, d.value] for d in self.disclosures], "signature": self.signature.hex()})

    @classmethod
    def from_json(cls, raw: bytes) -> "RedactedCopy":
        try:
            fields = json.loads(raw)
            if fields["format"] != FORMAT or fields["version"] != FORMAT_VERSION:
                raise ValueError(f"not a {FORMAT} of version {FORMAT_VERSION}")
            signed = Signed(fields["patient"], fields["author"], fields["category"], fields["createdAt"],
                            fields["fhirType"])
            digests = tuple(bytes.fromhex(digest) for digest in fields["digests"])
            disclosures = tuple(Disclosure(salt, path, value) for salt, path, value in fields["disclosures"])
            copy = cls(signed, digests, disclosures, bytes.fromhex(fields["signature"]))
            [disclosure.digest for disclosure in disclosures]  # a string JSON allows but UTF-8 does not fails here
        except (ValueError, KeyError, TypeError, RecursionError) as error:
            raise IntegrityError(f"the redacted copy is damaged ({error})") from None
        copy._check_shape()
        return copy

    def _check_shape(self) -> None:
        valid = (
            is_checksum_address(self.signed.patient) and is_checksum_address(self.signed.author)
            and type(self.signed.category) is int and 0 <= self.signed.category < 32
            and type(self.signed.created_at) is int and self.signed.created_at >= 0
            and self.signed.resource_type in CATEGORY_OF and len(self.signature) == SIGNATURE_SIZE
            and all(len(digest) == 32 for digest in self.digests) and list(self.digests) == sorted(set(self.digests))
            and all(isinstance(d.salt, str) and SALT.fullmatch(d.salt) and isinstance(d.path, str)
                    and (d.path == ATTACHMENT or PATH.fullmatch(d.path)) for d in self.disclosures)
        )
        if not valid:
            raise IntegrityError("the redacted copy has invalid fields")


@dataclass(frozen=True)
class RedactedRecord(Record):
    """The elements a copy shows, as a partial FHIR resource (an array keeps the items shown, in
    their order): never validated as a whole resource, each element on its own."""

    signed_category: Category = Category.DOCUMENTS

    @property
    def category(self) -> Category:
        return self.signed_category

    @property
    def title(self) -> str:
        try:
            shown = title_of(self.resource)
        except (KeyError, IndexError, TypeError, AttributeError):  # the elements a title needs were withheld
            shown = None
        return f"Redacted copy of {shown}" if shown and shown != self.resource_type else \
            f"Redacted copy of a {self.resource_type}"

    @property
    def content_type(self) -> str | None:
        described = (self.resource.get("content") or [{}])[0].get("attachment", {})
        return described.get("contentType") if self.attachment else None


@dataclass(frozen=True)
class VerifiedCopy:
    """A copy whose every shown element its stated author signed, unaltered."""

    copy: RedactedCopy
    record: RedactedRecord

    @property
    def author(self) -> str:
        return self.copy.signed.author

    @property
    def withheld(self) -> int:
        return len(self.copy.digests) - len(self.copy.disclosures)

    @property
    def shown(self) -> tuple[Disclosure, ...]:
        return self.copy.disclosures

    @property
    def verdict(self) -> str:
        """What a reader is told, always: "2 elements withheld by the patient, the rest verified"."""
        return f"{self.withheld} element{'s' * (self.withheld != 1)} withheld by the patient, the rest verified"


def verify_copy(domain: dict, copy: RedactedCopy, attachment: bytes) -> VerifiedCopy:
    """Checks that each shown element is one its stated author signed, unaltered and shown once,
    and the attached file the one signed; IntegrityError naming the first failure."""
    signed_digests = set(copy.digests)
    paths = [disclosure.path for disclosure in copy.disclosures]
    if len(set(paths)) != len(paths):
        raise IntegrityError("the redacted copy shows an element twice")
    for disclosure in copy.disclosures:
        if disclosure.digest not in signed_digests:
            raise IntegrityError(f"the redacted copy's element {disclosure.path} is not one its author signed "
                                 "(altered or added)")
        check_element(copy.signed.resource_type, disclosure)
    file = next((d.value for d in copy.disclosures if d.path == ATTACHMENT), None)
    if (hashlib.sha256(attachment).hexdigest() if attachment else None) != file:
        raise IntegrityError("the redacted copy's attached file is not the one its author signed")
    if copy.signed.signer(domain, copy.signature, copy.digests) != copy.signed.author:
        raise IntegrityError(f"the redacted copy's signature is not by its stated author {copy.signed.author}")
    return VerifiedCopy(copy, RedactedRecord(_partial(copy), attachment, copy.signed.created_at,
                                             Category(copy.signed.category)))


def check_element(resource_type: str, disclosure: Disclosure) -> None:
    """Refuses a shown element that is not valid FHIR of its resource type (IntegrityError)."""
    if disclosure.path == ATTACHMENT:
        if not (isinstance(disclosure.value, str) and SHA256_HEX.fullmatch(disclosure.value)):
            raise IntegrityError("the redacted copy's attachment element is not a SHA-256 digest")
        return
    name, index = PATH.fullmatch(disclosure.path).groups()
    adapter = _element_adapter(resource_type, name)
    if adapter is None:
        raise IntegrityError(f"a {resource_type} has no element {name}")
    try:
        adapter.validate_python([disclosure.value] if index is not None else disclosure.value)
    except ValidationError as error:
        raise IntegrityError(f"the redacted copy's element {disclosure.path} is not valid FHIR: "
                             f"{error.errors()[0]['msg']}") from None


@lru_cache(maxsize=256)
def _element_adapter(resource_type: str, name: str) -> TypeAdapter | None:
    """The validator of one top-level element of a FHIR resource type, by its JSON name."""
    fields = get_fhir_model_class(resource_type).model_fields
    field = next((field for key, field in fields.items() if (field.alias or key) == name), None)
    return TypeAdapter(field.annotation) if field is not None and name != "resourceType" else None


def _partial(copy: RedactedCopy) -> dict:
    resource = {"resourceType": copy.signed.resource_type}
    for disclosure in sorted(copy.disclosures, key=lambda d: _order(d.path)):
        if disclosure.path == ATTACHMENT:
            continue
        if "[" in disclosure.path:
            resource.setdefault(disclosure.element, []).append(disclosure.value)
        else:
            resource[disclosure.element] = disclosure.value
    return resource


def _order(path: str) -> tuple[str, int]:
    match = PATH.fullmatch(path)
    return (match[1], int(match[2])) if match and match[2] else (path, -1)


def _caption(value, limit: int = 60) -> str:
    """A short description of an element: its title, name, text or reference."""
    if isinstance(value, dict):
        text, codings = value.get("text"), value.get("coding")
        display = next((coding.get("display") for coding in codings if isinstance(coding, dict)
                        and coding.get("display")), None) if isinstance(codings, list) else None
        value = (value.get("title") or value.get("display") or (text if isinstance(text, str) else None)
                 or display or value.get("reference"))
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _readable(value) -> str:
    """An element in words: a narrative's text (after its title), a name, else compact JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        text = value.get("text")
        narrative = value.get("div") if "div" in value else text.get("div") if isinstance(text, dict) else None
        if isinstance(narrative, str):
            words = " ".join(html.unescape(INLINE_TAG.sub("", BLOCK_TAG.sub(" ", narrative))).split())
            return f"{value['title']}: {words}" if isinstance(value.get("title"), str) else words
        caption = _caption(value, limit=10_000)
        if caption:
            return caption
    return json.dumps(value, ensure_ascii=False, sort_keys=True)
