"""Vital signs over time as charts, each signal against its normal band with the alerts marked:
for the patient, and for a doctor or hospital whose grant covers vitals (the records opened are
logged on chain in one transaction, as any read)."""

from flask import Blueprint, abort, g, render_template, request, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.errors import InvalidInput
from app.carechain.model import checksum

bp = Blueprint("vitals", __name__)
PERIODS = {6: "6 hours", 24: "24 hours", 72: "3 days", 168: "7 days"}


@bp.get("/patient/vitals")
@roles_required("patient")
def patient_charts():
    return _charts(g.user.account.address, url_for("patient.dashboard"), "vitals.patient_charts", {})


@bp.get("/doctor/patients/<patient>/vitals")
@roles_required("doctor", "hospital")
def provider_charts(patient):
    try:
        patient = checksum(patient, "patient address")
    except InvalidInput:
        abort(404)
    return _charts(patient, url_for("doctor.patient", patient=patient), "vitals.provider_charts", {"patient": patient})


def _charts(patient: str, back: str, endpoint: str, arguments: dict):
    hours = request.args.get("hours", 24, type=int)
    hours = hours if hours in PERIODS else 24
    carechain = backend.get_carechain()
    history = carechain.vitals_history(g.user.account, patient, hours)
    own = patient == g.user.account.address
    return render_template("vitals/charts.html", history=history, hours=hours, periods=PERIODS, back=back,
                           endpoint=endpoint, arguments=arguments, own=own,
                           profile=None if own else carechain.profile_seen_by(g.user.account, patient))
