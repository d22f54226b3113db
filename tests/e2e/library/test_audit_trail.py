"""The patient's audit trail, built from chain events: grants, renewals, revocations, records and
reads, in order, with times."""

from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def test_audit_trail_lists_every_event_in_order(carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    expiry = days_from_now(carechain, 2)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, expiry)
    carechain.read_record(people.doctor, patient.address, entry.digest)
    carechain.renew(patient, people.doctor.address, expiry + 86400)
    carechain.revoke(patient, people.doctor.address)

    trail = carechain.audit_trail(patient.address)
    assert [(event.kind, event.actor) for event in trail] == [
        ("record added", patient.address),
        ("granted", patient.address),
        ("read", people.doctor.address),
        ("renewed", patient.address),
        ("revoked", patient.address),
    ]
    granted = trail[1].details
    assert (granted["grantee"], granted["categories"], granted["canWrite"]) == (people.doctor.address, ["Vitals"], False)
    assert [event.time for event in trail] == sorted(event.time for event in trail)
    assert all(event.block > 0 for event in trail)


def test_a_page_of_the_audit_trail_is_its_newest_events(carechain, patient):
    for value in (60, 61, 62, 63):
        carechain.add_record(patient, patient.address, pulse(patient, value))
    trail = carechain.audit_trail(patient.address)
    assert carechain.audit_trail(patient.address, limit=2) == trail[-2:]
    assert carechain.audit_trail(patient.address, limit=100) == trail
    numbers = carechain.record_numbers(patient.address, [event.details["digest"] and bytes.fromhex(
        event.details["digest"]) for event in trail])
    assert sorted(numbers.values()) == [1, 2, 3, 4]
