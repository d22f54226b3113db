"""A patient's record pages: the list, adding each kind of record, viewing and downloading."""

import html
import io
import json
import time

import pytest

from app import patient as patient_pages
from app.carechain.records import MAX_ATTACHMENT_SIZE, MAX_RESOURCE_SIZE
from tests.e2e.clinic_resources import clinic_resources
from tests.e2e.helpers import pulse, text

PDF = b"%PDF-1.4\n% a discharge letter\n"


@pytest.fixture
def me(as_user, patient):
    return as_user(patient)


def count(carechain, account):
    return carechain.participant(account.address).record_count


def test_a_vital_sign_is_stored_listed_verified_and_viewable(me, carechain):
    response = me.post("/patient/records/new/vitals", {"kind": "blood_pressure", "value": "128", "diastolic": "84"},
                       prefix="vitals", follow_redirects=True)
    assert "Record #1 (Vitals: Blood pressure panel: 128/84 mmHg) stored" in text(response)
    assert "mined in block" in text(response)
    dashboard = text(me.get("/patient/"))
    assert "Blood pressure panel: 128/84 mmHg" in dashboard and 'class="badge ok verified"' in dashboard and ">you<" in dashboard
    entry = carechain.records(me.address)[0]
    page = text(me.get(f"/patient/records/{entry.digest.hex()}"))
    assert "signature checked" in page and entry.cid in page


@pytest.mark.parametrize("data, message", [
    ({"kind": "pulse", "value": "900"}, "outside the plausible range"),
    ({"kind": "pulse", "value": "fast"}, "must be a number"),
    ({"kind": "blood_pressure", "value": "120"}, "needs the diastolic value"),
    ({"kind": "pulse", "value": "70", "measured_at": "2999-01-01T10:00"}, "in the future"),
    ({"kind": "nonsense", "value": "70"}, "Not a valid choice"),
])
def test_implausible_vitals_are_refused_and_store_nothing(me, carechain, data, message):
    response = me.post("/patient/records/new/vitals", data, prefix="vitals")
    assert response.status_code == 400 and message.lower() in text(response).lower()
    assert count(carechain, me.account) == 0


def test_a_document_is_stored_under_its_category_and_downloads_unchanged(me, carechain):
    response = me.post("/patient/records/new/document", {"title": "Discharge letter", "category": "1",
                                                         "file": (io.BytesIO(PDF), "letter.pdf")}, prefix="document")
    assert response.status_code == 302
    entry = carechain.records(me.address)[0]
    assert entry.category.label == "Labs"
    download = me.get(f"/patient/records/{entry.digest.hex()}/file")
    assert download.data == PDF and download.mimetype == "application/pdf"
    assert download.headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name, data, message", [
    ("empty.pdf", b"", "the file is empty"),
    ("program.exe", b"MZ\x90\x00binary", "are not accepted"),
    ("fake.pdf", b"GIF89a not a pdf", "are not accepted"),
    ("notes.txt", b"\xff\xfe\x00bad", "not UTF-8 text"),
])
def test_empty_and_wrong_type_files_are_refused(me, carechain, name, data, message):
    response = me.post("/patient/records/new/document", {"title": "Scan", "category": "4",
                                                         "file": (io.BytesIO(data), name)}, prefix="document")
    assert response.status_code == 400 and message.lower() in text(response).lower()
    assert count(carechain, me.account) == 0


def test_oversized_uploads_get_a_clear_message_and_store_nothing(me, carechain):
    def upload(size):
        data = PDF + b"0" * (size - len(PDF))
        return me.post("/patient/records/new/document", {"title": "Scan", "category": "4",
                                                         "file": (io.BytesIO(data), "big.pdf")}, prefix="document")

    just_over = upload(MAX_ATTACHMENT_SIZE + 1)  # read by the app, refused by the record's checks
    assert just_over.status_code == 400 and "larger than the 20 MB limit" in text(just_over)
    far_over = upload(MAX_ATTACHMENT_SIZE + (2 << 20))  # refused by Flask before it is read
    assert far_over.status_code == 413 and "up to 20 MB" in text(far_over)
    assert count(carechain, me.account) == 0


def observation(subject):
    return {"resourceType": "Observation", "status": "final", "subject": {"reference": f"Patient/{subject}"},
            "code": {"text": "Hemoglobin"}, "valueQuantity": {"value": 13.5, "unit": "g/dL"},
            "category": [{"coding": [{"code": "laboratory"}]}]}


def test_a_fhir_resource_is_validated_and_must_be_about_this_patient(me, carechain, new_patient):
    def upload(resource):
        body = resource if isinstance(resource, bytes) else json.dumps(resource).encode()
        return me.post("/patient/records/new/fhir", {"resource": (io.BytesIO(body), "r.json")}, prefix="fhir")

    assert "is not valid JSON" in text(upload(b"{not json"))
    assert "Invalid FHIR Observation" in text(upload({**observation(me.address), "status": "bogus"}))
    assert "must be Patient/" in text(upload(observation(new_patient().address)))
    assert count(carechain, me.account) == 0
    assert upload(observation(me.address)).status_code == 302
    assert "Hemoglobin: 13.5 g/dL" in text(me.get("/patient/"))


def post_fhir(user, file=None, pasted=None):
    """Posts the FHIR form as a browser does: the file input always (empty if none was chosen)."""
    upload = (io.BytesIO(file), "resource.json") if file is not None else (io.BytesIO(b""), "")
    return user.post("/patient/records/new/fhir", {"resource": upload, "pasted": pasted or ""}, prefix="fhir")


def test_a_pasted_resource_is_stored_like_an_uploaded_one(me, carechain):
    resources = clinic_resources(me.address)
    pasted = post_fhir(me, pasted=json.dumps(resources["Immunization"], indent=2))
    uploaded = post_fhir(me, file=json.dumps(resources["AllergyIntolerance"]).encode())
    assert (pasted.status_code, uploaded.status_code) == (302, 302)
    dashboard = text(me.get("/patient/"))
    assert "Immunization: Influenza, 2026-10-02" in dashboard
    assert "Allergy: Penicillin (high criticality)" in dashboard
    assert [entry.category.label for entry in carechain.records(me.address)] == ["Medications", "Conditions"]


def test_a_fhir_resource_is_given_once_as_a_file_or_pasted(me, carechain):
    resource = json.dumps(clinic_resources(me.address)["Procedure"])
    both = post_fhir(me, file=resource.encode(), pasted=resource)
    assert both.status_code == 400 and "choose a file or paste it, not both" in text(both)
    neither = post_fhir(me)
    assert neither.status_code == 400 and "Choose a JSON file or paste a FHIR resource" in text(neither)
    assert count(carechain, me.account) == 0


def test_a_refused_paste_names_the_element_and_stays_in_the_form(me, carechain, new_patient):
    allergy = clinic_resources(me.address)["AllergyIntolerance"]
    wrong_code = json.dumps({**allergy, "clinicalStatus": {"coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "activ"}]}})
    page = html.unescape(text(post_fhir(me, pasted=wrong_code)))
    assert ("Invalid FHIR AllergyIntolerance: clinicalStatus.coding[0].code 'activ' is not one of active, inactive, "
            "resolved.") in page
    assert wrong_code in page  # the textarea still holds it
    a_string = html.unescape(text(post_fhir(me, pasted=json.dumps({**allergy, "clinicalStatus": "active"}))))
    assert 'clinicalStatus: expected a CodeableConcept (a JSON object), not "active"' in a_string
    assert "expected value at line 1" not in a_string
    someone_else = clinic_resources(new_patient().address)["AllergyIntolerance"]
    assert "resource&#39;s patient must be Patient/" in text(post_fhir(me, pasted=json.dumps(someone_else)))
    assert count(carechain, me.account) == 0


def test_a_pasted_resource_has_the_same_size_limit_as_a_file(me, carechain):
    def summary(size):
        resource = clinic_resources(me.address)["Composition"]
        section = resource["section"][0]
        padding = "x" * (size - len(json.dumps(resource)))
        return json.dumps({**resource, "section": [{**section, "text": {
            **section["text"], "div": section["text"]["div"].replace("Recovered", padding + " Recovered")}}]})

    assert post_fhir(me, pasted=summary(MAX_RESOURCE_SIZE - 1000)).status_code == 302
    assert "larger than 1 MB" in text(post_fhir(me, pasted=summary(MAX_RESOURCE_SIZE + 1000)))


def test_a_form_sent_twice_stores_one_record(me, carechain):
    form = {"kind": "pulse", "value": "64", "shown_at": str(int(time.time()) - 5)}  # the server's clock
    me.post("/patient/records/new/vitals", form, prefix="vitals")
    me.post("/patient/records/new/vitals", form, prefix="vitals")
    assert count(carechain, me.account) == 1


def test_the_list_pages_newest_first(me, carechain, monkeypatch):
    for value in (61, 62, 63):
        carechain.add_record(me.account, me.address, pulse(me.account, value))
    monkeypatch.setattr(patient_pages, "PAGE_SIZE", 2)
    first, second = text(me.get("/patient/")), text(me.get("/patient/?page=2"))
    assert "63 beats/minute" in first and "62 beats/minute" in first and "61 beats" not in first
    assert "61 beats/minute" in second and "Page 2 of 2" in second
    assert "Page 2 of 2" in text(me.get("/patient/?page=99"))


def test_another_patients_record_or_a_malformed_id_is_not_shown(me, carechain, new_patient):
    other = new_patient()
    entry = carechain.add_record(other, other.address, pulse(other))
    response = me.get(f"/patient/records/{entry.digest.hex()}")
    assert response.status_code == 400 and "no such record" in text(response)
    assert me.get(f"/patient/records/{entry.digest.hex()}/file").status_code == 400
    assert me.get("/patient/records/xyz").status_code == 404
    assert me.get("/patient/records/" + "ab" * 31).status_code == 404


def test_a_typed_measurement_time_is_read_in_the_zone_the_page_showed(me, carechain):
    me.post("/patient/records/new/vitals", {"kind": "pulse", "value": "70", "measured_at": "2026-01-15T10:00",
                                            "time_zone": "America/New_York"}, prefix="vitals")
    entry = carechain.records(me.address)[0]
    opened = carechain.read_record(me.account, me.address, entry.digest, log=False)
    assert opened.record.resource["effectiveDateTime"] == "2026-01-15T15:00:00Z"  # 10:00 EST
