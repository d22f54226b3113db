"""The envelope format: round trip, and every malformed input refused as an IntegrityError."""

import struct

import pytest
from eth_account import Account

from app.carechain import crypto, envelope
from app.carechain.errors import IntegrityError

AUTHOR = Account.create()
READER = Account.create()


def sealed():
    secrets = crypto.RecordSecrets(AUTHOR.key, b"test")
    keys = {READER.address: crypto.wrap_key(secrets.key, READER.address, crypto.public_key_of(READER.key),
                                            secrets.ephemeral_secret(READER.address))}
    header = envelope.Header(AUTHOR.address, AUTHOR.address, 0, 1_700_000_000, secrets.nonce, keys)
    payload, _ = envelope.pack_payload(bytes(65), b'{"a":1}', b"file")
    return envelope.encode(header, crypto.seal(secrets.key, secrets.nonce, payload, header.associated_data()))


def test_round_trip_through_the_readers_key():
    header, ciphertext = envelope.decode(sealed())
    key = crypto.unwrap_key(header.keys[READER.address], READER.address, READER.key)
    signature, body, resource, attachment = envelope.unpack_payload(
        crypto.open_sealed(key, header.nonce, ciphertext, header.associated_data()))
    assert (signature, resource, attachment) == (bytes(65), b'{"a":1}', b"file")
    assert body == envelope.body_of(b'{"a":1}', b"file")


def test_same_secrets_give_the_same_envelope():
    assert sealed() == sealed()


@pytest.mark.parametrize("mangle, message", [
    (lambda data: data[:5], "too short"),
    (lambda data: b"XYZ" + data[3:], "not a CareChain record envelope"),
    (lambda data: data[:3] + b"\x02" + data[4:], "version 2 is not supported"),
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
