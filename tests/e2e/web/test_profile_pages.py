"""The patient's profile page, and patients by name and age on the pages of the doctors and hospitals
they granted: the doctor's list and its search by name, the patient's records page, a record's page,
the hospital's page, the alerts list; the address alone without a profile or a grant."""

import io
import re
import secrets
import time
from datetime import date, timedelta

import pytest

from app.carechain.profiles import profile_of
from app.carechain.records import Category
from tests.e2e.helpers import days_from_now, pulse, text, travel_to
from tests.e2e.library.test_ingestion import Device, complete_set

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
TODAY = date.today()


def years_ago(years: int) -> str:
    return (TODAY.replace(year=TODAY.year - years) - timedelta(days=1)).isoformat()


def form(**changes):
    fields = {"given": "Ada", "family": "Lovelace", "birth_date": years_ago(36), "gender": "female",
              "phone": "+44 20 7946 0001", "email": "ada@example.org"}
    return {**fields, **changes}


def unique_family() -> str:
    """A family name no other test's patient has: tests share one chain and one doctor."""
    return "Lovelace" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))


def shared_profile(carechain, patient, given, family, years=36):
    carechain.write_profile(patient, profile_of(patient.address, given, family, years_ago(years), "female"))


def rows(page: str) -> list[str]:
    return page.split("<tbody>")[1].split("</tbody>")[0].split("<tr")[1:]


def test_a_patient_creates_its_profile_with_a_photo(as_user, patient, carechain):
    me = as_user(patient)
    assert "You have no profile yet" in text(me.get("/patient/profile/"))
    assert 'href="/patient/profile/"' in text(me.get("/patient/"))  # in the patient's menu

    response = me.post("/patient/profile/", {**form(), "photo": (io.BytesIO(PNG), "me.png")})

    assert response.status_code == 302
    page = text(me.get("/patient/profile/"))
    assert "Profile saved, encrypted for you alone" in page
    assert "Ada Lovelace, 36" in page and "ada@example.org" in page and "+44 20 7946 0001" in page
    assert 'src="data:image/png;base64,' in page
    assert carechain.own_profile(patient).photo == PNG
    trail = text(me.get("/patient/audit?show=profile"))
    assert "your profile was saved, encrypted for you and those with access then" in trail


def test_an_update_keeps_the_photo_unless_removed(as_user, patient, carechain):
    me = as_user(patient)
    me.post("/patient/profile/", {**form(), "photo": (io.BytesIO(PNG), "me.png")})
    me.post("/patient/profile/", form(family="King"))
    assert carechain.own_profile(patient).name == "Ada King" and carechain.own_profile(patient).photo == PNG
    me.post("/patient/profile/", form(family="King", remove_photo="y"))
    assert carechain.own_profile(patient).photo == b""


@pytest.mark.parametrize("changes, problem", [
    (dict(birth_date=(TODAY + timedelta(days=3)).isoformat()), "The birth date is in the future."),
    (dict(birth_date="23/11/1990"), "Not a valid date value."),
    (dict(email="ada@"), "The e-mail address is not valid"),
    (dict(gender=""), "Choose one."),
    (dict(given=""), "Give your given name."),
    (dict(phone="call me"), "The phone number may hold only digits"),
    (dict(photo=(io.BytesIO(b"GIF89a" + b"\x00" * 20), "me.gif")), "A photo must be PNG or JPEG"),
])
def test_bad_input_is_refused_keeps_what_was_typed_and_changes_nothing(as_user, patient, carechain, changes, problem):
    me = as_user(patient)
    response = me.post("/patient/profile/", form(family="Byron", **changes))
    page = text(response)
    assert response.status_code == 400 and problem in page
    assert 'value="Byron"' in page
    assert carechain.own_profile(patient) is None


def test_a_post_without_its_csrf_token_changes_nothing(as_user, patient, carechain):
    response = as_user(patient).post("/patient/profile/", form(), csrf=False)
    assert response.status_code == 400
    assert carechain.own_profile(patient) is None


def test_a_profile_pointer_set_outside_carechain_is_reported_and_mended_by_saving(as_user, patient, carechain):
    carechain.chain.transact(patient, "setProfile", b"\x07" * 32)
    me = as_user(patient)
    page = text(me.get("/patient/profile/"))
    assert "Your profile on chain points at data that is not a profile of yours" in page
    assert me.post("/patient/profile/", form()).status_code == 302
    assert carechain.own_profile(patient).name == "Ada Lovelace"


def test_only_patients_open_the_profile_page(as_user, people, visitor):
    for user in (as_user(people.doctor), as_user(people.hospital), as_user(people.admin)):
        assert user.get("/patient/profile/").location == "/auth/"
    assert visitor.get("/patient/profile/").location.startswith("/auth/login")


def test_the_doctors_list_shows_name_and_age_and_the_address_without_a_profile(as_user, people, carechain,
                                                                               new_patient):
    named, unnamed = new_patient(), new_patient()
    family = unique_family()
    shared_profile(carechain, named, "Ada", family, years=36)
    for patient in (named, unnamed):
        carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))

    page = text(as_user(people.doctor).get("/doctor/"))

    (named_row,) = [row for row in rows(page) if named.address in row]
    assert f'<span class="patient-name">Ada {family}, 36</span>' in named_row
    assert f'href="/doctor/patients/{named.address}"' in named_row
    (unnamed_row,) = [row for row in rows(page) if unnamed.address in row]
    assert "patient-name" not in unnamed_row and f'<span class="address">{unnamed.address}</span>' in unnamed_row
    assert f"Ada {family}" not in text(as_user(people.outsider).get("/doctor/"))  # never granted


def test_the_doctor_finds_a_patient_by_name(as_user, people, carechain, new_patient):
    family = unique_family()
    ada, grace, other = new_patient(), new_patient(), new_patient()
    shared_profile(carechain, ada, "Ada", family)
    shared_profile(carechain, grace, "Grace", family + "x")
    shared_profile(carechain, other, "Ada", unique_family())
    for patient in (ada, grace, other):
        carechain.grant(patient, people.doctor.address, [Category.LABS], False, days_from_now(carechain, 7))
    doctor = as_user(people.doctor)

    def found(query):
        page = text(doctor.get("/doctor/", query_string={"q": query}))
        return {patient for patient in (ada, grace, other) if patient.address in page}, page

    assert found(family.upper())[0] == {ada, grace}  # any case
    assert found(f"ada {family}")[0] == {ada}  # every word
    assert found(grace.address[2:12].lower())[0] == {grace}  # or part of the address
    nobody, page = found("Nobody Atall")
    assert nobody == set() and "No patient you have access to matches “Nobody Atall”" in page
    assert 'value="Nobody Atall"' in page


def test_the_patients_pages_name_the_patient(as_user, people, carechain, patient):
    family = unique_family()
    shared_profile(carechain, patient, "Ada", family)
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [Category.VITALS], True, days_from_now(carechain, 7))
    doctor = as_user(people.doctor)

    heading = re.search(r"<h1>.*?</h1>", text(doctor.get(f"/doctor/patients/{patient.address}")), re.S)[0]
    assert f"Ada {family}, 36" in heading and patient.address in heading
    record = text(doctor.get(f"/doctor/patients/{patient.address}/records/{entry.digest.hex()}"))
    assert f'<dt>Patient</dt><dd class="patient-name">Ada {family}, 36</dd>' in record
    for page in ("vitals", "records/new"):
        heading = re.search(r"<h1>.*?</h1>", text(doctor.get(f"/doctor/patients/{patient.address}/{page}")), re.S)[0]
        assert f"Ada {family}, 36" in heading, page


def test_the_hospitals_page_names_its_patients(as_user, people, carechain, patient):
    family = unique_family()
    shared_profile(carechain, patient, "Grace", family, years=70)
    carechain.grant(patient, people.hospital.address, [Category.LABS], False, days_from_now(carechain, 7))
    patients = text(as_user(people.hospital).get("/hospital/")).split('id="patients"')[1]
    (row,) = [row for row in rows(patients) if patient.address in row]
    assert f"Grace {family}, 70" in row


def test_the_alerts_list_names_the_patient(as_user, people, carechain, patient):
    family = unique_family()
    shared_profile(carechain, patient, "Ada", family)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 1))
    now = int(time.time())
    alert = Device(carechain, people, patient).send(
        complete_set(now - 30, respiration=30, spo2=90, pulse=135, systolic=88), now=now).alert
    page = text(as_user(people.doctor).get("/alerts/"))
    card = page.split(f'data-alert="{alert.digest.hex()}"')[1].split("</article>")[0]
    assert f'<span class="patient-name">Ada {family}, 36</span>' in card and patient.address in card


def test_a_lapsed_grant_shows_the_address_again(as_user, people, carechain, patient):
    family = unique_family()
    shared_profile(carechain, patient, "Ada", family)
    expires_at = carechain.now() + 60
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, expires_at)
    doctor = as_user(people.doctor)
    assert f"Ada {family}, 36" in text(doctor.get("/doctor/"))

    travel_to(carechain, expires_at + 1)

    (row,) = [row for row in rows(text(doctor.get("/doctor/"))) if patient.address in row]
    assert "expired" in row and family not in row


def test_a_removed_profile_leaves_the_address(as_user, people, carechain, patient):
    family = unique_family()
    shared_profile(carechain, patient, "Ada", family)
    carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 7))
    me = as_user(patient)
    response = me.post("/patient/profile/remove", {})
    assert response.status_code == 302 and "Profile removed" in text(me.get("/patient/profile/"))
    assert "your profile was withdrawn" in text(me.get("/patient/audit?show=profile"))
    assert family not in text(as_user(people.doctor).get("/doctor/"))
