"""The doctor's pages (a hospital's account sees the same): patients who granted access, their
records in scope, reading a record (logged on chain for the patient), writing signed records.
Every page asks the chain again, so access ends on the page the moment a grant expires or is
revoked."""

from flask import Blueprint, abort, g, redirect, render_template, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.errors import AccessDenied, InvalidInput
from app.carechain.model import checksum
from app.carechain.records import Category
from app.forms import RECORD_FORMS
from app.record_pages import add_record, digest_from, record_forms, send_attachment, show_record

bp = Blueprint("doctor", __name__, url_prefix="/doctor")

RECORD_KINDS = ["vitals", "diagnosis", "prescription", "document", "fhir"]


@bp.before_request
@roles_required("doctor", "hospital")
def require_provider():
    """Only registered doctors and hospitals; what each may see is the chain's decision."""


@bp.get("/")
def patients():
    carechain = backend.get_carechain()
    now = carechain.now()
    found = carechain.patients_of(g.user.account.address)
    found.sort(key=lambda access: (not access.grant.active(now), -access.grant.expires_at))
    return render_template("doctor/patients.html", patients=found, now=now)


@bp.get("/patients/<patient>")
def patient(patient):
    patient = _patient(patient)
    carechain = backend.get_carechain()
    me = g.user.account.address
    readable, writable = carechain.access_scope(patient, me)
    if not readable:
        raise AccessDenied(carechain.access_problem(patient, me, next(iter(Category)))
                           or "this patient has not granted you access, or has revoked it")
    entries = [entry for entry in carechain.all_records(patient) if entry.category in readable]
    entries.sort(key=lambda entry: entry.origin, reverse=True)  # newest record first; a re-encryption moves none
    readable, writable = sorted(readable), sorted(writable)
    return render_template("doctor/patient.html", patient=patient, entries=entries,
                           readable=readable, writable=writable)


@bp.get("/patients/<patient>/records/<digest>")
def record(patient, digest):
    patient = _patient(patient)
    opened = backend.get_carechain().read_record(g.user.account, patient, digest_from(digest))
    file_url = url_for("doctor.record_file", patient=patient, digest=digest) if opened.record.attachment else None
    return show_record(opened, file_url, back=url_for("doctor.patient", patient=patient), patient=patient,
                       logged=True)


@bp.get("/patients/<patient>/records/<digest>/file")
def record_file(patient, digest):
    return send_attachment(backend.get_carechain().read_record(g.user.account, _patient(patient), digest_from(digest)))


@bp.get("/patients/<patient>/records/new")
def new_record(patient):
    patient = _patient(patient)
    writable = _write_scope(patient)
    return _write_page(patient, writable, record_forms(RECORD_KINDS, writable=writable))


@bp.post("/patients/<patient>/records/new/<kind>")
def add(patient, kind):
    patient = _patient(patient)
    if kind not in RECORD_KINDS:
        abort(404)
    writable = _write_scope(patient, RECORD_FORMS[kind].filed_under)
    if add_record(kind, RECORD_KINDS, patient, writable) is None:
        return _write_page(patient, writable, record_forms(RECORD_KINDS, g.submitted, writable), active=kind), 400
    return redirect(url_for("doctor.patient", patient=patient))


def _write_scope(patient: str, category: Category | None = None) -> set[Category]:
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
                           back=url_for("doctor.patient", patient=patient))


def _patient(text: str) -> str:
    try:
        return checksum(text, "patient address")
    except InvalidInput:
        abort(404)
