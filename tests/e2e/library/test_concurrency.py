"""One account doing two things at once (a double click, two tabs, a grant while an upload runs):
every call succeeds or is refused in words, nothing is lost, stored twice or unpinned."""

import time
from concurrent.futures import ThreadPoolExecutor

from app.carechain.errors import TransactionFailed
from app.carechain.flows import CareChain
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse


def at_once(calls):
    """Runs the calls in threads started together; their results or errors, in order."""
    def outcome(call):
        try:
            return call()
        except Exception as error:  # handed to the test, which checks its type
            return error
    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(outcome, calls))


def connections(stack, count):
    """Separate library instances, as separate web requests have."""
    return [CareChain.connect(stack[1]) for _ in range(count)]


def test_a_record_submitted_twice_at_once_is_stored_once_and_stays_pinned(stack, carechain, patient):
    record = pulse(patient, 71, at=1_700_000_000)
    first, second = at_once([lambda c=c: c.add_record(patient, patient.address, record) for c in connections(stack, 2)])

    assert first == second  # both tabs see the same stored record
    assert carechain.participant(patient.address).record_count == 1
    assert carechain.store.is_pinned(first.digest)


def test_a_grant_sent_twice_at_once_keeps_the_key_bundle_it_delivered(stack, carechain, people, patient):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    until = days_from_now(carechain, 3)
    outcomes = at_once([lambda c=c: c.grant(patient, people.doctor.address, [Category.VITALS], False, until)
                        for c in connections(stack, 2)])

    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(refused) == 1 and isinstance(refused[0], TransactionFailed), outcomes
    assert "already has access" in str(refused[0])
    (granted,) = carechain.chain.events("AccessGranted", patient=patient.address)
    assert carechain.store.is_pinned(bytes(granted["args"]["keyBundle"]))
    assert carechain.read_record(people.doctor, patient.address, entry.digest).record.resource["valueQuantity"]


def test_eight_requests_of_one_patient_at_once_all_succeed(stack, carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    clients = connections(stack, 8)

    def upload(client, value):
        return lambda: client.add_record(patient, patient.address, pulse(patient, value))

    def renew(client, days):
        return lambda: client.renew(patient, people.doctor.address, days_from_now(carechain, days))

    calls = [upload(clients[i % 8], 40 + i) if i % 4 else renew(clients[i % 8], 2 + i) for i in range(24)]
    started = time.monotonic()
    outcomes = at_once(calls)

    failures = [o for o in outcomes if isinstance(o, Exception)]
    # Renewals to an earlier end than one that won the race are refused in words; nothing else fails.
    assert all(isinstance(f, TransactionFailed) and "later than the current one" in str(f) for f in failures), failures
    uploads = [o for o in outcomes if not isinstance(o, Exception) and hasattr(o, "digest")]
    assert len(uploads) == 18
    indexed = carechain.all_records(patient.address)
    assert sorted(e.digest for e in indexed) == sorted(u.digest for u in uploads)  # none lost, none twice
    assert all(carechain.store.is_pinned(e.digest) for e in indexed)
    assert time.monotonic() - started < 60
