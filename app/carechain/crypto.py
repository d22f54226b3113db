"""The product's cryptography, built only from `cryptography` and `eth-account` primitives.

- Records: AES-256-GCM under a key of their own, with associated data binding the ciphertext to
  its patient and metadata.
- Key wrapping: ECIES on secp256k1 (the participants' Ethereum keys): ECDH with an ephemeral key,
  HKDF-SHA256, AES-256-GCM, the recipient's address as associated data.
- Summaries (a record's title and clinical date, for lists): AES-256-GCM under a key derived
  from the record key, with the same associated data, so a list decrypts them without the body.
- Authorship: EIP-712 signatures over (patient, author, category, createdAt, contentHash).

Keys, nonces and ephemeral keys are derived with HKDF from the author's private key and the
record's identity instead of drawn at random. A retried upload therefore produces the very same
envelope and IPFS digest, so it can never be indexed twice; every key is still unique per record
(and per rotation), and only the author can derive it.
"""

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak, to_canonical_address, to_checksum_address

from app.carechain.errors import IntegrityError, InvalidInput

KEY_SIZE = 32
NONCE_SIZE = 12
SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141

RECORD_TYPES = {
    "Record": [
        {"name": "patient", "type": "address"},
        {"name": "author", "type": "address"},
        {"name": "category", "type": "uint8"},
        {"name": "createdAt", "type": "uint64"},
        {"name": "contentHash", "type": "bytes32"},
    ]
}


def hkdf(secret: bytes, info: bytes, length: int, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(secret)


class RecordSecrets:
    """The key, nonce and ephemeral-key seed of one record version, derived from the private key
    of whoever encrypts it and a label naming that version."""

    def __init__(self, private_key: bytes, label: bytes):
        material = hkdf(private_key, b"carechain/v1/record|" + label, KEY_SIZE + NONCE_SIZE + 32)
        self.key = material[:KEY_SIZE]
        self.nonce = material[KEY_SIZE : KEY_SIZE + NONCE_SIZE]
        self._ephemeral_seed = material[KEY_SIZE + NONCE_SIZE :]

    def ephemeral_secret(self, recipient: str) -> bytes:
        return hkdf(self._ephemeral_seed, b"carechain/v1/ephemeral|" + to_canonical_address(recipient), 32)


def derived_secret(private_key: bytes, label: bytes) -> bytes:
    """A 32-byte secret only the holder of `private_key` can derive, one per label."""
    return hkdf(private_key, b"carechain/v1/secret|" + label, 32)


def summary_key(record_key: bytes) -> bytes:
    """The key that seals a record's summary (title, clinical date) beside its body. A key of its
    own, so the summary may share the record's nonce; whoever holds the record key derives it."""
    return hkdf(record_key, b"carechain/v2/summary", KEY_SIZE)


def seal(key: bytes, nonce: bytes, plaintext: bytes, associated_data: bytes) -> bytes:
    return AESGCM(key).encrypt(nonce, plaintext, associated_data)


def open_sealed(key: bytes, nonce: bytes, ciphertext: bytes, associated_data: bytes) -> bytes:
    try:
        return AESGCM(key).decrypt(nonce, ciphertext, associated_data)
    except InvalidTag:
        raise IntegrityError(
            "the record does not decrypt: its ciphertext or header was altered, or the key is not its key"
        ) from None


def _public_key(raw: bytes) -> ec.EllipticCurvePublicKey:
    if len(raw) != 64:
        raise InvalidInput("a public key must be 64 bytes (uncompressed secp256k1, without prefix)")
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), b"\x04" + raw)
    except ValueError:
        raise InvalidInput("that public key is not a point on secp256k1") from None


def _private_key(raw: bytes) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256K1())


def _wrap_secrets(shared: bytes, ephemeral_public: bytes) -> tuple[bytes, bytes]:
    material = hkdf(shared, b"carechain/v1/key-wrap", KEY_SIZE + NONCE_SIZE, salt=ephemeral_public)
    return material[:KEY_SIZE], material[KEY_SIZE:]


def wrap_key(record_key: bytes, recipient: str, recipient_public_key: bytes, ephemeral_secret: bytes) -> dict:
    """ECIES-encrypts `record_key` for the holder of `recipient_public_key` (whose address is
    `recipient`). Returns {"epk": compressed ephemeral public key, "key": wrapped key}, hex."""
    scalar = int.from_bytes(ephemeral_secret, "big") % (SECP256K1_ORDER - 1) + 1
    ephemeral = ec.derive_private_key(scalar, ec.SECP256K1())
    epk = ephemeral.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)
    shared = ephemeral.exchange(ec.ECDH(), _public_key(recipient_public_key))
    kek, nonce = _wrap_secrets(shared, epk)
    wrapped = AESGCM(kek).encrypt(nonce, record_key, to_canonical_address(recipient))
    return {"epk": epk.hex(), "key": wrapped.hex()}


def unwrap_key(wrapped: dict, recipient: str, private_key: bytes) -> bytes:
    """Opens a key wrapped by `wrap_key` with the recipient's private key."""
    try:
        epk = bytes.fromhex(wrapped["epk"])
        ephemeral = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256K1(), epk)
        shared = _private_key(private_key).exchange(ec.ECDH(), ephemeral)
        kek, nonce = _wrap_secrets(shared, epk)
        return AESGCM(kek).decrypt(nonce, bytes.fromhex(wrapped["key"]), to_canonical_address(recipient))
    except (InvalidTag, ValueError, KeyError, TypeError):
        raise IntegrityError("the wrapped record key does not open with this account's key") from None


def public_key_of(private_key: bytes) -> bytes:
    """The 64-byte uncompressed public key (the form registered on chain)."""
    point = _private_key(private_key).public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return point[1:]


def address_of(public_key: bytes) -> str:
    return to_checksum_address(keccak(public_key)[-20:])


def _typed_record(domain: dict, patient: str, author: str, category: int, created_at: int, digest: bytes):
    return encode_typed_data(
        domain_data=domain,
        message_types=RECORD_TYPES,
        message_data={
            "patient": patient,
            "author": author,
            "category": category,
            "createdAt": created_at,
            "contentHash": digest,
        },
    )


def sign_record(domain: dict, private_key: bytes, patient: str, author: str, category: int, created_at: int,
                body_hash: bytes) -> bytes:
    message = _typed_record(domain, patient, author, category, created_at, body_hash)
    return bytes(Account.sign_message(message, private_key).signature)


def record_signer(domain: dict, signature: bytes, patient: str, author: str, category: int, created_at: int,
                  body_hash: bytes) -> str:
    """The address that signed these record fields (any signature recovers to some address:
    compare it with the expected author)."""
    message = _typed_record(domain, patient, author, category, created_at, body_hash)
    try:
        return Account.recover_message(message, signature=signature)
    except Exception:  # eth-keys raises several types for malformed signatures
        raise IntegrityError("the record's author signature is malformed") from None
