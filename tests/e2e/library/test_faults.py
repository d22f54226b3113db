"""Faults with the real services: the IPFS daemon killed during an upload, the chain stopped
while a transaction is pending. Each time the user gets a clear error, no index entry points at
missing data, nothing is lost, and the same call succeeds once the service is back."""

import io
import signal
import threading
import time

import pytest

from app.carechain.errors import AccessDenied, IntegrityError, ServiceUnavailable
from app.carechain.records import document
from tests.e2e.helpers import pulse

SCAN = b"%PDF-1.4\n" + bytes(range(256)) * (18 * 4096)  # about 18 MB: an upload that takes a while


def in_background(call):
    """Runs `call` in a thread; returns a function that waits and gives its result or error."""
    outcome = {}

    def run():
        try:
            outcome["result"] = call()
        except Exception as error:  # handed to the test, which checks its type
            outcome["error"] = error

    thread = threading.Thread(target=run)
    thread.start()

    def wait():
        thread.join(timeout=120)
        return outcome
    return wait


def test_ipfs_killed_during_an_upload(carechain, services, patient, monkeypatch):
    """The daemon is killed once the first megabyte of the request has been sent: the upload is
    cut midway whatever the machine's speed."""
    record = document(patient.address, "Scan", SCAN, "application/pdf")
    add = carechain.store._client.add

    class KilledMidway(io.BytesIO):
        def read(self, size=-1):
            if self.tell() > 1 << 20 and services.ipfs.poll() is None:
                services.ipfs.kill()
                services.ipfs.wait()
            return super().read(size)

    monkeypatch.setattr(carechain.store._client, "add", lambda file, **options: add(KilledMidway(file.read()),
                                                                                      **options))
    outcome = in_background(lambda: carechain.add_record(patient, patient.address, record))()
    monkeypatch.undo()
    services.start_ipfs()  # from its data folder, clearing the killed daemon's lock

    assert isinstance(outcome.get("error"), ServiceUnavailable), outcome
    assert "IPFS node" in str(outcome["error"])
    assert carechain.participant(patient.address).record_count == 0  # nothing indexed

    entry = carechain.add_record(patient, patient.address, record)  # the same call, retried
    assert carechain.read_record(patient, patient.address, entry.digest).record.attachment == SCAN
    assert carechain.participant(patient.address).record_count == 1


def test_chain_stopped_while_a_transaction_is_pending(carechain, services, patient):
    earlier = carechain.add_record(patient, patient.address, pulse(patient, 70))
    record = pulse(patient, 71)
    w3 = carechain.chain.w3
    w3.provider.make_request("miner_stop", [])  # transactions now wait in the pool
    wait = in_background(lambda: carechain.add_record(patient, patient.address, record))
    deadline = time.monotonic() + 30
    while not w3.eth.get_block("pending")["transactions"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert w3.eth.get_block("pending")["transactions"], "the transaction never reached the pool"
    services.stop_chain()
    outcome = wait()
    services.start_chain()  # from its data folder; mining again

    assert isinstance(outcome.get("error"), ServiceUnavailable), outcome
    assert "cannot be reached" in str(outcome["error"])
    # The pending transaction was never mined: the index holds only what it held, all readable.
    assert carechain.participant(patient.address).record_count == 1
    assert carechain.read_record(patient, patient.address, earlier.digest).record.title.endswith("70 beats/minute")

    entry = carechain.add_record(patient, patient.address, record)  # the same call, retried
    assert entry.number == 2
    assert carechain.read_record(patient, patient.address, entry.digest).record.title.endswith("71 beats/minute")


@pytest.fixture(autouse=True)
def services_running(services):
    """Whatever a test did, the next one finds both services up."""
    yield
    if services.chain is None or services.chain.poll() is not None:
        services.start_chain()
    if services.ipfs is None or services.ipfs.poll() is not None:
        services.start_ipfs()


def test_a_stalled_ipfs_node_is_reported_as_stalled_not_as_lost_data(carechain, services, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    services.ipfs.send_signal(signal.SIGSTOP)  # the process lives but answers nothing
    try:
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="not responding") as refused:
            carechain.read_record(patient, patient.address, entry.digest)
        assert time.monotonic() - started < 15
        assert not isinstance(refused.value, IntegrityError)
    finally:
        services.ipfs.send_signal(signal.SIGCONT)
    assert carechain.read_record(patient, patient.address, entry.digest).record.resource["valueQuantity"]


def test_a_refused_read_is_refused_at_once_while_the_ipfs_node_stalls(carechain, services, patient, people):
    """A read fetches the envelope while it asks the chain: the chain's refusal is what the reader
    is told, and it waits for no fetch."""
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    services.ipfs.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        with pytest.raises(AccessDenied):
            carechain.read_record(people.doctor, patient.address, entry.digest)
        assert time.monotonic() - started < carechain.store.fetch_timeout
    finally:
        services.ipfs.send_signal(signal.SIGCONT)
