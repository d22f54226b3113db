"""One web request catches the event index up with the chain once: the menu's counts, the
emergency banners and the page itself share that catch-up; a write in the request makes the next
read catch up again, so a flow reads its own events. The library outside a request catches up on
every read, as before."""

import pytest

from app import backend
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


@pytest.mark.parametrize("url", ["/patient/", "/patient/grants", "/patient/audit", "/patient/requests"])
def test_a_patient_page_catches_the_index_up_once(as_user, patient, catch_ups, url):
    me = as_user(patient)
    me.get(url)  # the session's first page may log in or fill caches
    catch_ups.clear()
    assert me.get(url).status_code == 200
    assert len(catch_ups) == 1, url


def test_a_write_in_the_request_makes_the_next_read_catch_up_again(app, patient, people, catch_ups):
    with app.test_request_context():
        handle = backend.get_carechain()
        assert handle.grants_of(patient.address) == []
        assert len(catch_ups) == 1
        handle.grants_of(patient.address)
        assert len(catch_ups) == 1
        handle.grant(patient, people.doctor.address, [0], True, days_from_now(handle, 3))
        assert [grant.grantee for grant in handle.grants_of(patient.address)] == [people.doctor.address]


def test_the_library_outside_a_request_catches_up_on_every_read(carechain, catch_ups):
    carechain.indexed()
    carechain.indexed()
    assert len(catch_ups) == 2
