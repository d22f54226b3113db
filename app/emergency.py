"""Emergency access (break-glass): the patient's emergency summary (built from the records with one
click, edited, saved, re-sealed), a doctor declaring an emergency and reading the summary once the
custodian hospitals released their shares, a second doctor confirming when the policy asks, a
hospital releasing its share by hand, the admin's policy and report, and the highlighted banner
every patient page shows after a break-glass. The chain decides every step (see break_glass.py)."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from app import backend
from app.accounts import display_name, roles_required
from app.carechain.break_glass import RECENT
from app.carechain.emergency import BLOOD_TYPES, EmergencySummary, summary_of
from app.carechain.errors import AccessDenied, CareChainError, IntegrityError, InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.forms import ActionForm, choices
from app.views import sentence

bp = Blueprint("emergency", __name__)
SECTIONS = ("allergies", "medications", "problems", "implants")


class SummaryForm(FlaskForm):
    """The emergency summary: one line per allergy, medication, problem and implant."""

    allergies = TextAreaField("Allergies and intolerances (one a line)", validators=[Length(max=12_000)])
    medications = TextAreaField("Medications (one a line)", validators=[Length(max=12_000)])
    problems = TextAreaField("Problems and conditions (one a line)", validators=[Length(max=12_000)])
    blood_type = SelectField("Blood type", choices=choices([("", "Unknown")] + [(t, t) for t in BLOOD_TYPES]))
    implants = TextAreaField("Medical devices and implants (one a line)", validators=[Length(max=12_000)])
    contact_name = StringField("Emergency contact: name", validators=[Length(max=200)])
    contact_relationship = StringField("Relationship (e.g. sister)", validators=[Length(max=200)])
    contact_phone = StringField("Phone", validators=[Length(max=40)])

    def fill(self, summary: EmergencySummary) -> None:
        for name in SECTIONS:
            getattr(self, name).data = "\n".join(getattr(summary, name))
        for name in ("blood_type", "contact_name", "contact_relationship", "contact_phone"):
            getattr(self, name).data = getattr(summary, name)

    def summary(self, patient: str) -> EmergencySummary:
        return summary_of(patient, *(getattr(self, name).data or "" for name in
                                     ("allergies", "medications", "problems", "blood_type", "implants",
                                      "contact_name", "contact_relationship", "contact_phone")))


class DeclareForm(FlaskForm):
    patient = StringField("Patient's address", validators=[DataRequired("Give the patient's address (0x…).")])
    reason = TextAreaField("Reason (in the patient's audit trail; only the patient and you can read it)",
                           validators=[DataRequired("Say why: the reason goes to the patient's audit trail."),
                                       Length(max=1000)])


class PolicyForm(FlaskForm):
    confirmation_required = BooleanField("A second doctor must confirm each emergency before the shares are released")


# The patient

@bp.get("/patient/emergency")
@roles_required("patient")
def summary_page():
    form = SummaryForm(formdata=None)
    try:
        saved = backend.get_carechain().own_emergency_summary(g.user.account)
    except IntegrityError as error:
        flash(f"Your saved summary could not be read: {error}. Save it again.", "error")
        saved = None
    if saved:
        form.fill(saved)
    return _patient_page(form, saved)


@bp.post("/patient/emergency/build")
@roles_required("patient")
def build():
    """Fills the form from the records (nothing saved until the patient saves)."""
    form = SummaryForm(formdata=None)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("emergency.summary_page"))
    carechain = backend.get_carechain()
    try:
        form.fill(carechain.build_emergency_summary(g.user.account))
    except (InvalidInput, IntegrityError) as error:
        form.form_errors.append(sentence(error))
    else:
        flash("Built from your records. Check and edit each section, then save.", "success")
    return _patient_page(form, _saved_quietly())


@bp.post("/patient/emergency")
@roles_required("patient")
def save():
    form = SummaryForm()
    if form.validate_on_submit():
        try:
            custody = backend.get_carechain().save_emergency_summary(g.user.account,
                                                                     form.summary(g.user.account.address))
        except (InvalidInput, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            flash(f"Your emergency summary is saved, sealed under a new key held in shares by "
                  f"{len(custody.custodians)} hospitals. {backend.mined()}", "success")
            return redirect(url_for("emergency.summary_page"))
    return _patient_page(form, _saved_quietly(), 400)


@bp.post("/patient/emergency/reseal")
@roles_required("patient")
def reseal():
    """Saves the summary again under a new key: a doctor who opened it by break-glass holds the old one."""
    if ActionForm().validate_on_submit():
        carechain = backend.get_carechain()
        try:
            saved = carechain.own_emergency_summary(g.user.account)
            if saved is None:
                raise InvalidInput("you have no emergency summary to re-seal")
            carechain.save_emergency_summary(g.user.account, saved)
        except (InvalidInput, IntegrityError, TransactionFailed) as error:
            flash(f"Not re-sealed: {error}.", "error")
        else:
            flash(f"Re-sealed under a new key: the old key opens nothing current. {backend.mined()}", "success")
    return redirect(url_for("emergency.summary_page"))


def _saved_quietly() -> EmergencySummary | None:
    try:
        return backend.get_carechain().own_emergency_summary(g.user.account)
    except IntegrityError:
        return None


def _patient_page(form: SummaryForm, saved: EmergencySummary | None, status: int = 200):
    carechain = backend.get_carechain()
    custody = carechain.emergency_custody(g.user.account.address) if saved else None
    events = [(declared, _reason(declared)) for declared in carechain.emergencies_of(g.user.account.address)]
    opened_since_save = custody is not None and any(d.released_by and d.declared_at >= custody.saved_at - 1
                                                    for d, _ in events)
    return render_template("emergency/summary.html", form=form, saved=saved, custody=custody, events=events,
                           opened_since_save=opened_since_save, action_form=ActionForm(),
                           now=carechain.now()), status


# Doctors

@bp.get("/doctor/emergency")
@roles_required("doctor")
def doctor_page():
    return _doctor_page(DeclareForm(formdata=None, patient=request.args.get("patient", "")))


@bp.post("/doctor/emergency")
@roles_required("doctor")
def declare():
    form = DeclareForm()
    if form.validate_on_submit():
        try:
            declared = backend.get_carechain().declare_emergency(g.user.account, form.patient.data.strip(),
                                                                 form.reason.data)
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            waiting = " It waits for a second doctor's confirmation." if declared.awaiting_confirmation else ""
            flash(f"Emergency declared on chain; the patient is notified.{waiting} {backend.mined()}", "success")
            return redirect(url_for("emergency.opened", patient=declared.patient))
    return _doctor_page(form, 400)


@bp.get("/doctor/emergency/<patient>")
@roles_required("doctor")
def opened(patient):
    """The summary, read-only, once the custodians released enough shares in an open window."""
    carechain = backend.get_carechain()
    try:
        patient = checksum(patient, "patient address")
    except InvalidInput as error:
        flash(sentence(error), "error")
        return redirect(url_for("emergency.doctor_page"))
    declared = next((d for d in carechain.emergencies_of(patient) if d.doctor == g.user.account.address), None)
    summary, problem = None, None
    try:
        summary = carechain.open_emergency_summary(g.user.account, patient)
    except (AccessDenied, IntegrityError) as error:
        problem = sentence(error)
    custody = carechain.emergency_custody(patient)
    return render_template("emergency/opened.html", patient=patient, declared=declared, summary=summary,
                           problem=problem, custody=custody, now=carechain.now())


@bp.post("/doctor/emergency/<patient>/<doctor>/confirm")
@roles_required("doctor")
def confirm(patient, doctor):
    if ActionForm().validate_on_submit():
        try:
            backend.get_carechain().confirm_emergency(g.user.account, patient, doctor)
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            flash(f"Not confirmed: {error}.", "error")
        else:
            flash(f"You confirmed {display_name(doctor)}'s emergency: its window is open, and the custodian "
                  f"hospitals release their shares. {backend.mined()}", "success")
    return redirect(url_for("emergency.doctor_page"))


def _doctor_page(form: DeclareForm, status: int = 200):
    carechain = backend.get_carechain()
    now, me = carechain.now(), g.user.account.address
    recent = carechain.all_emergencies(since=now - RECENT)
    mine = [(declared, _reason(declared)) for declared in recent if declared.doctor == me]
    to_confirm = [declared for declared in recent if declared.state(now) == "waiting" and declared.doctor != me]
    return render_template("emergency/doctor.html", form=form, mine=mine, to_confirm=to_confirm,
                           policy=carechain.break_glass_policy(), action_form=ActionForm(), now=now), status


# Hospitals: the manual release (custodian.py releases automatically)

@bp.post("/hospital/emergency/<patient>/<doctor>/release")
@roles_required("hospital")
def release(patient, doctor):
    if ActionForm().validate_on_submit():
        try:
            backend.get_carechain().release_emergency_share(g.user.account, patient, doctor)
        except (InvalidInput, IntegrityError, TransactionFailed) as error:
            flash(f"Not released: {error}.", "error")
        else:
            flash(f"Your share is released to {display_name(doctor)}. {backend.mined()}", "success")
    return redirect(url_for("hospital.overview"))


# The admin

@bp.get("/admin/emergencies")
@roles_required("admin")
def report():
    carechain = backend.get_carechain()
    by_hospital: dict[str, list] = {}
    for declared in carechain.all_emergencies():
        by_hospital.setdefault(declared.hospital, []).append(declared)
    form = PolicyForm(formdata=None, confirmation_required=carechain.break_glass_policy())
    return render_template("emergency/report.html", by_hospital=by_hospital, form=form, now=carechain.now())


@bp.post("/admin/emergencies/policy")
@roles_required("admin")
def policy():
    form = PolicyForm()
    if form.validate_on_submit():
        try:
            backend.get_carechain().set_break_glass_policy(g.user.account, form.confirmation_required.data)
        except TransactionFailed as error:
            flash(f"Not changed: {error}.", "error")
        else:
            rule = ("a second doctor must confirm each emergency" if form.confirmation_required.data
                    else "an emergency opens at once")
            flash(f"Policy set: {rule}. {backend.mined()}", "success")
    return redirect(url_for("emergency.report"))


# Every patient page: the banner

@bp.app_context_processor
def navigation():
    return {"emergency_banners": emergency_banners}


def emergency_banners() -> list:
    """(declaration, reason) of the logged-in patient's break-glass events of the last RECENT
    seconds, newest first; [] for other roles or while the chain cannot be asked."""
    if g.get("role") != "patient":
        return []
    try:
        carechain = backend.get_carechain()
        found = carechain.emergencies_of(g.user.account.address, since=carechain.now() - RECENT)
        return [(declared, _reason(declared)) for declared in found]
    except CareChainError:
        return []


def _reason(declared) -> str:
    """The reason in words for the patient or the declaring doctor (opened once, see notes.py), or why not."""
    try:
        return backend.get_carechain().emergency_reason(g.user.account, declared)
    except (AccessDenied, IntegrityError) as error:
        return f"(the reason could not be read: {error})"