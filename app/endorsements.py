"""Endorsing records and the endorsement policies: a doctor or hospital endorses a record it may
read (the record's page has the button), and the consortium admin sets per category how many
endorsements validate a record (a form on the admin page)."""

from flask import Blueprint, abort, flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField
from wtforms.validators import InputRequired, NumberRange

from app import backend
from app.accounts import roles_required
from app.carechain.endorsements import MAX_REQUIRED, Policy
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.carechain.records import Category
from app.forms import CATEGORY_CHOICES, ActionForm
from app.record_pages import digest_from
from app.record_validation import validation_text

bp = Blueprint("endorsements", __name__, url_prefix="/endorsements")


class PolicyForm(FlaskForm):
    category = SelectField("Category", choices=CATEGORY_CHOICES)
    required = IntegerField("Endorsements required (0: none)", default=0, validators=[
        InputRequired("Give the number of endorsements required (0 for none)."),
        NumberRange(0, MAX_REQUIRED, f"The number of endorsements required is from 0 to {MAX_REQUIRED}.")])
    distinct_hospitals = BooleanField("Each from a different hospital (a doctor counts for its hospital)")


@bp.post("/patients/<patient>/records/<digest>")
@roles_required("doctor", "hospital")
def endorse(patient, digest):
    """Endorses the record on chain and goes back to its page, which shows the outcome."""
    try:
        patient = checksum(patient, "patient address")
    except InvalidInput:
        abort(404)
    record = digest_from(digest)
    if not ActionForm().validate_on_submit():
        flash("That endorsement was not accepted; reload the page and try again.", "error")
    else:
        try:
            validation = backend.get_carechain().endorse(g.user.account, patient, record)
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            flash(f"Not endorsed: {error}.", "error")
        else:
            standing = validation_text(validation)
            flash(f"You endorsed this record.{f' {standing}.' if standing else ''} {backend.mined()}", "success")
    return redirect(url_for("doctor.record", patient=patient, digest=digest))


@bp.post("/policies")
@roles_required("admin")
def set_policy():
    form = PolicyForm()
    back = redirect(url_for("admin.overview", _anchor="endorsement-policies"))
    if not form.validate_on_submit():
        problems = " ".join(problem for problems in form.errors.values() for problem in problems)
        flash(f"Not changed: {problems or 'reload the page and try again.'}", "error")
        return back
    category = Category(int(form.category.data))
    try:
        policy = backend.get_carechain().set_policy(g.user.account, category, form.required.data,
                                                    form.distinct_hospitals.data)
    except (InvalidInput, AccessDenied, TransactionFailed) as error:
        flash(f"Not changed: {error}.", "error")
    else:
        flash(f"{category.label} records {describe(policy)}. {backend.mined()}", "success")
    return back


def policy_section() -> dict:
    """What the admin page's section on endorsement policies shows."""
    return {"policies": backend.get_carechain().policies(), "policy_form": PolicyForm(formdata=None)}


def describe(policy: Policy) -> str:
    if not policy.required:
        return "need no endorsement"
    count = f"{policy.required} endorsement{'s' * (policy.required != 1)}"
    return f"are validated by {count}{' from distinct hospitals' if policy.distinct_hospitals else ''}"
