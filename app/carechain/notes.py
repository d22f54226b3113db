"""Notes: the free text that comes with an act on chain (why a provider asks for access, why a
doctor breaks the glass). A note may say something about the patient's health, so it is never on
chain: it is sealed like a record (envelope.py), in a category of its kind that no record has,
signed by its author (EIP-712, as records are), its key wrapped for the patient and the author
only; the act's event carries only the envelope's digest. Opening one checks that the envelope
names this patient, this author and this kind, so an event pointing at anything else (a record of
the patient, another author's note) is reported, never shown. A note opened is kept in this
process's memory for its reader (caches.py): pages that show it again (the patient's break-glass
banner on every page, the requests lists) fetch it once.
"""

import json
import unicodedata
from dataclasses import dataclass

from eth_account.signers.local import LocalAccount
from eth_utils import keccak

from app.carechain import crypto, envelope
from app.carechain.caches import ReaderCache
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.records import fhir_datetime
from app.carechain.summaries import Summary

MAX_NOTE = 1000  # characters
OPENED = ReaderCache(2_000)  # notes opened, per reader and (digest, patient, author, kind): all immutable


@dataclass(frozen=True)
class NoteKind:
    category: int  # the envelope's category: no record's (0-5) nor the profile's (31)
    format: str  # the sealed content's format marker
    title: str  # the envelope's summary title
    what: str  # in messages: "the request's reason"
    author: str  # in messages: "the provider who asked"


class NoteFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store and the storage flows."""

    def _seal_note(self, kind: NoteKind, author: LocalAccount, patient: str, text: str) -> bytes:
        """Stores `text` sealed for the patient and the author; returns the envelope's digest."""
        created_at = self.now()
        content = envelope.canonical_json({"format": kind.format, "text": text})
        body = envelope.body_of(content, b"")
        fields = dict(patient=patient, author=author.address, category=kind.category, created_at=created_at)
        signature = crypto.sign_record(self.domain, author.key, patient, author.address, kind.category, created_at,
                                       keccak(body))
        payload, _ = envelope.pack_payload(signature, content, b"")
        label = b"note|" + keccak(envelope.canonical_json({**fields, "body": keccak(body).hex()}))
        summary = Summary(kind.title, fhir_datetime(created_at), "Note")
        return self.store.put(self._encrypt(author.key, label, fields, payload, {patient, author.address},
                                            summary.to_bytes()))

    def _open_note(self, kind: NoteKind, reader: LocalAccount, digest: bytes, patient: str, author: str) -> str:
        """The text of the note `digest`, opened by the patient or the author (AccessDenied for
        anyone else; IntegrityError if it is not this author's note of this kind for this patient)."""
        # Keyed by what the check below confirmed too: another act pointing at this note is checked afresh.
        key = digest + bytes.fromhex(patient[2:]) + bytes.fromhex(author[2:]) + bytes([kind.category])
        cached = OPENED.get(reader.address, key)
        if cached is not None:
            return cached
        header, ciphertext = envelope.decode(self.store.get(digest))
        if (header.patient, header.author, header.category) != (patient, author, kind.category):
            raise IntegrityError(f"{kind.what} does not come from {kind.author} for this patient")
        wrapped = header.keys.get(reader.address)
        if wrapped is None:
            raise AccessDenied(f"only the patient and {kind.author} can read {kind.what}")
        content, _, _ = self._unseal(crypto.unwrap_key(wrapped, reader.address, reader.key), header, ciphertext)
        try:
            content = json.loads(content)
            if content["format"] != kind.format or not isinstance(content["text"], str):
                raise ValueError
        except (ValueError, KeyError, TypeError):
            raise IntegrityError(f"{kind.what} is damaged") from None
        OPENED.put(reader.address, key, content["text"])
        return content["text"]


def clean_note(text: str) -> str:
    """A note as stored: lines without surrounding or repeated spaces; InvalidInput if too long or
    holding a control or invisible character (a right-to-left override could disguise it)."""
    text = "\n".join(" ".join(line.split()) for line in (text or "").strip().splitlines()).strip()
    if len(text) > MAX_NOTE:
        raise InvalidInput(f"the reason is longer than {MAX_NOTE} characters")
    if any(unicodedata.category(character)[0] == "C" and character != "\n" for character in text):
        raise InvalidInput("the reason holds a control or invisible character")
    return text
