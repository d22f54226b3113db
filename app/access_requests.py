"""Requests for access: a doctor or hospital asks a patient (which records, which rights, for how
long, why) and sees the outcome; the patient sees open requests by the provider's name, with the
reason only the two of them can read, and approves (adjusting the scope if it likes: granting with
the keys at once) or declines. The chain decides every step; the lists come from its events."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import backend
from app.accounts import display_name, roles_required
from app.carechain.errors import AccessDenied, CareChainError, IntegrityError, InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.carechain.records import Category
from app.forms import AccessRequestForm, ActionForm, ScopeForm
from app.views import sentence, when

bp = Blueprint("access_requests", __name__)

DAY = 86400


@bp.get("/doctor/requests")
@roles_required("doctor", "hospital")
def asked():
    form = AccessRequestForm(formdata=None, patient=request.args.get("patient", ""))
    return _provider_page(form)


@bp.post("/doctor/requests")
@roles_required("doctor", "hospital")
def ask():
    form = AccessRequestForm()
    if form.validate_on_submit():
        try:
            sent = backend.get_carechain().request_access(
                g.user.account, form.patient.data.strip(), [Category(int(c)) for c in form.categories.data],
                form.access.data == "write", form.days.data * DAY, form.reason.data or "")
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            flash(f"Your request was sent to {sent.patient}. The patient sees it on their Requests page; the "
                  f"answer will show here. {backend.mined()}", "success")
            return redirect(url_for("access_requests.asked"))
    return _provider_page(form, 400)


@bp.post("/doctor/requests/<patient>/withdraw")
@roles_required("doctor", "hospital")
def withdraw(patient):
    _close(lambda: backend.get_carechain().withdraw_request(g.user.account, patient), "Your request is withdrawn.",
           "Not withdrawn")
    return redirect(url_for("access_requests.asked"))


@bp.get("/patient/requests")
@roles_required("patient")
def received():
    return _patient_page({})


@bp.post("/patient/requests/<provider>/approve")
@roles_required("patient")
def approve(provider):
    form = ScopeForm(prefix=_prefix(provider))
    if form.validate_on_submit():
        carechain = backend.get_carechain()
        try:
            view = carechain.approve_request(g.user.account, provider, [int(c) for c in form.categories.data],
                                             form.access.data == "write", form.expires_at(carechain.now()))
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not approved: {error}.", "error")  # the request may be gone from the page: said above it
        else:
            rights = "read and add" if view.can_write else "read"
            labels = ", ".join(c.label for c in view.categories).lower()
            flash(f"Approved: {display_name(view.grantee)} may now {rights} your {labels} records until "
                  f"{when(view.expires_at)}. {backend.mined()}", "success")
            return redirect(url_for("access_requests.received"))
    return _patient_page({provider: form}, 400)


@bp.post("/patient/requests/<provider>/decline")
@roles_required("patient")
def decline(provider):
    _close(lambda: backend.get_carechain().decline_request(g.user.account, provider),
           f"You declined {display_name(provider)}'s request.", "Not declined")
    return redirect(url_for("access_requests.received"))


def _close(send, done: str, refused: str) -> None:
    """Declines or withdraws a request (a button: only a CSRF token is posted); flashes the outcome."""
    if not ActionForm().validate_on_submit():
        return
    try:
        send()
    except (InvalidInput, TransactionFailed) as error:
        flash(f"{refused}: {error}.", "error")
    else:
        flash(f"{done} {backend.mined()}", "success")


@bp.app_context_processor
def navigation():
    return {"requests_waiting": requests_waiting}


def requests_waiting() -> int | None:
    """Open requests waiting for the logged-in patient's answer (the menu's count); None for other
    roles, or while the chain cannot be asked (an error page must still render)."""
    if g.get("role") != "patient":
        return None
    try:
        return sum(r.outcome == "open" for r in backend.get_carechain().requests_to(g.user.account.address))
    except CareChainError:
        return None


def _provider_page(form: AccessRequestForm, status: int = 200):
    carechain = backend.get_carechain()
    sent = carechain.requests_by(g.user.account.address)
    profiles = carechain.profiles_seen_by(g.user.account, [r.patient for r in sent])
    rows = [(r, _reason(r)) for r in sent]
    return render_template("requests/asked.html", form=form, rows=rows, profiles=profiles, action_form=ActionForm(),
                           now=carechain.now()), status


def _patient_page(failed: dict, status: int = 200):
    """Open requests, each with an approval form set to what was asked (or, after a refusal, as it
    was sent with its errors), and the answered, withdrawn and lapsed ones below."""
    carechain = backend.get_carechain()
    found = carechain.requests_to(g.user.account.address)
    open_rows = [(r, _reason(r), failed.get(r.provider) or _approval_form(r)) for r in found if r.outcome == "open"]
    providers = {p.address: p for p in carechain.participants([r.provider for r, *_ in open_rows])}
    return render_template("requests/received.html", open_rows=open_rows, providers=providers,
                           action_form=ActionForm(),
                           earlier=[r for r in found if r.outcome != "open"], now=carechain.now()), status


def _approval_form(asked) -> ScopeForm:
    form = ScopeForm(prefix=_prefix(asked.provider), formdata=None)
    form.categories.data = [str(int(c)) for c in asked.categories]
    form.access.data = "write" if asked.can_write else "read"
    form.days.data = max(1, -(-asked.duration // DAY))
    return form


def _prefix(provider: str) -> str:
    try:
        return checksum(provider, "provider address")
    except InvalidInput:
        return "unknown"


def _reason(asked) -> tuple[str, str | None]:
    """(the reason, a problem opening it); a reason that does not open is said, never fatal."""
    try:
        return backend.get_carechain().request_reason(g.user.account, asked), None
    except (IntegrityError, AccessDenied) as error:
        return "", sentence(error)
