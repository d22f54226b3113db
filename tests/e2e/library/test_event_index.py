"""The event index mirrors the chain: it agrees with it after a random history, resumes from its
last block after a restart, and rebuilds itself when the chain it followed was replaced."""

import random
import sqlite3

from eth_account import Account

from app.carechain.index import EventIndex
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def fresh_index(tmp_path, carechain) -> EventIndex:
    """An index of its own (not the process's shared one), as after a restart."""
    return EventIndex(tmp_path / "index.sqlite", carechain.chain)


def test_the_index_agrees_with_the_chain_after_a_random_history(carechain, people, new_patient, tmp_path):
    rng = random.Random(11)
    patients = [new_patient() for _ in range(3)]
    grantees = [people.doctor.address, people.colleague.address, people.hospital.address, people.other_hospital.address]
    for _ in range(40):
        patient, grantee = rng.choice(patients), rng.choice(grantees)
        grant = carechain.grant_of(patient.address, grantee)
        action = rng.choice(["grant", "renew", "narrow", "revoke", "record"])
        if action == "record" or (action != "grant" and grant.expires_at == 0):
            carechain.add_record(patient, patient.address, pulse(patient, rng.randint(40, 180)))
        elif action == "grant" and grant.expires_at == 0:
            carechain.grant(patient, grantee, [Category.VITALS, Category.LABS], rng.random() < .5,
                            days_from_now(carechain, rng.randint(1, 30)))
        elif action == "renew" or action == "grant":
            carechain.renew(patient, grantee, grant.expires_at + 86400)
        elif action == "narrow":
            carechain.narrow(patient, grantee, [Category.VITALS], False, grant.expires_at)
        else:
            carechain.revoke(patient, grantee, rotate=rng.random() < .5)

    carechain.suspend_provider(people.admin, people.colleague.address)
    carechain.suspend_provider(people.admin, people.outsider.address)
    carechain.reinstate_provider(people.admin, people.outsider.address)
    index = fresh_index(tmp_path, carechain)
    index.sync(carechain.chain)
    carechain.reinstate_provider(people.admin, people.colleague.address)
    index.sync(carechain.chain)
    for patient in patients:
        expected = [g for g in grantees if carechain.chain.call("grantOf", patient.address, g)[0] != 0]
        assert sorted(index.grantees_of(patient.address)) == sorted(expected)
        for grantee in grantees:
            expires_at, mask, can_write = carechain.chain.call("grantOf", patient.address, grantee)
            indexed = index.grants(patient.address, [grantee]).get(grantee)
            if expires_at == 0:  # never granted, or revoked
                assert indexed is None or indexed[0] == 0
            else:
                assert indexed == (expires_at, mask, can_write)
        entries = carechain.all_records(patient.address, current_only=False)
        assert index.record_numbers(patient.address, [e.digest for e in entries]) == \
            {e.digest: (e.number, e.origin) for e in entries}
        delivered = {bytes(e["args"]["keyBundle"]) for name in ("AccessGranted", "AccessRenewed")
                     for e in carechain.chain.events(name, patient=patient.address) if any(e["args"]["keyBundle"])}
        assert set(index.bundles(patient.address, grantees)) == delivered
    registrations = sorted((e["blockNumber"], e["logIndex"], e["args"].get("doctor") or e["args"]["hospital"])
                           for name in ("HospitalRegistered", "DoctorRegistered")
                           for e in carechain.chain.events(name))
    assert [address for address, *_ in index.providers()] == [address for *_, address in registrations]
    for address, role, hospital, suspended, registered_at in index.providers():
        on_chain = carechain.participant(address)
        assert (role, hospital, suspended, registered_at) == \
            (on_chain.role, on_chain.hospital, on_chain.suspended, on_chain.registered_at)


def test_a_restarted_index_resumes_from_its_last_block(carechain, people, patient, tmp_path):
    index = fresh_index(tmp_path, carechain)
    index.sync(carechain.chain)
    # Mark a row: a rebuild would restore it, a resumption leaves it.
    with sqlite3.connect(tmp_path / "index.sqlite") as db:
        db.execute("UPDATE participants SET role = 'marked' WHERE address = ?", (people.doctor.address,))
    index.close()
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 2))

    restarted = fresh_index(tmp_path, carechain)
    restarted.sync(carechain.chain)

    assert restarted.roles([people.doctor.address]) == {people.doctor.address: "marked"}
    assert restarted.grantees_of(patient.address) == [people.doctor.address]


def test_a_replaced_chain_is_detected_and_the_index_rebuilt(carechain, people, tmp_path):
    index = fresh_index(tmp_path, carechain)
    w3 = carechain.chain.w3
    snapshot = w3.provider.make_request("evm_snapshot", [])["result"]
    ghost = Account.create()
    carechain.fund(people.admin, ghost.address, 1)
    carechain.register_patient(ghost)
    index.sync(carechain.chain)
    assert index.public_key(ghost.address) is not None

    # The chain goes back and grows again: the same heights now hold other blocks.
    w3.provider.make_request("evm_revert", [snapshot])
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])
    index.sync(carechain.chain)

    assert index.public_key(ghost.address) is None  # rebuilt from the chain as it is now
    assert index.public_key(people.doctor.address) is not None


def test_an_index_file_of_an_older_version_is_rebuilt_in_this_ones_schema(carechain, patient, tmp_path):
    """An upgrade meets the index file the previous version wrote (here: records without their
    versions' columns): the file is emptied and rebuilt from the chain, not crashed on."""
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    old = sqlite3.connect(tmp_path / "index.sqlite")
    old.executescript("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                      "CREATE TABLE records (patient TEXT NOT NULL, digest BLOB NOT NULL, number INTEGER NOT NULL);"
                      "INSERT INTO meta VALUES ('identity', 'an older version');")
    old.close()
    index = fresh_index(tmp_path, carechain)
    index.sync(carechain.chain)
    assert index.record_numbers(patient.address, [entry.digest])[entry.digest].origin == entry.number
