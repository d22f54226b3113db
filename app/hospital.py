"""A hospital account's own page: its doctors (with whether each is suspended) and the patients
who granted the hospital itself access. Opening those patients' records goes through the
doctor's pages, which serve hospitals too; grants to its doctors are theirs to see."""

from flask import Blueprint, g, render_template

from app import backend
from app.accounts import roles_required
from app.forms import ActionForm

bp = Blueprint("hospital", __name__, url_prefix="/hospital")


@bp.before_request
@roles_required("hospital")
def require_hospital():
    """Registered hospitals only."""


@bp.get("/")
def overview():
    carechain = backend.get_carechain()
    hospital = g.user.account.address
    now = carechain.now()
    doctors = carechain.participants(carechain.doctors_of(hospital))  # suspension as the chain has it now
    patients = carechain.patients_of(hospital)  # a hospital's are the grants to it, not to its doctors
    patients.sort(key=lambda access: (not access.grant.active(now), -access.grant.expires_at))
    profiles = carechain.profiles_seen_by(g.user.account, [access.patient for access in patients])
    due = carechain.emergencies_to_release(hospital)  # the custodian releases them; a button as a fallback
    return render_template("hospital/overview.html", doctors=doctors, patients=patients, now=now, profiles=profiles,
                           due=due, action_form=ActionForm())
