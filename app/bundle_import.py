"""Importing a FHIR Bundle exported by another EHR (see carechain/bundle_import.py): the patient
into their own records, a doctor into the categories the patient's grant lets it add to. The
result page lists what was imported and what was skipped, with why."""

from flask import Blueprint, g, render_template, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.bundle_import import MAX_BUNDLE_SIZE
from app.carechain.errors import InvalidInput, TransactionFailed
from app.doctor import patient_address, write_scope
from app.forms import BundleImportForm
from app.views import sentence

bp = Blueprint("bundle_import", __name__)


@bp.route("/patient/records/import", methods=["GET", "POST"])
@roles_required("patient")
def patient_import():
    patient = g.user.account.address
    return _import(patient, url_for("patient.dashboard"))


@bp.route("/doctor/patients/<patient>/records/import", methods=["GET", "POST"])
@roles_required("doctor", "hospital")
def doctor_import(patient):
    patient = patient_address(patient)
    writable = write_scope(patient)  # a doctor who may add nothing gets the reason on a 403 page
    back = url_for("doctor.patient", patient=patient)
    return _import(patient, back, writable=sorted(writable))


def _import(patient: str, back: str, writable=None):
    """The upload form; on a valid upload, the import and its report (a Bundle refused as a whole
    is shown on the form, and nothing is stored)."""
    form = BundleImportForm()
    page = dict(form=form, patient=patient, back=back, writable=writable)
    if not form.validate_on_submit():
        return render_template("records/import.html", **page), 400 if form.is_submitted() else 200
    data = form.bundle.data.read(MAX_BUNDLE_SIZE + 1)
    try:
        if not data:
            raise InvalidInput("the file is empty")
        report = backend.get_carechain().import_bundle(g.user.account, patient, data)
    except (InvalidInput, TransactionFailed) as error:
        form.form_errors.append(sentence(error))
        return render_template("records/import.html", **page), 400
    return render_template("records/import.html", report=report, mined=backend.mined(), **page)
