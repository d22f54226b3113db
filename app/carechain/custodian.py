"""A custodian hospital's side of break-glass: releasing its share of a patient's emergency summary
key to a doctor whose emergency window is open (see break_glass.py).

Each hospital runs its own custodian with its own key: there is no consortium key that could
release every share. `Custodian.release_due` looks up, in the event index, the open windows of
patients whose key this hospital holds a share of and that it has not released in yet, and
releases each (the chain refuses a release outside an open window); `run` does so every few
seconds until stopped. `make run` runs one for each demo hospital (scripts/custodian.py).
"""

import logging
import threading

from eth_account.signers.local import LocalAccount

from app.carechain.break_glass import BreakGlass
from app.carechain.errors import CareChainError

log = logging.getLogger(__name__)
INTERVAL = 2.0  # seconds between looks at the event index


class Custodian:
    def __init__(self, carechain, hospital: LocalAccount):
        self.carechain = carechain
        self.hospital = hospital

    def release_due(self) -> list[BreakGlass]:
        """Releases this hospital's share into every open window that waits for it; returns the
        declarations released to. One that fails (a window closing meanwhile, a damaged custody
        object) is logged and left for the next round."""
        released = []
        for declared in self.carechain.emergencies_to_release(self.hospital.address):
            try:
                self.carechain.release_emergency_share(self.hospital, declared.patient, declared.doctor)
            except CareChainError as error:
                log.warning("%s did not release its share to %s for %s: %s", self.hospital.address,
                            declared.doctor, declared.patient, error)
            else:
                log.info("%s released its share to %s for %s", self.hospital.address, declared.doctor,
                         declared.patient)
                released.append(declared)
        return released

    def run(self, stop: threading.Event, interval: float = INTERVAL) -> None:
        """Releases what is due every `interval` seconds until `stop` is set; a stopped chain or
        IPFS node is logged and tried again."""
        while not stop.is_set():
            try:
                self.release_due()
            except CareChainError as error:
                log.warning("custodian %s: %s", self.hospital.address, error)
            stop.wait(interval)
