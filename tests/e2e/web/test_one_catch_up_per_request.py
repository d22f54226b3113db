"""One web request catches the event index up with the chain once, reading the chain's clock in the
same batch request: the menu's counts, the emergency banners and the page itself share them; a
write in the request makes the next read catch up and ask again, so a flow reads its own events.
The library outside a request catches up and asks on every read, as before."""

import time

import pytest

from app import backend
from app.carechain.chain import Chain
from app.carechain.index import EventIndex
from tests.e2e.helpers import days_from_now


@pytest.fixture
def catch_ups(monkeypatch):
    """The number of EventIndex.sync calls (one RPC batch each when nothing is new) so far."""
    calls = []
    original = EventIndex.sync

    def counted(index, chain):
        calls.append(chain)
        return original(index, chain)

    monkeypatch.setattr(EventIndex, "sync", counted)
    return calls


@pytest.fixture
def clock_reads(monkeypatch):
    """The number of times the chain's clock (its latest block's time) was asked so far."""
    calls = []
    original = Chain.latest_time

    def counted(chain):
        calls.append(chain)
        return original(chain)

    monkeypatch.setattr(Chain, "latest_time", counted)
    return calls


@pytest.mark.parametrize("url", ["/patient/", "/patient/grants", "/patient/audit", "/patient/requests"])
def test_a_patient_page_catches_the_index_up_once_and_reads_the_clock_with_it(as_user, patient, catch_ups,
                                                                              clock_reads, url):
    me = as_user(patient)
    me.get(url)  # the session's first page may log in or fill caches
    catch_ups.clear()
    clock_reads.clear()
    assert me.get(url).status_code == 200
    assert len(catch_ups) == 1 and len(clock_reads) == 0, url  # the catch-up read the clock


def test_a_write_in_the_request_makes_the_clock_be_read_again(app, patient, people, clock_reads):
    with app.test_request_context():
        handle = backend.get_carechain()
        before = handle.now()
        handle.now()
        assert len(clock_reads) == 1
        # the chain's clock a minute ahead of every clock so far, as the tests' time travel does
        ahead = max(before, int(time.time())) + 60
        handle.chain.w3.provider.make_request("evm_setTime", [ahead * 1000])
        handle.grant(patient, people.doctor.address, [0], True, days_from_now(handle, 3))  # mines a block
        assert handle.now() >= ahead  # read again after the write (by the grant's own catch-up here)


def test_a_write_in_the_request_makes_the_next_read_catch_up_again(app, patient, people, catch_ups):
    with app.test_request_context():
        handle = backend.get_carechain()
        assert handle.grants_of(patient.address) == []
        assert len(catch_ups) == 1
        handle.grants_of(patient.address)
        assert len(catch_ups) == 1
        handle.grant(patient, people.doctor.address, [0], True, days_from_now(handle, 3))
        assert [grant.grantee for grant in handle.grants_of(patient.address)] == [people.doctor.address]


def test_the_library_outside_a_request_catches_up_and_reads_the_clock_on_every_read(carechain, catch_ups,
                                                                                      clock_reads):
    carechain.indexed()
    carechain.indexed()
    carechain.now()
    carechain.now()
    assert len(catch_ups) == 2 and len(clock_reads) == 2
