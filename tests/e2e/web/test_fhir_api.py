"""The FHIR R4 API as an EHR uses it: `fhirclient` (SMART on FHIR's Python client) over HTTP to the
app served by waitress, with a token a logged-in doctor created on the token page. Reads and
searches return exactly what the doctor may read, verified, each read logged on chain; every
refusal is an OperationOutcome."""

import base64
import re
from datetime import datetime, timezone
from itertools import islice

import pytest
from eth_account import Account
from fhirclient import client
from fhirclient.models.binary import Binary
from fhirclient.models.capabilitystatement import CapabilityStatement
from fhirclient.models.condition import Condition
from fhirclient.models.documentreference import DocumentReference
from fhirclient.models.medicationrequest import MedicationRequest
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient
from fhirclient.server import FHIRNotFoundException, FHIRPermissionDeniedException, FHIRUnauthorizedException

from app import create_app
from app.carechain.profiles import profile_of
from app.carechain.records import Category, condition, document, prescription
from app.carechain.vitals import vital_sign
from scripts.serve import serve
from tests.e2e.helpers import User, days_from_now, text

PORT = 5107
BASE = f"http://127.0.0.1:{PORT}/fhir/r4"
TOKEN = re.compile(r'id="api-token">([^<]+)<')


def second(day: str) -> int:
    return int(datetime.fromisoformat(f"{day}T09:00:00+00:00").astimezone(timezone.utc).timestamp())


@pytest.fixture(scope="module", autouse=True)
def app(stack, people):
    """The app, served over HTTP for fhirclient on PORT for this module's tests."""
    app = create_app({"TESTING": True, "CARECHAIN": stack[1]})
    server = serve(app, "127.0.0.1", PORT)
    yield app
    server.close()


def token_of(app, account, scope="user/*.read") -> str:
    """A token created on the token page by `account`, logged in."""
    response = User(app, account).post("/fhir/tokens/", {"scope": scope, "hours": "1"})
    assert response.status_code == 200, text(response)
    return TOKEN.search(text(response)).group(1)


def ehr(token: str | None) -> client.FHIRClient:
    """An EHR's FHIR client for this server, sending `token` as its bearer token."""
    smart = client.FHIRClient(settings={"app_id": "carechain-tests", "api_base": BASE})
    if token:
        smart.server.session.headers["Authorization"] = f"Bearer {token}"
    return smart


def found(search, server, pages=None) -> list:
    """The resources a search finds, following its `next` links (for at most `pages` pages)."""
    return [entry.resource for page in islice(search.perform_iter(server), pages) for entry in page.entry or []]


@pytest.fixture(scope="module")
def chart(app, people, carechain):
    """A patient with four vital signs (Jan-Mar 2026), a diagnosis and a prescription, who granted
    Dr. Chen read access to vitals and conditions (not medications) for 3 days, and shared a profile."""
    patient = Account.create()
    carechain.fund(people.admin, patient.address, 1)
    carechain.register_patient(patient)
    for kind, value, day in (("pulse", 61, "2026-01-10"), ("pulse", 62, "2026-02-10"),
                             ("temperature", 37.2, "2026-02-15"), ("pulse", 63, "2026-03-10")):
        carechain.add_record(patient, patient.address, vital_sign(patient.address, kind, value, second(day)))
    carechain.add_record(patient, patient.address, condition(patient.address, "Asthma", second("2026-01-20")))
    carechain.add_record(patient, patient.address, prescription(patient.address, "Salbutamol", "2 puffs as needed"))
    carechain.grant(patient, people.doctor.address, [0, 2], False, days_from_now(carechain, 3))
    carechain.write_profile(patient, profile_of(patient.address, "Grace", "Hopper", "1980-12-09", "female"))
    return patient


@pytest.fixture(scope="module")
def doctor(app, people, chart):
    return ehr(token_of(app, people.doctor))


def test_the_capability_statement_lists_the_resources_and_needs_no_token():
    statement = CapabilityStatement.read_from("metadata", ehr(None).server)
    assert statement.fhirVersion == "4.0.1"
    resources = {resource.type: resource for resource in statement.rest[0].resource}
    assert {"Patient", "Observation", "Condition", "MedicationRequest", "AllergyIntolerance", "DiagnosticReport",
            "DocumentReference"} <= set(resources)
    assert {param.name for param in resources["Observation"].searchParam} >= {"patient", "category", "code", "date"}


def test_a_search_returns_the_patients_records_of_the_type_newest_first(doctor, chart):
    pulses = found(Observation.where(struct={"patient": chart.address}), doctor.server)
    assert [observation.valueQuantity.value for observation in pulses] == [63, 37.2, 62, 61]
    assert all(observation.id.startswith(chart.address.lower() + "-") for observation in pulses)
    conditions = found(Condition.where(struct={"patient": f"Patient/{chart.address}"}), doctor.server)
    assert [found.code.text for found in conditions] == ["Asthma"]


def test_a_record_is_read_by_id_and_the_read_is_logged_on_chain(doctor, chart, carechain, people):
    first = found(Observation.where(struct={"patient": chart.address, "_count": "1"}), doctor.server, pages=1)[0]
    read = Observation.read(first.id, doctor.server)
    assert read.id == first.id and read.valueQuantity.value == 63
    last = carechain.audit_trail(chart.address)[-1]
    assert last.kind == "read" and last.actor == people.doctor.address
    assert carechain.read_record(chart, chart.address, bytes.fromhex(last.details["digest"])).record.resource[
        "valueQuantity"]["value"] == 63


def test_a_search_is_logged_as_a_listing_and_every_record_it_returns_as_read_in_one_transaction(
        doctor, chart, carechain, people):
    before = len(carechain.audit_trail(chart.address))
    found(Observation.where(struct={"patient": chart.address}), doctor.server)
    listed, *reads = carechain.audit_trail(chart.address)[before:]
    assert listed.kind == "listed" and [event.kind for event in reads] == ["read"] * 4
    assert {event.actor for event in [listed, *reads]} == {people.doctor.address}
    assert len({event.block for event in reads}) == 1


def test_a_search_by_code_logs_as_read_every_candidate_it_opened(doctor, chart, carechain):
    """To match codes the server opens each candidate: each is logged, not only those returned."""
    before = len(carechain.audit_trail(chart.address))
    matches = found(Observation.where(struct={"patient": chart.address, "code": "8867-4"}), doctor.server)
    reads = [event for event in carechain.audit_trail(chart.address)[before:] if event.kind == "read"]
    assert len(matches) == 3 and len(reads) == 4  # the three heart rates and the temperature opened to check


def test_search_by_category_code_and_date_range(doctor, chart):
    def values(struct):
        matches = found(Observation.where(struct={"patient": chart.address, **struct}), doctor.server)
        return [observation.valueQuantity.value for observation in matches]

    assert values({"category": "vital-signs"}) == [63, 37.2, 62, 61]
    assert values({"category": "laboratory"}) == []
    assert values({"code": "http://loinc.org|8310-5"}) == [37.2]
    assert values({"code": "8867-4"}) == [63, 62, 61]
    assert values({"date": {"$gte": "2026-02-01", "$lte": "2026-02-28"}}) == [37.2, 62]
    assert values({"date": "ge2026-02-12"}) == [63, 37.2]
    assert values({"date": "2026-01"}) == [61]


def test_count_pages_through_the_results_with_next_links(doctor, chart):
    search = Observation.where(struct={"patient": chart.address, "_count": "3"})
    pages = list(search.perform_iter(doctor.server))
    assert [len(page.entry) for page in pages] == [3, 1] and {page.total for page in pages} == {4}
    assert [entry.resource.valueQuantity.value for page in pages for entry in page.entry] == [63, 37.2, 62, 61]
    assert pages[0].entry[0].fullUrl == f"{BASE}/Observation/{pages[0].entry[0].resource.id}"


def test_the_patient_is_read_from_the_profile_they_shared(doctor, chart):
    patient = Patient.read(chart.address, doctor.server)
    assert patient.name[0].family == "Hopper" and patient.birthDate.isostring == "1980-12-09"


def test_records_outside_the_grant_are_not_found_by_search_and_refused_by_id(doctor, chart, carechain):
    assert found(MedicationRequest.where(struct={"patient": chart.address}), doctor.server) == []
    medication = next(entry for entry in carechain.all_records(chart.address) if entry.category == 3)
    with pytest.raises(FHIRPermissionDeniedException) as refused:
        MedicationRequest.read(f"{chart.address.lower()}-{medication.origin}", doctor.server)
    outcome = refused.value.response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert "grant does not cover medications" in outcome["issue"][0]["diagnostics"]


def test_a_doctor_without_a_grant_is_refused(app, people, chart):
    outsider = ehr(token_of(app, people.outsider))
    with pytest.raises(FHIRPermissionDeniedException) as refused:
        found(Observation.where(struct={"patient": chart.address}), outsider.server)
    assert "has not granted you access" in refused.value.response.json()["issue"][0]["diagnostics"]
    with pytest.raises(FHIRPermissionDeniedException):
        Patient.read(chart.address, outsider.server)


def test_a_token_reads_only_the_types_of_its_scope(app, people, chart):
    patients_only = ehr(token_of(app, people.doctor, "user/Patient.read"))
    assert Patient.read(chart.address, patients_only.server).name[0].given == ["Grace"]
    with pytest.raises(FHIRPermissionDeniedException) as refused:
        found(Observation.where(struct={"patient": chart.address}), patients_only.server)
    assert "scope does not cover reading Observation" in refused.value.response.json()["issue"][0]["diagnostics"]


def test_the_token_page_refuses_a_scope_that_is_not_read_only(app, people):
    response = User(app, people.doctor).post("/fhir/tokens/", {"scope": "user/*.write", "hours": "1"})
    assert response.status_code == 400 and "is not a read scope" in text(response)
    assert User(app).get("/fhir/tokens/").status_code == 302  # log in first


@pytest.mark.parametrize("token", [None, "not-a-token", "expired"])
def test_no_expired_or_unknown_token_gets_401_with_www_authenticate(app, people, chart, token):
    if token == "expired":
        token, _ = app.extensions["fhir_tokens"].issue(people.doctor, "doctor", frozenset({"Observation"}), -1)
    with pytest.raises(FHIRUnauthorizedException) as refused:
        found(Observation.where(struct={"patient": chart.address}), ehr(token).server)
    response = refused.value.response
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize("query, problem", [
    ("date=someday", "is not a FHIR date"),
    ("_count=lots", "_count must be one whole number"),
    ("category=imaging", "Unknown category"),
    ("colour=red", "Unknown search parameter"),
])
def test_a_malformed_parameter_gets_400(doctor, chart, query, problem):
    response = doctor.server.session.get(f"{BASE}/Observation?patient={chart.address}&{query}")
    assert response.status_code == 400 and response.headers["Content-Type"] == "application/fhir+json"
    assert problem in response.json()["issue"][0]["diagnostics"]


def test_unknown_ids_types_and_writes_get_an_operation_outcome(doctor, chart):
    with pytest.raises(FHIRNotFoundException):
        Observation.read(f"{chart.address.lower()}-999999", doctor.server)
    session = doctor.server.session
    assert session.get(f"{BASE}/Observation/not-an-id").status_code == 400
    assert session.get(f"{BASE}/Medication?patient={chart.address}").status_code == 404
    written = session.post(f"{BASE}/Observation", json={"resourceType": "Observation"})
    assert written.status_code == 405 and written.json()["resourceType"] == "OperationOutcome"


def test_the_token_page_lists_live_tokens_and_a_revoked_one_is_refused_at_once(app, people, chart):
    doctor = User(app, people.doctor)
    ward = TOKEN.search(text(doctor.post("/fhir/tokens/", {"name": "Ward EHR", "scope": "user/Observation.read",
                                                            "hours": "4"}))).group(1)
    lab = TOKEN.search(text(doctor.post("/fhir/tokens/", {"name": "Lab system", "scope": "user/*.read",
                                                           "hours": "1"}))).group(1)
    page = text(doctor.get("/fhir/tokens/"))
    assert "<td>Ward EHR</td>" in page and "<td>Lab system</td>" in page
    assert ward not in page and lab not in page  # shown once only
    handle = next(t.handle for t in app.extensions["fhir_tokens"].of(people.doctor.address) if t.name == "Ward EHR")
    assert User(app, people.colleague).post(f"/fhir/tokens/{handle}/revoke", {}, follow_redirects=True).status_code == 200
    assert found(Observation.where(struct={"patient": chart.address}), ehr(ward).server)  # not the colleague's to end

    for _ in range(2):  # a double click: the second is told the token had already ended
        answer = text(doctor.post(f"/fhir/tokens/{handle}/revoke", {}, follow_redirects=True))
    assert "already ended" in answer and "<td>Ward EHR</td>" not in answer and "<td>Lab system</td>" in answer
    with pytest.raises(FHIRUnauthorizedException):
        found(Observation.where(struct={"patient": chart.address}), ehr(ward).server)
    assert found(Observation.where(struct={"patient": chart.address}), ehr(lab).server)


def test_a_documents_file_is_served_as_the_binary_its_attachment_names(app, people, carechain):
    patient = Account.create()
    carechain.fund(people.admin, patient.address, 1)
    carechain.register_patient(patient)
    letter = b"Discharge letter\n\nDischarged in good health.\n"
    carechain.add_record(patient, patient.address, document(patient.address, "Discharge letter", letter, "text/plain"))
    carechain.grant(patient, people.doctor.address, [Category.DOCUMENTS], False, days_from_now(carechain, 3))
    token = token_of(app, people.doctor, "user/DocumentReference.read user/Binary.read")
    server = ehr(token).server
    (reference,) = found(DocumentReference.where(struct={"patient": patient.address}), server)
    url = reference.content[0].attachment.url
    assert url == f"Binary/{reference.id}"

    reads = sum(event.kind == "read" for event in carechain.audit_trail(patient.address))
    binary = Binary.read_from(url, server)  # fhirclient asks for FHIR JSON: the Binary resource
    assert binary.contentType == "text/plain" and base64.b64decode(binary.data) == letter
    raw = server.session.get(f"{BASE}/{url}", headers={"Accept": "*/*"})  # anyone else: the file itself
    assert raw.content == letter and raw.headers["Content-Type"].startswith("text/plain")
    assert sum(event.kind == "read" for event in carechain.audit_trail(patient.address)) == reads + 2  # logged

    with pytest.raises(FHIRPermissionDeniedException):  # the scope must name Binary
        Binary.read_from(url, ehr(token_of(app, people.doctor, "user/DocumentReference.read")).server)
    with pytest.raises(FHIRNotFoundException):  # a record without a file has no Binary
        Binary.read_from(f"Binary/{patient.address.lower()}-999", server)


def test_a_patient_search_finds_those_who_granted_the_caller_by_their_shared_profile(app, people, carechain,
                                                                                       doctor, chart):
    unnamed, revoked = Account.create(), Account.create()
    for patient in (unnamed, revoked):
        carechain.fund(people.admin, patient.address, 1)
        carechain.register_patient(patient)
        carechain.grant(patient, people.doctor.address, [Category.VITALS], False, days_from_now(carechain, 3))
    carechain.write_profile(revoked, profile_of(revoked.address, "Grace", "Brewster", "1906-12-09", "female"))
    carechain.revoke(revoked, people.doctor.address, rotate=False)

    listed = found(Patient.where(struct={}), doctor.server)
    families = [patient.name[0].family.casefold() if patient.name else "" for patient in listed]
    assert families == sorted(families)  # by family name, those who shared none first
    everyone = {patient.id: patient for patient in listed}
    assert everyone[chart.address].name[0].family == "Hopper"
    assert everyone[unnamed.address].name is None and everyone[unnamed.address].birthDate is None  # shared nothing
    assert revoked.address not in everyone  # a revoked grant shows nobody
    graces = found(Patient.where(struct={"name": "grace hopper"}), doctor.server)  # other tests' patients too
    assert chart.address in {patient.id for patient in graces}
    assert all(patient.name[0].given == ["Grace"] and patient.name[0].family == "Hopper" for patient in graces)
    assert len(found(Patient.where(struct={"_count": "1"}), doctor.server)) == len(everyone)  # paged by next links
    outsider = ehr(token_of(app, people.outsider))
    assert chart.address not in {patient.id for patient in found(Patient.where(struct={}), outsider.server)}


def test_a_patients_token_reads_that_patients_own_records_and_nobody_elses(app, people, carechain, chart):
    own = ehr(token_of(app, chart, "patient/*.read")).server
    reads = sum(event.kind == "read" for event in carechain.audit_trail(chart.address))
    pulses = found(Observation.where(struct={"patient": chart.address, "code": "http://loinc.org|8867-4"}), own)
    assert [observation.valueQuantity.value for observation in pulses] == [63, 62, 61]
    assert found(MedicationRequest.where(struct={"patient": chart.address}), own)  # all of them, not a grant's
    assert Patient.read(chart.address, own).name[0].family == "Hopper"
    assert [patient.id for patient in found(Patient.where(struct={}), own)] == [chart.address]
    assert sum(event.kind == "read" for event in carechain.audit_trail(chart.address)) == reads  # not logged

    other = Account.create()
    carechain.fund(people.admin, other.address, 1)
    carechain.register_patient(other)
    with pytest.raises(FHIRPermissionDeniedException):
        Patient.read(other.address, own)
    with pytest.raises(FHIRPermissionDeniedException):
        found(Observation.where(struct={"patient": other.address}), own)
