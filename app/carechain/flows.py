"""Every flow of the product as one call: `CareChain` combines the flows of registry.py, storage.py,
versions.py, reading.py, summaries.py, grants.py, rotation.py, audit.py, devices.py, ingest.py,
alerts.py, vitals_history.py, profiles.py, requests.py, sharing.py, endorsements.py, recovery.py,
break_glass.py and notes.py over one connection to the chain and the IPFS node; `research` opens
the research contract beside it (research.py).
The web app is a thin layer over this class.
"""

import time
from functools import cached_property

from app.carechain.alerts import AlertFlows, AlertRegister
from app.carechain.audit import AuditFlows
from app.carechain.break_glass import EmergencyFlows
from app.carechain.chain import Chain
from app.carechain.bundle_import import ImportFlows
from app.carechain.devices import DeviceFlows, DeviceStates
from app.carechain.endorsements import EndorsementFlows
from app.carechain.grants import GrantFlows
from app.carechain.index import EventIndex
from app.carechain.ingest import IngestFlows
from app.carechain.ipfs import IpfsStore
from app.carechain.model import Numbering, RecordEntry
from app.carechain.notes import NoteFlows
from app.carechain.profiles import ProfileFlows
from app.carechain.quota import StorageQuota
from app.carechain.reading import ReadingFlows
from app.carechain.recovery import RecoveryFlows
from app.carechain.registry import RegistryFlows
from app.carechain.requests import RequestFlows
from app.carechain.research import Research
from app.carechain.rotation import RotationFlows, RotationJournal
from app.carechain.settings import Settings
from app.carechain.sharing import RedactionFlows
from app.carechain.storage import StorageFlows
from app.carechain.summaries import SummaryFlows
from app.carechain.versions import VersionFlows
from app.carechain.vitals_history import VitalsHistoryFlows


class CareChain(RegistryFlows, StorageFlows, VersionFlows, ReadingFlows, GrantFlows, RotationFlows, AuditFlows,
                DeviceFlows, IngestFlows, AlertFlows, VitalsHistoryFlows, SummaryFlows, ProfileFlows, RequestFlows,
                RedactionFlows, EndorsementFlows, RecoveryFlows, EmergencyFlows, NoteFlows, ImportFlows):
    """Every flow of the product as one call on one object; each concern lives in its own module."""

    def __init__(self, chain: Chain, store: IpfsStore, index: EventIndex, journal: RotationJournal,
                 quota: StorageQuota, device_states: DeviceStates, alert_register: AlertRegister, settings: Settings):
        self.chain = chain
        self.store = store
        self.index = index
        self.journal = journal
        self.quota = quota
        self.device_states = device_states
        self.alert_register = alert_register
        self.settings = settings
        self.domain = {"name": "CareChain", "version": "1", "chainId": chain.chain_id,
                       "verifyingContract": chain.address}
        # Derived keys and nonces are bound to this deployment: the same record under another
        # chain or contract gets other keys, never a reused key and nonce.
        self._deployment = b"%d|" % chain.chain_id + bytes.fromhex(chain.address[2:]) + b"|"
        self.unreadable: list[RecordEntry] = []  # entries skipped by this instance's flows
        self._public_keys: dict[str, bytes] = {}
        self._bundles: dict[bytes, tuple[str, dict]] = {}
        self._numbers: dict[tuple[str, bytes], Numbering] = {}
        # Set by the web app on its per-request handle: one catch-up of the event index and one
        # look at the chain's clock then serve the whole request.
        self.once_per_request = False
        self._synced_after: int | None = None  # how many transactions this instance had sent at its last catch-up
        self._chain_time: tuple[int, int] | None = None  # (transactions sent then, the chain's latest time)

    @classmethod
    def connect(cls, settings: Settings | None = None) -> "CareChain":
        settings = settings or Settings.from_environment()
        chain = Chain(settings.rpc_url, settings.manifest)
        chain.check_deployment(cached=True)
        return cls(chain, IpfsStore(settings.ipfs_api), EventIndex.open(settings.index_file, chain),
                   RotationJournal(settings.data / "rotations.json"),
                   StorageQuota(settings.data / "storage-usage.json", settings.storage_quota),
                   DeviceStates(settings.data / "devices"), AlertRegister.open(settings.data / "alerts.sqlite"),
                   settings)

    def close(self) -> None:
        self.store.close()

    @cached_property
    def research(self) -> Research:
        """The research contract beside CareChain (research.py), opened on first use."""
        return Research.of(self)

    def indexed(self) -> EventIndex:
        """The event index, caught up with the chain (one batch request when nothing is new, which
        also reads the chain's clock for `now`). With `once_per_request`, a catch-up serves every
        later call until this instance sends a transaction, so a flow still reads the events of its
        own writes."""
        sent = len(self.chain.receipts)
        if not (self.once_per_request and self._synced_after == sent):
            self.index.sync(self.chain)
            self._synced_after = sent
            self._chain_time = (sent, self.index.chain_time)
        return self.index

    def now(self) -> int:
        """The later of the wall clock and the chain's clock: Ganache only moves its clock when it
        mines, and tests move it ahead on purpose. With `once_per_request`, the chain's clock is
        asked once until this instance sends a transaction (which mines a block); a catch-up of the
        event index reads it on the way."""
        sent = len(self.chain.receipts)
        if not (self.once_per_request and self._chain_time and self._chain_time[0] == sent):
            self._chain_time = (sent, self.chain.latest_time())
        return max(int(time.time()), self._chain_time[1])
