"""The consortium administrator's pages: registered providers, sign-up requests, registering a
hospital or doctor or declining their request, suspending and reinstating. Only the deploying
account gets here, and the contract checks the same on every transaction."""

from flask import Blueprint, flash, g, redirect, render_template, request, url_for

from app import backend
from app.accounts import display_name, roles_required
from app.carechain.directory import enrol, provider_entry
from app.carechain.errors import InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.endorsements import policy_section
from app.forms import ActionForm, ProviderForm, choices
from app.views import sentence

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50  # providers a page lists, in registration order


@bp.before_request
@roles_required("admin")
def require_admin():
    """The deployer's account only."""


@bp.get("/")
def overview():
    form = ProviderForm(formdata=None)
    requested = backend.directory().get(request.args.get("request", ""))
    if requested:
        form.role.data, form.name.data = requested.role, requested.name
        form.address.data, form.public_key.data = requested.address, requested.public_key
    return _overview(form)


@bp.post("/providers")
def register():
    carechain = backend.get_carechain()
    form = ProviderForm()
    form.hospital.choices = _hospital_choices(carechain)
    if form.validate_on_submit():
        try:
            _register(form)
        except (InvalidInput, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            return redirect(url_for("admin.overview"))
    return _overview(form, 400)


@bp.post("/providers/<address>/<action>")
def change(address, action):
    if action not in ("suspend", "reinstate") or not ActionForm().validate_on_submit():
        flash("That change was not accepted; reload the page and try again.", "error")
        return redirect(url_for("admin.overview"))
    carechain = backend.get_carechain()
    try:
        provider = checksum(address, "provider address")
        if action == "suspend":
            carechain.suspend_provider(g.user.account, provider)
        else:
            carechain.reinstate_provider(g.user.account, provider)
    except (InvalidInput, TransactionFailed) as error:
        flash(f"Not changed: {error}.", "error")
    else:
        state = "suspended: it loses access to every patient" if action == "suspend" else "reinstated"
        flash(f"{display_name(provider)} is {state}. {backend.mined()}", "success")
    return redirect(url_for("admin.overview"))


@bp.post("/requests/<address>/decline")
def decline(address):
    """Takes a sign-up request off the list. The directory keeps it, marked declined, so its
    applicant can be told; nothing is sent to the chain."""
    if not ActionForm().validate_on_submit():
        flash("That change was not accepted; reload the page and try again.", "error")
        return redirect(url_for("admin.overview"))
    try:
        applicant = checksum(address, "applicant address")
        if backend.get_carechain().role_of(applicant) != "none":
            raise InvalidInput(f"{display_name(applicant)} is registered on chain: suspend them instead")
        declined = backend.directory().decline(applicant)
    except InvalidInput as error:
        flash(f"Not declined: {error}.", "error")
    else:
        flash(f"The request of {declined.name} ({declined.role}) is declined.", "success")
    return redirect(url_for("admin.overview"))


def _register(form: ProviderForm) -> None:
    """Registers on chain, then files the name (checked first, so a bad name sends nothing)."""
    address = checksum(form.address.data.strip(), "provider address")
    requested = backend.directory().get(address)
    key_text = (form.public_key.data or "").strip().removeprefix("0x") or (requested.public_key if requested else "")
    if not key_text:
        raise InvalidInput("give the provider's public key (their sign-up request carries it)")
    try:
        public_key = bytes.fromhex(key_text)
    except ValueError:
        raise InvalidInput("the public key must be hexadecimal") from None
    entry = provider_entry(address, form.name.data, form.role.data, public_key)
    enrol(backend.get_carechain(), backend.directory(), g.user.account, entry, form.hospital.data)
    backend.fund(address)
    flash(f"{entry.name} is registered as a {entry.role}. {backend.mined()}", "success")


def _hospital_choices(carechain) -> list:
    return choices([("", "—")] + [(p.address, display_name(p.address)) for p in carechain.providers(hospitals_only=True)
                                  if not p.suspended])


def _overview(form: ProviderForm, status: int = 200):
    carechain = backend.get_carechain()
    pages = max(1, -(-carechain.provider_count() // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    providers = carechain.providers(PAGE_SIZE, (page - 1) * PAGE_SIZE)
    if not form.hospital.choices:
        form.hospital.choices = _hospital_choices(carechain)
    requests = [entry for entry in backend.directory().requests() if carechain.role_of(entry.address) == "none"]
    return render_template("admin/overview.html", form=form, providers=providers, requests=requests,
                           action=ActionForm(), page=page, pages=pages, **policy_section()), status
