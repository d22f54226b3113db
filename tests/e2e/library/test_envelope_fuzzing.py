"""Property-based fuzzing of the parsers of everything read back from IPFS: whatever the bytes,
they either parse or raise the library's own error (IntegrityError for stored data), never
anything else."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.carechain import envelope
from app.carechain.errors import CareChainError

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def parses_or_refuses(parse, data):
    try:
        parse(data)
    except CareChainError:
        pass


def mutations_of(valid: bytes):
    """Bytes near a valid envelope: truncated, extended, or with bytes flipped."""
    return st.one_of(
        st.integers(0, len(valid)).map(lambda n: valid[:n]),
        st.binary(max_size=64).map(lambda tail: valid + tail),
        st.lists(st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)), min_size=1, max_size=8).map(
            lambda flips: bytes(b ^ dict(flips).get(i, 0) for i, b in enumerate(valid))),
    )


VALID = envelope.encode(envelope.Header(patient="0x" + "ab" * 20, author="0x" + "cd" * 20, category=0,
                                        created_at=1_700_000_000, nonce=bytes(12),
                                        keys={"0x" + "ab" * 20: {"ephemeral": "00", "nonce": "00", "key": "00"}}),
                        b"\x00" * 64)
PAYLOAD, _ = envelope.pack_payload(b"\x01" * 65, b'{"resourceType":"Observation"}', b"attached")
BUNDLE = envelope.encode_bundle("0x" + "ab" * 20, {"00" * 32: {"0x" + "cd" * 20: {"key": "00"}}})


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes_as_an_envelope(data):
    parses_or_refuses(envelope.decode, data)


@FUZZ
@given(mutations_of(VALID))
def test_damaged_envelopes(data):
    parses_or_refuses(envelope.decode, data)


@FUZZ
@given(st.one_of(st.binary(max_size=256), mutations_of(PAYLOAD)))
def test_damaged_payloads(data):
    parses_or_refuses(envelope.unpack_payload, data)


@FUZZ
@given(st.one_of(st.binary(max_size=256), mutations_of(BUNDLE)))
def test_damaged_key_bundles(data):
    parses_or_refuses(envelope.decode_bundle, data)


@FUZZ
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children,
                                                                                      max_size=4), max_leaves=20))
def test_any_json_as_a_header(value):
    header = json.dumps(value).encode()
    data = b"CCR" + bytes([1]) + len(header).to_bytes(4, "big") + header
    parses_or_refuses(envelope.decode, data)
