"""A patient's profile (a FHIR Patient resource) sealed like a record: only its digest on chain,
delivered to grantees with the grant, sealed for current readers only on each update, so a revoked
provider never reads the next one; bad input refused with nothing changed; the same profile sent
twice at once stored once; a digest pointing at someone else's profile lending no identity."""

from datetime import date, timedelta

import pytest
from eth_account import Account

from app.carechain.errors import IntegrityError, InvalidInput, TransactionFailed
from app.carechain.profiles import MAX_PHOTO_SIZE, profile_of
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse
from tests.e2e.library.test_concurrency import at_once, connections

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 200


def born(years_ago: int, days_later: int = 0) -> date:
    today = date.today()
    return today.replace(year=today.year - years_ago) - timedelta(days=1) + timedelta(days=days_later)


def ada(patient, **changes):
    fields = dict(given="Ada", family="Lovelace", birth_date=born(36), gender="female", phone="+44 20 7946 0001",
                  email="ada@example.org", photo=PNG, photo_type="image/png")
    return profile_of(patient.address, **{**fields, **changes})


def test_round_trip_keeps_every_field_and_puts_only_a_digest_on_chain(carechain, patient):
    written = ada(patient)
    assert carechain.write_profile(patient, written) == {patient.address}

    assert carechain.own_profile(patient) == written
    assert written.label == "Ada Lovelace, 36" and written.gender_label == "Female"
    digest = bytes(carechain.chain.call("profileOf", patient.address))
    assert carechain.indexed().profiles([patient.address]) == {patient.address: digest}
    stored = carechain.store.get(digest)
    for clear in (b"Lovelace", b"ada@example.org", b"7946", PNG[:16]):
        assert clear not in stored
    (event,) = carechain.chain.events("ProfileUpdated", patient=patient.address)
    assert dict(event["args"]) == {"patient": patient.address, "digest": digest}


def test_age_counts_whole_years_to_the_birthday(patient):
    assert ada(patient, birth_date=born(36)).age() == 36
    assert ada(patient, birth_date=born(36, days_later=2)).age() == 35
    assert ada(patient, birth_date=date.today()).label == "Ada Lovelace, under 1"


def test_a_new_grantee_receives_the_profile_with_the_grant(carechain, people, patient):
    carechain.write_profile(patient, ada(patient))
    assert carechain.profile_seen_by(people.doctor, patient.address) is None  # no grant yet

    carechain.grant(patient, people.doctor.address, [Category.LABS], False, days_from_now(carechain, 7))

    assert carechain.profile_seen_by(people.doctor, patient.address).label == "Ada Lovelace, 36"
    assert carechain.profile_seen_by(people.colleague, patient.address) is None


def test_a_hospital_grant_shows_the_profile_to_its_doctors(carechain, people, patient):
    carechain.grant(patient, people.hospital.address, [Category.VITALS], False, days_from_now(carechain, 7))
    carechain.write_profile(patient, ada(patient, given="Grace", family="Hopper"))

    for reader in (people.hospital, people.doctor, people.colleague):
        assert carechain.profile_seen_by(reader, patient.address).name == "Grace Hopper"
    assert carechain.profile_seen_by(people.outsider, patient.address) is None


def test_an_update_reaches_live_grantees_and_not_a_revoked_one(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))
    carechain.grant(patient, people.colleague.address, [Category.LABS], False, days_from_now(carechain, 7))
    first = ada(patient)
    assert carechain.write_profile(patient, first) == {patient.address, people.doctor.address,
                                                       people.colleague.address}
    assert carechain.profile_seen_by(people.doctor, patient.address) == first
    old_digest = bytes(carechain.chain.call("profileOf", patient.address))

    carechain.revoke(patient, people.doctor.address)
    resealed = bytes(carechain.chain.call("profileOf", patient.address))
    assert set(carechain._header(resealed).keys) == {patient.address, people.colleague.address}
    carechain.write_profile(patient, ada(patient, family="King", phone="+44 20 7946 0002"))
    updated = bytes(carechain.chain.call("profileOf", patient.address))

    assert len({old_digest, resealed, updated}) == 3
    assert not carechain.store.is_pinned(old_digest) and not carechain.store.is_pinned(resealed)
    assert carechain.profile_seen_by(people.doctor, patient.address) is None
    # Not only refused by the access check: the update holds no key the doctor could open.
    assert carechain._profile_at(people.doctor, patient.address, updated) is None
    assert carechain.profile_seen_by(people.colleague, patient.address).name == "Ada King"


def test_the_same_profile_sent_twice_is_stored_once(carechain, patient):
    profile = ada(patient, updated_at=1_790_000_000)
    carechain.write_profile(patient, profile)
    blocks = carechain.chain.latest_block()
    carechain.write_profile(patient, profile)
    assert carechain.chain.latest_block() == blocks
    assert len(carechain.chain.events("ProfileUpdated", patient=patient.address)) == 1


def test_the_same_profile_sent_twice_at_once_is_stored_once_and_stays_pinned(stack, carechain, patient):
    profile = ada(patient, updated_at=1_790_000_000)
    outcomes = at_once([lambda c=c: c.write_profile(patient, profile) for c in connections(stack, 2)])

    assert outcomes == [{patient.address}, {patient.address}]
    (event,) = carechain.chain.events("ProfileUpdated", patient=patient.address)
    assert carechain.store.is_pinned(bytes(event["args"]["digest"]))
    assert carechain.own_profile(patient) == profile


def test_a_patient_pointing_at_anothers_profile_borrows_no_identity(carechain, people, new_patient):
    """The chain cannot tell what a digest points at; readers check the envelope names the patient."""
    ada_patient, impostor = new_patient(), new_patient()
    for patient in (ada_patient, impostor):
        carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))
    carechain.write_profile(ada_patient, ada(ada_patient))
    record = carechain.add_record(impostor, impostor.address, pulse(impostor))
    for borrowed in (bytes(carechain.chain.call("profileOf", ada_patient.address)), record.digest, b"\x07" * 32):
        carechain.chain.transact(impostor, "setProfile", borrowed)
        assert carechain.profile_seen_by(people.doctor, impostor.address) is None
        with pytest.raises(IntegrityError):
            carechain.own_profile(impostor)
    assert carechain.profile_seen_by(people.doctor, ada_patient.address).name == "Ada Lovelace"


@pytest.mark.parametrize("changes, problem", [
    (dict(given="  "), "given name is required"),
    (dict(family="x" * 101), "longer than 100"),
    (dict(family="1234"), "family name has no letter"),
    (dict(family="Love\u202elace"), "family name holds a control or invisible character"),
    (dict(birth_date="1990-02-30"), "not a date"),
    (dict(birth_date=date.today() + timedelta(days=1)), "in the future"),
    (dict(birth_date=date(1850, 1, 1)), "more than 130 years ago"),
    (dict(gender="f"), "sex must be one of female, male, other, unknown"),
    (dict(phone="call me"), "phone number"),
    (dict(email="ada@"), "e-mail address is not valid"),
    (dict(photo=b"GIF89a" + b"\x00" * 10, photo_type="image/gif"), "PNG or JPEG"),
    (dict(photo=b"not a png", photo_type="image/png"), "content is not image/png"),
    (dict(photo=PNG + b"\x00" * MAX_PHOTO_SIZE), "larger than 256 KB"),
])
def test_bad_input_is_refused_and_nothing_changes(carechain, patient, changes, problem):
    kept = ada(patient)
    carechain.write_profile(patient, kept)
    with pytest.raises(InvalidInput, match=problem):
        carechain.write_profile(patient, ada(patient, **changes))
    assert carechain.own_profile(patient) == kept


def test_a_patient_writes_only_its_own_profile(carechain, patient, new_patient):
    other = new_patient()
    with pytest.raises(InvalidInput, match="only its own profile"):
        carechain.write_profile(patient, ada(other))
    assert carechain.own_profile(other) is None


def test_an_unregistered_account_cannot_set_a_profile(carechain, people):
    stranger = Account.create()
    carechain.fund(people.admin, stranger.address, 1)
    with pytest.raises(InvalidInput, match="not a registered patient"):
        carechain.write_profile(stranger, ada(stranger))
    with pytest.raises(TransactionFailed, match="not a registered patient"):
        carechain.chain.transact(stranger, "setProfile", b"\x01" * 32)
    with pytest.raises(TransactionFailed, match="not a registered patient"):
        carechain.chain.transact(people.doctor, "setProfile", b"\x01" * 32)
    assert bytes(carechain.chain.call("profileOf", stranger.address)) == bytes(32)


def test_a_withdrawn_profile_is_shown_to_nobody(carechain, people, patient):
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))
    carechain.write_profile(patient, ada(patient))
    digest = bytes(carechain.chain.call("profileOf", patient.address))

    carechain.remove_profile(patient)

    assert carechain.own_profile(patient) is None
    assert carechain.profile_seen_by(people.doctor, patient.address) is None
    assert not carechain.store.is_pinned(digest)
