"""Records, grants and access survive restarting the chain and the IPFS node from their data
folders; the IPFS node also recovers from a stale lock left by a killed daemon."""

from app.carechain.records import Category
from scripts import localipfs
from tests.e2e.helpers import days_from_now, pulse


def test_data_and_access_survive_restarting_chain_and_ipfs(carechain, services, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 58))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))

    services.stop()
    services.start_chain()
    services.start_ipfs()
    carechain.chain.check_deployment()

    assert carechain.store.is_pinned(entry.digest)
    opened = carechain.read_record(people.doctor, patient.address, entry.digest)
    assert opened.record.resource["valueQuantity"]["value"] == 58


def test_ipfs_node_restarts_after_being_killed(carechain, services, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient, 61))
    services.ipfs.kill()
    services.ipfs.wait()
    assert (services.ipfs_node.repo / "repo.lock").exists()

    services.start_ipfs()  # clears the stale lock: no daemon answers

    assert not localipfs.clear_stale_lock(services.ipfs_node)  # a live node's lock is never touched
    assert carechain.read_record(patient, patient.address, entry.digest).entry == entry
