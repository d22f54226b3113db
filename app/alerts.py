"""Early-warning alerts, newest first: a patient's own, and for a doctor or hospital those of the
patients whose live grant covers vitals; a doctor acknowledges them (on chain). Opening the list
is a read of each alert record, logged on chain like any read."""

from flask import Blueprint, flash, g, redirect, render_template, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.errors import InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.forms import ActionForm
from app.record_pages import digest_from

bp = Blueprint("alerts", __name__, url_prefix="/alerts")


@bp.before_request
@roles_required("patient", "doctor", "hospital")
def require_participant():
    """Patients, doctors and hospitals; the list shows each only what they may read."""


@bp.get("/")
def overview():
    carechain = backend.get_carechain()
    alerts = carechain.alerts(g.user.account)
    profiles = carechain.profiles_seen_by(g.user.account, {alert.patient for alert in alerts}) \
        if g.role != "patient" else {}
    return render_template("alerts/overview.html", alerts=alerts, action=ActionForm(),
                           can_acknowledge=g.role == "doctor", profiles=profiles)


@bp.post("/<patient>/<digest>/acknowledge")
@roles_required("doctor")
def acknowledge(patient, digest):
    if not ActionForm().validate_on_submit():
        flash("That change was not accepted; reload the page and try again.", "error")
        return redirect(url_for("alerts.overview"))
    try:
        backend.get_carechain().acknowledge_alert(g.user.account, checksum(patient, "patient address"),
                                                  digest_from(digest))
    except (InvalidInput, TransactionFailed) as error:
        flash(f"Not acknowledged: {error}.", "error")
    else:
        flash(f"Alert acknowledged; the patient sees who acknowledged it and when. {backend.mined()}", "success")
    return redirect(url_for("alerts.overview"))
