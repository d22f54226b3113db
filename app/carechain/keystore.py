"""Encrypted keystores: one eth-account (scrypt, AES-128-CTR, Web3 Secret Storage v3) JSON file
per account. A private key never touches the disk in the clear; it exists unlocked only in the
memory of the process that holds the password."""

import contextlib
import functools
import json
import os
import secrets
import threading
from pathlib import Path

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_utils import is_address, to_checksum_address

from app.carechain.errors import CareChainError, InvalidInput, UnknownAccount, WrongPassword

MIN_PASSWORD_LENGTH = 8


class Busy(CareChainError):
    """Too many keys are waiting to be unlocked or stored in this process; nothing was done."""


class ScryptSlots:
    """At most `running` scrypt runs at once, and at most `waiting` more queued for a slot; anyone
    beyond that is refused at once (Busy) rather than queued for ever."""

    def __init__(self, running: int, waiting: int):
        self._running = threading.BoundedSemaphore(running)
        self._admitted = threading.BoundedSemaphore(running + waiting)

    def __enter__(self):
        if not self._admitted.acquire(blocking=False):
            raise Busy("the server is busy with other logins and sign-ups; try again in a moment")
        self._running.acquire()

    def __exit__(self, *_exception):
        self._running.release()
        self._admitted.release()


# scrypt as eth-account runs it takes 256 MB and most of a second per key: at most two at once per
# process, so a burst of logins queues instead of exhausting memory, and a short queue, so that a
# flood of them is turned away instead of making everyone wait.
SCRYPT_SLOTS = ScryptSlots(running=2, waiting=6)


class Keystore:
    """The keystore files in one directory, named by checksum address."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)

    def create(self, password: str) -> LocalAccount:
        """A new key pair from the OS's randomness, stored encrypted under `password`."""
        return self._store(Account.from_key(secrets.token_bytes(32)), password)

    def import_key(self, private_key: str, password: str) -> LocalAccount:
        """Stores an existing hex private key encrypted under `password`."""
        try:
            account = Account.from_key(private_key.strip())
        except (ValueError, TypeError):
            raise InvalidInput("that is not a private key: expected 64 hexadecimal characters") from None
        return self._store(account, password)

    def import_keystore(self, keystore_json: str | bytes, password: str) -> LocalAccount:
        """Adds a keystore file from elsewhere after checking that `password` opens it."""
        try:
            keystore = json.loads(keystore_json)
            if not isinstance(keystore, dict) or "crypto" not in {k.lower() for k in keystore}:
                raise ValueError
        except ValueError:
            raise InvalidInput("that file is not an Ethereum keystore (JSON with a crypto section)") from None
        account = Account.from_key(_decrypt(keystore, password))
        self._write(account.address, keystore)
        return account

    def restore(self, account: LocalAccount, password: str) -> LocalAccount:
        """Stores a key restored by its guardians (see recovery.py) under a new password, replacing
        the account's keystore here if there is one: the key is the same, the password new."""
        return self._store(account, password, replace=True)

    def unlock(self, address: str, password: str) -> LocalAccount:
        try:
            keystore = self._read(address)
        except UnknownAccount:
            # The same scrypt run as for a known account, so that timing does not tell which
            # addresses have a keystore here.
            with contextlib.suppress(WrongPassword):
                _decrypt(_decoy_keystore(), password)
            raise
        return Account.from_key(_decrypt(keystore, password))

    def addresses(self) -> list[str]:
        return sorted(path.stem for path in self.directory.glob("0x*.json"))

    def __contains__(self, address: str) -> bool:
        return is_address(address) and self._path(address).exists()

    def _store(self, account: LocalAccount, password: str, replace: bool = False) -> LocalAccount:
        if len(password) < MIN_PASSWORD_LENGTH:
            raise InvalidInput(f"choose a password of at least {MIN_PASSWORD_LENGTH} characters")
        with SCRYPT_SLOTS:
            keystore = Account.encrypt(account.key, password)
        self._write(account.address, keystore, replace)
        return account

    def _path(self, address: str) -> Path:
        return self.directory / f"{to_checksum_address(address)}.json"

    def _read(self, address: str) -> dict:
        if not is_address(address):
            raise InvalidInput(f"{address!r} is not an Ethereum address")
        try:
            return json.loads(self._path(address).read_text())
        except FileNotFoundError:
            raise UnknownAccount(f"there is no account {to_checksum_address(address)} on this server") from None

    def _write(self, address: str, keystore: dict, replace: bool = False) -> None:
        """Atomically, readable by the owner only; an existing account is overwritten only when
        restored (`replace`)."""
        path = self._path(address)
        if path.exists() and not replace:
            raise InvalidInput(f"account {address} already exists here; log in instead")
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(".tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            json.dump(keystore, file)
        os.replace(temporary, path)


@functools.cache
def _decoy_keystore() -> dict:
    """A keystore of a random key under a random password, with the KDF parameters of ours."""
    with SCRYPT_SLOTS:
        return Account.encrypt(secrets.token_bytes(32), secrets.token_hex(16))


def _decrypt(keystore: dict, password: str) -> bytes:
    try:
        with SCRYPT_SLOTS:
            return Account.decrypt(keystore, password)
    except ValueError as error:
        if "MAC mismatch" in str(error):
            raise WrongPassword("wrong password for this account") from None
        raise InvalidInput(f"the keystore cannot be read: {error}") from None
