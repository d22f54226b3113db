"""Devices a patient pairs (a bedside hub, a phone app, a wearable gateway): pairing, revoking,
listing, and the server's small per-device state.

Pairing gives the device a credential: a random secret, shown to the patient once, from which the
device's secp256k1 key is derived (no keystore, no password). The patient authorizes the key on
chain to add the patient's vitals records, and only those, until revoked. The server keeps neither
the secret nor the key: a device sends its secret with each batch of readings and signs the batch
with its key (see ingest.py); the server derives the key while it handles that request, to sign the
device's records and transactions. What the server keeps between batches (the readings of windows
still open, the last alert) is sealed under a key derived from the same secret, so a copy of the
server's disk yields no device key and no reading.
"""

import base64
import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_keys.constants import SECPK1_N

from app.carechain import crypto, jsonfile
from app.carechain.errors import InvalidInput
from app.carechain.locks import named_lock
from app.carechain.model import checksum

SECRET_SIZE = 32
MAX_LABEL = 60


@dataclass(frozen=True)
class DeviceCredential:
    """What a paired device needs to post readings; shown once, never stored by the server."""

    api: str  # the ingestion endpoint
    device: str
    patient: str
    secret: str  # base64url, SECRET_SIZE bytes

    def to_json(self) -> str:
        return json.dumps({"carechain_device": 1, "api": self.api, "device": self.device, "patient": self.patient,
                           "secret": self.secret}, indent=2)

    @classmethod
    def from_json(cls, text: str) -> "DeviceCredential":
        try:
            data = json.loads(text)
            return cls(data["api"], checksum(data["device"]), checksum(data["patient"]), data["secret"])
        except (ValueError, KeyError, TypeError):
            raise InvalidInput("this is not a CareChain device credential") from None


def secret_bytes(secret: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
    except (ValueError, TypeError):
        raw = b""
    if len(raw) != SECRET_SIZE:
        raise InvalidInput("the device secret is malformed")
    return raw


def device_account(secret: bytes, deployment: bytes) -> LocalAccount:
    """The device's key, derived from its secret and bound to this deployment."""
    for attempt in range(256):  # a derived value outside the curve's order is astronomically rare
        key = crypto.hkdf(secret, b"carechain/v1/device key|%d|" % attempt + deployment, 32)
        if 0 < int.from_bytes(key, "big") < SECPK1_N:
            return Account.from_key(key)
    raise InvalidInput("the device secret gives no valid key")


def sealing_key(secret: bytes, deployment: bytes) -> bytes:
    """The key of what the server keeps for the device between batches."""
    return crypto.hkdf(secret, b"carechain/v1/device state|" + deployment, 32)


@dataclass
class DeviceState:
    """The server's file per device: public counters, and the sealed working state."""

    label: str
    sequence: int = 0  # the last batch accepted; a batch must carry a higher one
    accepted: int = 0
    refused: dict = field(default_factory=dict)  # reason -> readings refused
    last_seen: int = 0
    sealed: str = ""  # base64 of nonce + AES-GCM ciphertext of the working state (JSON)

    def open(self, key: bytes, device: str) -> dict:
        if not self.sealed:
            return {}
        raw = base64.b64decode(self.sealed)
        return json.loads(crypto.open_sealed(key, raw[:12], raw[12:], device.encode()))

    def seal(self, key: bytes, device: str, working: dict) -> None:
        nonce = secrets.token_bytes(12)
        self.sealed = base64.b64encode(nonce + crypto.seal(key, nonce, json.dumps(working).encode(),
                                                           device.encode())).decode()


class DeviceStates:
    """One JSON file per device in a folder of the data directory."""

    def __init__(self, folder: Path):
        self.folder = folder

    def get(self, device: str) -> DeviceState | None:
        data = jsonfile.read(self._path(device))
        return DeviceState(**data) if data else None

    def put(self, device: str, state: DeviceState) -> None:
        jsonfile.write(self._path(device), vars(state))

    def lock(self, device: str):
        """Held while a batch of `device` is handled: its batches run one at a time."""
        return named_lock("device", self.folder, device)

    def _path(self, device: str) -> Path:
        return self.folder / f"{checksum(device)}.json"


@dataclass(frozen=True)
class DeviceView:
    address: str
    label: str
    revoked: bool
    paired_at: int
    last_seen: int
    accepted: int
    refused: dict


class DeviceFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, index and device states."""

    def pair_device(self, patient: LocalAccount, label: str, api: str, spo2_scale: int = 1) -> DeviceCredential:
        """Creates a device key, authorizes it on chain for the patient's vitals, and returns the
        credential to hand to the device (once: the server keeps no copy). `spo2_scale` 2 scores
        SpO2 on NEWS2's scale for hypercapnic respiratory failure (target 88-92%), as a clinician
        prescribes; it is sealed with the device's state."""
        if spo2_scale not in (1, 2):
            raise InvalidInput("the SpO2 scale is 1, or 2 where a clinician prescribed it")
        label = " ".join((label or "").split())
        if not label or len(label) > MAX_LABEL:
            raise InvalidInput(f"name the device in 1 to {MAX_LABEL} characters, e.g. \"Bedside hub\"")
        self._require_role(patient.address, "patient")
        secret = secrets.token_bytes(SECRET_SIZE)
        device = device_account(secret, self._deployment)
        self.chain.transact(patient, "authorizeDevice", device.address, crypto.public_key_of(device.key))
        state = DeviceState(label=label)
        state.seal(sealing_key(secret, self._deployment), device.address, {"spo2_scale": spo2_scale})
        self.device_states.put(device.address, state)
        encoded = base64.urlsafe_b64encode(secret).decode().rstrip("=")
        return DeviceCredential(api, device.address, patient.address, encoded)

    def revoke_device(self, patient: LocalAccount, device: str) -> None:
        self.chain.transact(patient, "revokeDevice", checksum(device, "device address"))

    def devices(self, patient: str) -> list[DeviceView]:
        """The patient's devices, newest first, with what the server counted of their batches."""
        found = []
        for address, revoked, paired_at in reversed(self.indexed().devices_of(checksum(patient))):
            state = self.device_states.get(address) or DeviceState(label="(unnamed device)")
            found.append(DeviceView(address, state.label, revoked, paired_at, state.last_seen, state.accepted,
                                    dict(state.refused)))
        return found
