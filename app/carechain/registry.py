"""Who is who: registering patients, hospitals and doctors, suspending providers, their
roles and public keys, and funding new accounts on a local chain.
"""


from eth_account.signers.local import LocalAccount

from app.carechain import crypto
from app.carechain.errors import InvalidInput, UnknownAccount
from app.carechain.model import Participant, checksum


class RegistryFlows:
    """Flows of `CareChain` (see flows.py), which provides chain, store, journal and quota."""

    def register_patient(self, patient: LocalAccount) -> Participant:
        self.chain.transact(patient, "registerPatient", crypto.public_key_of(patient.key))
        return self.participant(patient.address)

    def register_hospital(self, admin: LocalAccount, hospital: str, public_key: bytes) -> Participant:
        hospital = checksum(hospital, "hospital address")
        self.chain.transact(admin, "registerHospital", hospital, self._own_key(hospital, public_key))
        return self.participant(hospital)

    def register_doctor(self, admin: LocalAccount, doctor: str, hospital: str, public_key: bytes) -> Participant:
        doctor = checksum(doctor, "doctor address")
        hospital = checksum(hospital, "hospital address")
        self.chain.transact(admin, "registerDoctor", doctor, hospital, self._own_key(doctor, public_key))
        return self.participant(doctor)

    def suspend_provider(self, admin: LocalAccount, provider: str) -> None:
        self.chain.transact(admin, "suspendProvider", checksum(provider, "provider address"))

    def reinstate_provider(self, admin: LocalAccount, provider: str) -> None:
        self.chain.transact(admin, "reinstateProvider", checksum(provider, "provider address"))

    def participant(self, address: str) -> Participant | None:
        address = checksum(address)
        return Participant.of(address, self.chain.call("participantOf", address))

    def standing(self, address: str) -> tuple[bool, str]:
        """Whether `address` is the consortium admin (the contract's owner now: the role can be
        handed on), and its role (as `role_of` names it), as the caught-up event index holds them:
        every page asks both, and its catch-up then serves the rest of the web request."""
        address = checksum(address)
        index = self.indexed()
        return index.owner() == address, self._or_researcher(address, index.roles([address]).get(address, "none"))

    def role_of(self, address: str) -> str:
        """An account's role ("none" if unregistered; "researcher" for a research institution, which
        is never a participant). A role never changes once registered, so the event index answers as
        it stands, and only an account it does not know is asked on chain."""
        address = checksum(address)
        role = self.index.roles([address]).get(address)
        if role is None:
            participant = self.participant(address)
            role = participant.role if participant else "none"
        return self._or_researcher(address, role)

    def _or_researcher(self, address: str, role: str) -> str:
        """Research institutions are registered in Research, not CareChain's registry."""
        return "researcher" if role == "none" and self.research.institution(address) is not None else role

    def public_key(self, address: str) -> bytes:
        """A participant's registered encryption key, from its registration event (keys never
        change, so they are cached)."""
        address = checksum(address)
        if address not in self._public_keys:
            key = self.indexed().public_key(address)
            if key is None:
                raise UnknownAccount(f"{address} is not registered")
            self._public_keys[address] = key
        return self._public_keys[address]

    def providers(self, limit: int | None = None, offset: int = 0, hospitals_only: bool = False) -> list[Participant]:
        """Registered hospitals and doctors (or hospitals only), in registration order, as their
        events left them (the contract checks every grant and registration against its own state
        anyway): all, or one page of `limit` after the first `offset`."""
        roles = ("hospital",) if hospitals_only else ("hospital", "doctor")
        return [Participant(address, role, suspended, registered_at, 0, hospital)
                for address, role, hospital, suspended, registered_at
                in self.indexed().providers(limit, offset, roles)]

    def provider_count(self) -> int:
        return self.indexed().provider_count()

    def participants(self, addresses: list[str]) -> list[Participant]:
        """Several participants from one batch request (all of them registered)."""
        found = self.chain.call_many([("participantOf", (address,)) for address in addresses])
        return [Participant.of(address, stored) for address, stored in zip(addresses, found)]

    def doctors_of(self, hospital: str) -> list[str]:
        return self.indexed().doctors_of(checksum(hospital))

    @staticmethod
    def _own_key(address: str, public_key: bytes) -> bytes:
        if crypto.address_of(bytes(public_key)) != address:
            raise InvalidInput(f"that public key does not belong to {address}")
        return bytes(public_key)

    def _require_role(self, address: str, role: str) -> str:
        address = checksum(address)
        if self.role_of(address) != role:
            raise InvalidInput(f"{address} is not a registered {role}")
        return address

    def fund(self, funder: LocalAccount, address: str, ether: float = 1.0) -> None:
        """Sends ether for gas to a new account (local chain and demos; a consortium chain with
        free gas needs no funding)."""
        self.chain.send_ether(funder, checksum(address), int(ether * 10**18))
