"""Every failure the library reports, each with a message a user can act on.

Callers (the web app, scripts) catch `CareChainError` and show `str(error)`; the subclasses let
them react differently, e.g. ask for the password again or offer a retry.
"""


class CareChainError(Exception):
    """Base class: the message is meant for the user."""


class InvalidInput(CareChainError):
    """Bad input (address, date, size, type, FHIR); nothing was changed."""


class WrongPassword(CareChainError):
    """The keystore password does not open the keystore."""


class UnknownAccount(CareChainError):
    """No keystore, or no registration, for that address."""


class AccessDenied(CareChainError):
    """The chain does not (or no longer) grant this reader or author access."""


class TransactionFailed(CareChainError):
    """The chain refused or reverted a transaction; nothing changed on chain."""

    def __init__(self, message: str, error_name: str | None = None):
        super().__init__(message)
        self.error_name = error_name


class IntegrityError(CareChainError):
    """Stored data does not match what the chain indexes: tampered, swapped, forged or unreadable
    with the key at hand. Never a partial result."""


class MissingObject(IntegrityError):
    """An index entry points at nothing this deployment stores: a foreign or invented digest, or
    an object removed from the IPFS node. Pages skip and mark such entries."""


class ServiceUnavailable(CareChainError):
    """The chain or the IPFS node cannot be reached, or is not the deployment we expect."""
