"""The envelope format: round trip, and every malformed input refused as an IntegrityError."""

import dataclasses
import struct

import pytest
from eth_account import Account

from app.carechain import crypto, envelope
from app.carechain.errors import IntegrityError
from app.carechain.summaries import Summary, open_summary, seal_summary

AUTHOR = Account.create()
READER = Account.create()


BLOCK = b"\x02" * envelope.DISCLOSURE_BLOCK_SIZE  # disclosable signature and salt seed (see redaction.py)
SUMMARY = Summary("Heart rate: 72 beats/minute", "2026-11-23T09:30:00Z", "Observation")


def sealed(version=envelope.VERSION):
    secrets = crypto.RecordSecrets(AUTHOR.key, b"test")
    keys = {READER.address: crypto.wrap_key(secrets.key, READER.address, crypto.public_key_of(READER.key),
                                            secrets.ephemeral_secret(READER.address))}
    header = envelope.Header(AUTHOR.address, AUTHOR.address, 0, 1_700_000_000, secrets.nonce, keys, version=version)
    if version >= 2:
        header = dataclasses.replace(header, summary=seal_summary(secrets.key, header, SUMMARY.to_bytes()))
    payload, _ = envelope.pack_payload(bytes(65), b'{"a":1}', b"file")
    if version == envelope.DISCLOSABLE_VERSION:
        payload = BLOCK + payload
    return envelope.encode(header, crypto.seal(secrets.key, secrets.nonce, payload, header.associated_data()))


@pytest.mark.parametrize("version", envelope.READABLE_VERSIONS)
def test_round_trip_through_the_readers_key(version):
    header, ciphertext = envelope.decode(sealed(version))
    key = crypto.unwrap_key(header.keys[READER.address], READER.address, READER.key)
    block, payload = envelope.split_disclosable(
        crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data()), header.version)
    signature, body, resource, attachment = envelope.unpack_payload(payload)
    assert (signature, resource, attachment) == (bytes(65), b'{"a":1}', b"file")
    assert block == (BLOCK if version == envelope.DISCLOSABLE_VERSION else None)
    assert body == envelope.body_of(b'{"a":1}', b"file")
    assert open_summary(key, header) == (SUMMARY if version >= 2 else None)


def test_the_summary_opens_from_the_header_alone():
    """A list needs only the envelope's first bytes: the header holds the sealed summary."""
    data = sealed()
    header = envelope.decode_header(data[:envelope.header_end(data)])
    key = crypto.unwrap_key(header.keys[READER.address], READER.address, READER.key)
    assert open_summary(key, header) == SUMMARY
    assert SUMMARY.title.encode() not in data


def test_a_summary_moved_under_another_header_does_not_open():
    header = envelope.decode_header(sealed())
    key = crypto.unwrap_key(header.keys[READER.address], READER.address, READER.key)
    moved = dataclasses.replace(header, created_at=header.created_at + 1)
    with pytest.raises(IntegrityError, match="summary does not decrypt"):
        open_summary(key, moved)


def test_same_secrets_give_the_same_envelope():
    assert sealed() == sealed()


@pytest.mark.parametrize("mangle, message", [
    (lambda data: data[:5], "too short"),
    (lambda data: b"XYZ" + data[3:], "not a CareChain record envelope"),
    (lambda data: data[:3] + b"\x04" + data[4:], "version 4 is not supported"),
    (lambda data: data[:4] + struct.pack(">I", 1 << 30) + data[8:], "implausibly large"),
    (lambda data: data[:4] + struct.pack(">I", len(data)) + data[8:], "cut short"),
    (lambda data: data[:8] + b"!" + data[9:], "header is damaged"),
])
def test_malformed_envelopes_are_refused(mangle, message):
    with pytest.raises(IntegrityError, match=message):
        envelope.decode(mangle(sealed()))


def test_bundle_round_trip_and_damage():
    bundle = envelope.encode_bundle(AUTHOR.address, {"ab" * 32: {READER.address: {"epk": "", "key": ""}}})
    assert envelope.decode_bundle(bundle)[0] == AUTHOR.address
    for bad in (b"[]", b"{}", bundle.replace(b"key-bundle", b"other")):
        with pytest.raises(IntegrityError, match="key bundle is damaged"):
            envelope.decode_bundle(bad)
