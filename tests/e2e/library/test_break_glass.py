"""Break-glass end to end: an active doctor without a grant declares an emergency with a reason, the
custodian hospitals release their shares with their own keys, the doctor opens the summary; a
suspended doctor is refused, an expired window opens nothing, the second-doctor policy holds, and
the patient sees every step."""

import pytest

from app.carechain.break_glass import EMERGENCY_WINDOW, RECENT
from app.carechain.custodian import Custodian
from app.carechain.emergency import summary_of
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from tests.e2e.helpers import travel_to

REASON = "Unconscious after a road accident; no relative reachable."


@pytest.fixture
def summarised(carechain, patient):
    """A patient with a saved emergency summary."""
    carechain.save_emergency_summary(patient, summary_of(
        patient.address, ["Penicillin (high criticality)"], ["Insulin glargine, 20 units at night"],
        ["Type 1 diabetes"], "O-", ["Pacemaker"], "Grace Hopper", "sister", "+44 20 7946 0000"))
    return patient


@pytest.fixture
def custodians(carechain, people):
    return [Custodian(carechain, people.hospital), Custodian(carechain, people.other_hospital)]


def release(custodians, patient) -> int:
    """Runs the custodians once; how many shares they released for `patient` (tests share one chain,
    and other patients' windows may be open)."""
    return sum(declared.patient == patient.address for custodian in custodians for declared in custodian.release_due())


@pytest.fixture
def confirmation_policy(carechain, people):
    carechain.set_break_glass_policy(people.admin, True)
    yield
    carechain.set_break_glass_policy(people.admin, False)


def test_declared_released_and_opened_by_a_doctor_without_a_grant(carechain, people, summarised, custodians):
    assert carechain.grant_of(summarised.address, people.outsider.address).expires_at == 0
    declared = carechain.declare_emergency(people.outsider, summarised.address, REASON)
    assert declared.state(carechain.now()) == "open"
    assert declared.hospital == people.other_hospital.address
    with pytest.raises(AccessDenied, match="0 of the 2 key shares"):
        carechain.open_emergency_summary(people.outsider, summarised.address)

    assert release(custodians, summarised) == 2
    assert release(custodians, summarised) == 0  # each hospital releases once per window

    opened = carechain.open_emergency_summary(people.outsider, summarised.address)
    assert opened.allergies == ("Penicillin (high criticality)",)
    assert opened.blood_type == "O-" and opened.implants == ("Pacemaker",)
    (latest,) = carechain.emergencies_of(summarised.address)
    assert set(latest.released_by) == {people.hospital.address, people.other_hospital.address}
    # The reason is sealed for the patient and the doctor; only its digest is on chain.
    assert carechain.emergency_reason(summarised, latest) == REASON
    assert carechain.emergency_reason(people.outsider, latest) == REASON
    with pytest.raises(AccessDenied, match="only the patient and the doctor"):
        carechain.emergency_reason(people.doctor, latest)
    assert REASON.encode() not in carechain.store.get(latest.reason)
    # A doctor other than the declaring one opens nothing with those releases.
    with pytest.raises(AccessDenied, match="no open emergency window"):
        carechain.open_emergency_summary(people.colleague, summarised.address)


def test_the_patient_sees_every_step_at_once(carechain, people, summarised, custodians):
    carechain.declare_emergency(people.outsider, summarised.address, REASON)
    release(custodians, summarised)

    kinds = [event.kind for event in carechain.audit_trail(summarised.address, kinds=["emergency"])]
    assert kinds == ["emergency summary saved", "emergency declared", "emergency share released",
                     "emergency share released"]
    trail = carechain.audit_trail(summarised.address)
    assert [e.kind for e in trail if e.kind.startswith("emergency")] == kinds
    (declared,) = [e for e in trail if e.kind == "emergency declared"]
    assert declared.actor == people.outsider.address and declared.details["hospital"] == people.other_hospital.address
    released = [e for e in trail if e.kind == "emergency share released"]
    assert {e.actor for e in released} == {e.details["hospital"] for e in released} == {
        people.hospital.address, people.other_hospital.address}  # who acted: the custodian, not the doctor
    # The banner's data: the break-glass events of the last RECENT seconds, reason readable.
    (recent,) = carechain.emergencies_of(summarised.address, since=carechain.now() - RECENT)
    assert recent.doctor == people.outsider.address and len(recent.released_by) == 2
    assert carechain.emergency_reason(summarised, recent) == REASON
    # And the admin's report, from every patient.
    assert recent in carechain.all_emergencies(since=recent.declared_at)


def test_a_suspended_doctor_or_a_doctor_of_a_suspended_hospital_is_refused(carechain, people, summarised):
    carechain.suspend_provider(people.admin, people.colleague.address)
    try:
        with pytest.raises(AccessDenied, match="suspended"):
            carechain.declare_emergency(people.colleague, summarised.address, REASON)
    finally:
        carechain.reinstate_provider(people.admin, people.colleague.address)
    carechain.suspend_provider(people.admin, people.hospital.address)
    try:
        with pytest.raises(AccessDenied, match="suspended"):
            carechain.declare_emergency(people.doctor, summarised.address, REASON)
    finally:
        carechain.reinstate_provider(people.admin, people.hospital.address)
    assert carechain.emergencies_of(summarised.address) == []


def test_only_doctors_declare_with_a_reason_for_a_patient_with_a_summary(carechain, people, summarised,
                                                                         new_patient):
    for account in (people.hospital, summarised):
        with pytest.raises(AccessDenied, match="only registered doctors"):
            carechain.declare_emergency(account, summarised.address, REASON)
    with pytest.raises(InvalidInput, match="say why"):
        carechain.declare_emergency(people.doctor, summarised.address, "  ")
    with pytest.raises(InvalidInput, match="no emergency summary"):
        carechain.declare_emergency(people.doctor, new_patient().address, REASON)
    carechain.declare_emergency(people.doctor, summarised.address, REASON)
    with pytest.raises(InvalidInput, match="already declared"):
        carechain.declare_emergency(people.doctor, summarised.address, REASON)


def test_the_window_expires_after_24_hours(carechain, people, summarised, custodians):
    declared = carechain.declare_emergency(people.outsider, summarised.address, REASON)
    release(custodians[:1], summarised)
    travel_to(carechain, declared.opened_at + EMERGENCY_WINDOW)

    with pytest.raises(AccessDenied, match="no open emergency window"):
        carechain.open_emergency_summary(people.outsider, summarised.address)
    assert release(custodians, summarised) == 0  # nothing due in a closed window
    with pytest.raises(TransactionFailed, match="not open"):
        carechain.release_emergency_share(people.other_hospital, summarised.address, people.outsider.address)
    assert carechain.emergencies_of(summarised.address)[0].state(carechain.now()) == "closed"
    # A new declaration opens a new window; the share of the old one counts no more.
    carechain.declare_emergency(people.outsider, summarised.address, REASON)
    with pytest.raises(AccessDenied, match="0 of the 2"):
        carechain.open_emergency_summary(people.outsider, summarised.address)


def test_with_the_policy_a_second_doctor_must_confirm(carechain, people, summarised, custodians,
                                                      confirmation_policy):
    assert carechain.break_glass_policy() is True
    declared = carechain.declare_emergency(people.outsider, summarised.address, REASON)
    assert declared.state(carechain.now()) == "waiting"
    assert release(custodians, summarised) == 0
    with pytest.raises(AccessDenied, match="no open emergency window"):
        carechain.open_emergency_summary(people.outsider, summarised.address)
    with pytest.raises(InvalidInput, match="a second doctor must confirm"):
        carechain.confirm_emergency(people.outsider, summarised.address, people.outsider.address)

    confirmed = carechain.confirm_emergency(people.doctor, summarised.address, people.outsider.address)

    assert (confirmed.confirmed_by, confirmed.state(carechain.now())) == (people.doctor.address, "open")
    assert release(custodians, summarised) == 2
    assert carechain.open_emergency_summary(people.outsider, summarised.address).problems == ("Type 1 diabetes",)
    with pytest.raises(TransactionFailed, match="no declaration waiting"):
        carechain.confirm_emergency(people.colleague, summarised.address, people.outsider.address)
    kinds = [e.kind for e in carechain.audit_trail(summarised.address, kinds=["emergency"])]
    assert "emergency confirmed" in kinds


def test_re_saving_after_break_glass_takes_the_key_back(carechain, people, summarised, custodians):
    carechain.declare_emergency(people.outsider, summarised.address, REASON)
    release(custodians, summarised)
    carechain.open_emergency_summary(people.outsider, summarised.address)
    travel_to(carechain, carechain.now() + 2)

    carechain.save_emergency_summary(summarised, carechain.own_emergency_summary(summarised))

    # The new custody's shares were never released: the open window shows nothing until they are.
    with pytest.raises(AccessDenied, match="0 of the 2"):
        carechain.open_emergency_summary(people.outsider, summarised.address)
    assert release(custodians, summarised) == 2
    assert carechain.open_emergency_summary(people.outsider, summarised.address).contact_name == "Grace Hopper"
