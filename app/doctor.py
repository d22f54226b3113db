"""The doctor's pages (a hospital's account sees the same): patients who granted access, their
records in scope, reading a record (logged on chain for the patient), writing signed records.
Every page asks the chain again, so access ends on the page the moment a grant expires or is
revoked."""

import time

from flask import Blueprint, abort, g, redirect, render_template, request, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.errors import AccessDenied, InvalidInput
from app.carechain.model import checksum
from app.carechain.records import Category
from app.forms import RECORD_FORMS, RecordFilterForm
from app.record_pages import add_record, digest_from, record_forms, send_attachment, show_record

bp = Blueprint("doctor", __name__, url_prefix="/doctor")

RECORD_KINDS = ["vitals", "diagnosis", "prescription", "document", "fhir"]
VISIT = 30 * 60  # seconds: browsing one patient's list for longer logs the listing again


@bp.before_request
@roles_required("doctor", "hospital")
def require_provider():
    """Only registered doctors and hospitals; what each may see is the chain's decision."""


@bp.get("/")
def patients():
    """Everyone who granted this doctor (or its hospital) access, by name and age where the patient
    shared a profile; `?q=` keeps those whose name (or address) holds every word asked."""
    carechain = backend.get_carechain()
    now = carechain.now()
    found = carechain.patients_of(g.user.account.address)
    profiles = carechain.profiles_seen_by(g.user.account, [access.patient for access in found])
    query = " ".join(request.args.get("q", "").split())[:100]
    if query:
        found = [access for access in found if _matches(query, access.patient, profiles.get(access.patient))]
    found.sort(key=lambda access: (not access.grant.active(now), -access.grant.expires_at))
    return render_template("doctor/patients.html", patients=found, now=now, profiles=profiles, query=query)


def _matches(query: str, patient: str, profile) -> bool:
    """Whether every word of `query` is in the patient's name, or the query is in its address."""
    name = profile.name.casefold() if profile else ""
    return all(word in name for word in query.casefold().split()) or query.casefold() in patient.casefold()


@bp.get("/patients/<patient>")
def patient(patient):
    """The patient's records in scope, with titles and clinical dates, filtered and sorted as
    asked. The listing is logged on chain once per visit (VISIT), where the patient sees it."""
    patient = patient_address(patient)
    last_logged = g.user.listed.get(patient)
    new_visit = last_logged is None or time.monotonic() - last_logged >= VISIT
    carechain = backend.get_carechain()
    listing = carechain.list_records(g.user.account, patient, log=new_visit)
    if new_visit:
        g.user.listed[patient] = time.monotonic()
    filters = RecordFilterForm(formdata=request.args)
    rows = filters.query().select(listing.records)
    return render_template("doctor/patient.html", patient=patient, rows=rows, total=len(listing.records),
                           filters=filters, readable=sorted(listing.readable), writable=sorted(listing.writable),
                           profile=carechain.profile_seen_by(g.user.account, patient))


@bp.get("/patients/<patient>/records/<digest>")
def record(patient, digest):
    patient = patient_address(patient)
    opened = backend.get_carechain().read_record(g.user.account, patient, digest_from(digest))
    file_url = url_for("doctor.record_file", patient=patient, digest=digest) if opened.record.attachment else None
    return show_record(opened, file_url, back=url_for("doctor.patient", patient=patient), patient=patient,
                       logged=True, profile=backend.get_carechain().profile_seen_by(g.user.account, patient))


@bp.get("/patients/<patient>/records/<digest>/file")
def record_file(patient, digest):
    opened = backend.get_carechain().read_record(g.user.account, patient_address(patient), digest_from(digest))
    return send_attachment(opened)


@bp.get("/patients/<patient>/records/new")
def new_record(patient):
    patient = patient_address(patient)
    writable = write_scope(patient)
    return _write_page(patient, writable, record_forms(RECORD_KINDS, writable=writable))


@bp.post("/patients/<patient>/records/new/<kind>")
def add(patient, kind):
    patient = patient_address(patient)
    if kind not in RECORD_KINDS:
        abort(404)
    writable = write_scope(patient, RECORD_FORMS[kind].filed_under)
    if add_record(kind, RECORD_KINDS, patient, writable) is None:
        return _write_page(patient, writable, record_forms(RECORD_KINDS, g.submitted, writable), active=kind), 400
    return redirect(url_for("doctor.patient", patient=patient))


def write_scope(patient: str, category: Category | None = None) -> set[Category]:
    """The categories this doctor may add to now. A doctor who may add none (revoked, expired,
    read-only, suspended), or not `category`, gets the reason on a 403 page instead of a form."""
    carechain = backend.get_carechain()
    me = g.user.account.address
    readable, writable = carechain.access_scope(patient, me)
    if writable and (category is None or category in writable):
        return writable
    asked = category if category is not None else min(readable, default=Category.VITALS)
    raise AccessDenied(carechain.access_problem(patient, me, asked, write=True)
                       or "this patient's grant does not let you add records")


def _write_page(patient: str, writable: set[Category], forms: dict, active: str | None = None):
    return render_template("records/new.html", forms=forms, action="doctor.add", action_args={"patient": patient},
                           patient=patient, writable=sorted(writable), active=active,
                           back=url_for("doctor.patient", patient=patient),
                           profile=backend.get_carechain().profile_seen_by(g.user.account, patient))


def patient_address(text: str) -> str:
    try:
        return checksum(text, "patient address")
    except InvalidInput:
        abort(404)
