"""Names of hospitals and doctors, and providers' requests to be registered: public professional
details kept off chain in one JSON file, since the chain knows providers by address only.
Nothing in it is about patients.

Anyone may sign up under any name, so a sign-up files only a request; a name is shown as a
provider's only once the admin registered it (`enrol` marks the entry `registered`). Files from
before that mark hold no `registered` field: their entries count as requests. A request the admin
declines stays on file, marked `declined`, so its applicant can be told rather than mistaken for
a new account (who would be offered to register as a patient)."""

import dataclasses
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from app.carechain import crypto
from app.carechain import jsonfile
from app.carechain.errors import InvalidInput

PROVIDER_ROLES = ("hospital", "doctor")
MAX_NAME_LENGTH = 80


@dataclass(frozen=True)
class Provider:
    address: str
    name: str
    role: str  # the role asked for at sign-up, or given at registration
    public_key: str  # hex, 64 bytes: the provider's encryption key, needed to register it
    registered: bool = False  # filed by the admin's registration; False: a sign-up request
    declined: bool = False  # a request the admin declined (registering the provider clears it)


def provider_entry(address: str, name: str, role: str, public_key: bytes) -> Provider:
    """A checked directory entry: a name, a provider role, and the address's own public key."""
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("give the provider's name")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput(f"keep the name under {MAX_NAME_LENGTH} characters")
    if role not in PROVIDER_ROLES:
        raise InvalidInput(f"a provider is a {' or a '.join(PROVIDER_ROLES)}")
    if crypto.address_of(bytes(public_key)) != address:
        raise InvalidInput(f"that public key does not belong to {address}")
    return Provider(address, name, role, bytes(public_key).hex())


class ProviderDirectory:
    """The file, read once per instance (the web app makes one per request)."""

    _lock = threading.Lock()  # one writer at a time in this process

    def __init__(self, path: Path):
        self.path = Path(path)
        self._entries: dict | None = None

    def add(self, provider: Provider, replace: bool = False) -> Provider:
        """Records a provider's entry; an existing one is kept unless `replace` (the admin's
        registration, through `enrol`, is authoritative; a sign-up is not). Returns the entry now
        on file."""
        with self._lock:
            self._entries = None  # re-read under the lock: another request may have written
            entries = self._read()
            if provider.address not in entries or replace:
                entries[provider.address] = asdict(provider)
                jsonfile.write(self.path, entries)
            return Provider(**entries[provider.address])

    def file_registered(self, provider: Provider) -> Provider:
        """Files the name of a provider the admin has registered on chain, over any request
        (declined ones too: the admin may change their mind)."""
        return self.add(dataclasses.replace(provider, registered=True, declined=False), replace=True)

    def decline(self, address: str) -> Provider:
        """Marks a sign-up request declined; declining it again changes nothing. Refuses a
        registered provider (suspend them instead) and an address that asked for nothing."""
        with self._lock:
            self._entries = None  # re-read under the lock: another request may have written
            entries = self._read()
            entry = entries.get(address)
            if entry is None:
                raise InvalidInput(f"{address} has not asked to be registered")
            if entry.get("registered"):
                raise InvalidInput(f"{entry['name']} is registered: suspend them instead")
            if not entry.get("declined"):
                entry["declined"] = True
                jsonfile.write(self.path, entries)
            return Provider(**entry)

    def get(self, address: str) -> Provider | None:
        entry = self._read().get(address)
        return Provider(**entry) if entry else None

    def name_of(self, address: str) -> str | None:
        """The name of a registered provider; None for anyone else, requests included."""
        provider = self.get(address)
        return provider.name if provider and provider.registered else None

    def requests(self) -> list[Provider]:
        """Sign-up requests the admin has neither registered (yet) nor declined."""
        return [provider for provider in self.providers() if not provider.registered and not provider.declined]

    def providers(self) -> list[Provider]:
        return [Provider(**entry) for entry in self._read().values()]

    def _read(self) -> dict:
        if self._entries is None:
            self._entries = jsonfile.read(self.path)
        return self._entries


def enrol(carechain, directory: ProviderDirectory, admin, entry: Provider, hospital: str | None = None) -> None:
    """Registers a provider on chain (a doctor with their hospital), then files their name: the
    one way the admin page, the demo and the tests add a provider."""
    public_key = bytes.fromhex(entry.public_key)
    if entry.role == "hospital":
        carechain.register_hospital(admin, entry.address, public_key)
    elif not hospital:
        raise InvalidInput("choose the doctor's hospital")
    else:
        carechain.register_doctor(admin, entry.address, hospital, public_key)
    directory.file_registered(entry)
