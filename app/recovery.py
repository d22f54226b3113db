"""Key recovery pages: the patient names guardians (registered accounts, printed word shares) and
sees open requests for its key; guardians approve requests; and anyone who lost a patient's key
recovers it from the login page: a request from a fresh account whose key lives only in this
process's memory (like an unlocked key, see accounts.py), the released shares and the typed
words combined, the key stored in a new keystore under a new password, the recovery recorded."""

from eth_account import Account
from flask import Blueprint, current_app, flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from wtforms import HiddenField, IntegerField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange

from app import backend, throttle
from app.accounts import Keyring, display_name, log_in, roles_required, short_address
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.carechain.recovery import MAX_SHARES, RECOVERY_LIFETIME, RecoveryRequest, word_shares_in
from app.forms import ActionForm, MultiCheckboxField, _password, _repeat, choices
from app.views import sentence

bp = Blueprint("recovery", __name__, url_prefix="/recovery")
# A requester's key is kept while the guardians answer: a day without a visit, at most a request's lifetime.
REQUEST_SESSION = 24 * 3600
RECOVERY_KINDS = ("guardians named", "recovery requested", "recovery approved", "recovery cancelled", "key recovered")


@bp.record_once
def _keep_requests(state) -> None:
    state.app.extensions["recoveries"] = Keyring(min(REQUEST_SESSION, RECOVERY_LIFETIME))


# Forms


class GuardiansForm(FlaskForm):
    providers = MultiCheckboxField("Doctors and hospitals", choices=[])
    others = TextAreaField("Other guardians' account addresses (family members with a patient account), one a line",
                           render_kw={"rows": 3, "spellcheck": "false"})
    offline = IntegerField("Printed shares (for guardians without an account, or a safe place)", default=1,
                           validators=[InputRequired("Give a number, 0 for none."), NumberRange(0, MAX_SHARES)])
    threshold = IntegerField("Shares needed to restore your key", default=2,
                             validators=[InputRequired("Give a number from 2."), NumberRange(2, MAX_SHARES)])

    def guardians(self) -> list[str]:
        return list(self.providers.data or []) + (self.others.data or "").split()


class StartForm(FlaskForm):
    patient = StringField("The account's address (printed above your words)",
                          validators=[DataRequired("Give the address of the account to recover."), Length(max=64)])


class CollectForm(FlaskForm):
    words = TextAreaField("Printed shares, typed (any spacing, line breaks or word numbers)",
                          render_kw={"rows": 6, "spellcheck": "false", "autocomplete": "off"})
    password = _password("New password")
    confirm = _repeat()


class RequestForm(FlaskForm):
    """Names a request: a guardian's approval, a patient's cancellation."""

    patient = HiddenField()
    requester = HiddenField(validators=[DataRequired()])


# The patient: guardians and open requests


@bp.get("/guardians")
@roles_required("patient")
def guardians():
    return _guardians_page(GuardiansForm(formdata=None))


@bp.post("/guardians")
@roles_required("patient")
def name_guardians():
    form = GuardiansForm()
    form.providers.choices = _provider_choices()
    if not form.validate_on_submit():
        return _guardians_page(form, 400)
    try:
        words = backend.get_carechain().name_guardians(g.user.account, form.guardians(), form.offline.data,
                                                       form.threshold.data)
    except (InvalidInput, TransactionFailed) as error:
        form.form_errors.append(sentence(error))
        return _guardians_page(form, 400)
    return render_template("recovery/words.html", words=words, threshold=form.threshold.data,
                           guardians=len(form.guardians()), mined=backend.mined())


@bp.post("/guardians/withdraw")
@roles_required("patient")
def withdraw_guardians():
    if ActionForm().validate_on_submit():
        backend.get_carechain().withdraw_guardians(g.user.account)
        flash(f"Your guardians were withdrawn: none can approve a recovery now. Shares already handed out still "
              f"restore your key together. {backend.mined()}", "success")
    return redirect(url_for("recovery.guardians"))


@bp.post("/cancel")
@roles_required("patient")
def cancel():
    form = RequestForm()
    if form.validate_on_submit():
        try:
            backend.get_carechain().cancel_recovery(g.user.account, form.requester.data)
            flash(f"The request was cancelled: your guardians can no longer approve it. {backend.mined()}", "success")
        except (InvalidInput, TransactionFailed) as error:
            flash(sentence(error), "error")
    return redirect(url_for("recovery.guardians"))


def _guardians_page(form: GuardiansForm, status: int = 200):
    carechain = backend.get_carechain()
    if not form.providers.choices:
        form.providers.choices = _provider_choices()
    current = carechain.guardians_of(g.user.account.address, g.user.account)
    return render_template("recovery/guardians.html", form=form, current=current, action_form=ActionForm(),
                           request_form=RequestForm(), open=carechain.open_recoveries(g.user.account.address)), status


def _provider_choices() -> list:
    found = [(provider.address, f"{display_name(provider.address)} ({provider.role})")
             for provider in backend.get_carechain().providers() if not provider.suspended]
    return choices(sorted(found, key=lambda choice: choice[1].lower()))


# Guardians: requests to approve


@bp.get("/requests")
@roles_required("patient", "doctor", "hospital")
def requests():
    pending = backend.get_carechain().pending_recoveries(g.user.account)
    return render_template("recovery/requests.html", pending=pending, form=RequestForm())


@bp.post("/requests/approve")
@roles_required("patient", "doctor", "hospital")
def approve():
    form = RequestForm()
    if form.validate_on_submit():
        try:
            backend.get_carechain().approve_recovery(g.user.account, form.patient.data, form.requester.data)
            flash(f"Your share of {display_name(form.patient.data)}'s key was released to the account that asked. "
                  f"{backend.mined()}", "success")
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            flash(sentence(error), "error")
    return redirect(url_for("recovery.requests"))


# Anyone: recovering an account


@bp.route("/start", methods=["GET", "POST"])
def start():
    form = StartForm()
    if form.validate_on_submit():
        try:
            patient = checksum(form.patient.data.strip(), "account address")
            carechain = backend.get_carechain()
            if carechain.guardians_of(patient) is None:
                raise InvalidInput(f"{patient} has named no guardians: its key cannot be recovered with their help")
            throttle.check_signup()  # the requester's account is new, and funded like one
            requester = Account.create()
            backend.fund(requester.address)
            throttle.signed_up()
            carechain.request_recovery(patient, requester)
        except (InvalidInput, TransactionFailed) as error:
            form.patient.errors.append(sentence(error))
        else:
            session["recovery"] = current_app.extensions["recoveries"].open(requester)
            session["recovery_patient"] = patient
            flash(f"Your request was sent to the guardians of {short_address(patient)}. {backend.mined()}", "success")
            return redirect(url_for("recovery.collect"))
    return render_template("recovery/start.html", form=form), 400 if form.errors else 200


@bp.route("/collect", methods=["GET", "POST"])
def collect():
    request_ = _open_request()
    if request_ is None:
        flash("Start a recovery first (a request waits at most a day without a visit).", "info")
        return redirect(url_for("recovery.start"))
    carechain = backend.get_carechain()
    form = CollectForm()
    if form.validate_on_submit():
        try:
            restored = carechain.recover(request_, word_shares_in(form.words.data))
            carechain.record_recovery(restored, request_.requester.address)
        except (InvalidInput, TransactionFailed) as error:
            form.words.errors.append(sentence(error))
        else:
            backend.keystore().restore(restored, form.password.data)
            current_app.extensions["recoveries"].close(session.get("recovery"))
            log_in(restored)
            flash(f"Your key was recovered and stored under your new password; your guardians' shares restored it. "
                  f"{backend.mined()}", "success")
            return redirect(url_for("auth.home"))
    current = carechain.guardians_of(request_.patient)
    released = carechain.released_shares(request_) if current else {}
    return render_template("recovery/collect.html", form=form, patient=request_.patient, current=current,
                           released=sorted(released)), 400 if form.errors else 200


def _open_request() -> RecoveryRequest | None:
    unlocked = current_app.extensions["recoveries"].get(session.get("recovery"))
    return RecoveryRequest(session["recovery_patient"], unlocked.account) if unlocked else None


def describe(event) -> str:
    """A recovery event of the patient's audit trail in words."""
    details = event.details
    if event.kind == "guardians named":
        if not details["threshold"]:
            return "your guardians were withdrawn: none can approve a recovery of your key"
        return f"you named guardians: any {details['threshold']} of {details['shareCount']} shares restore your key"
    if event.kind == "recovery requested":
        return (f"{short_address(details['requester'])} asked your guardians for your key: if that was not you, "
                "cancel it on the Key recovery page")
    if event.kind == "recovery approved":
        return f"{display_name(event.actor)} released their share of your key to {short_address(details['requester'])}"
    if event.kind == "recovery cancelled":
        return f"the request of {short_address(details['requester'])} for your key was cancelled"
    return "your key was restored from your guardians' shares and signs again"
