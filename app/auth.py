"""Accounts: sign up (a new key pair in an encrypted keystore), back it up, import a key or a
keystore, log in and out. Patients register on chain themselves once their key is backed up;
doctors and hospitals ask the administrator, who registers them."""

import io
import unicodedata
from urllib.parse import urlsplit

from flask import Blueprint, flash, g, redirect, render_template, request, send_file, url_for

from app import backend, throttle
from app.accounts import log_in, log_out, login_required, role
from app.carechain import crypto, logins
from app.carechain.directory import provider_entry
from app.carechain.errors import InvalidInput, UnknownAccount, WrongPassword
from app.carechain.model import checksum
from app.views import sentence
from app.forms import ActionForm, BackupForm, ImportKeyForm, ImportKeystoreForm, LoginForm, SignupForm

bp = Blueprint("auth", __name__, url_prefix="/auth")
NOBODY = "0x" + "00" * 20  # the account of an unknown login name: no keystore is ever stored for it

HOMES = {"admin": "admin.overview", "patient": "patient.dashboard", "doctor": "doctor.patients",
         "hospital": "hospital.overview", "researcher": "research.queries", "none": "auth.welcome"}


@bp.get("/")
def home():
    if g.user is None:
        return render_template("auth/landing.html")
    return redirect(url_for(HOMES[role()]))


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    form = SignupForm()
    if form.validate_on_submit() and _login_name_free(form.login_name):
        throttle.check_signup()
        try:
            account = backend.keystore().create(form.password.data)
        except InvalidInput as error:
            form.password.errors.append(str(error))
        else:
            throttle.signed_up()
            if form.login_name.data:
                try:
                    backend.login_names().claim(form.login_name.data, account.address)
                except InvalidInput as error:  # taken by a sign-up at the same moment
                    flash(f"Your account was created without a login name: {error}. "
                          "Log in with its address, shown below.", "error")
            if form.kind.data != "patient":
                backend.directory().add(provider_entry(account.address, form.name.data, form.kind.data,
                                                       crypto.public_key_of(account.key)))
            log_in(account)
            return redirect(url_for("auth.welcome"))
    return render_template("auth/signup.html", form=form), 400 if form.errors else 200


def _login_name_free(field) -> bool:
    """Checks a login name before anything is created; an empty one is fine (it is optional)."""
    if not field.data:
        return True
    try:
        if backend.login_names().address_of(logins.check(field.data)) is None:
            return True
        field.errors.append("This login name is taken: choose another.")
    except InvalidInput as error:
        field.errors.append(sentence(error))
    return False


@bp.route("/welcome", methods=["GET", "POST"])
@login_required
def welcome():
    """A new account's first page: its address, the keystore download, and registration."""
    if role() != "none":
        if request.method == "POST":  # sent again, or from another tab, after registering
            flash("You are already registered.", "info")
        return redirect(url_for("auth.home"))
    account = g.user.account
    request_ = backend.directory().get(account.address)
    form = BackupForm()
    if form.validate_on_submit():
        if request_ is None:
            return _register_patient(account)
        if request_.declined:
            flash("The administrator declined your request to be registered. Ask them about it: they can still "
                  "register you.", "error")
        else:
            flash("Thank you. The administrator will register you; this page changes once they have.", "success")
        return redirect(url_for("auth.welcome"))
    return render_template("auth/welcome.html", form=form, provider=request_,
                           login_name=backend.login_names().name_of(account.address),
                           public_key=crypto.public_key_of(account.key).hex()), 400 if form.errors else 200


def _register_patient(account):
    """Funds and registers the account once, however many times the form is sent at once: a
    concurrent post waits for the first, then finds the account registered."""
    with backend.account_lock(account.address):
        carechain = backend.get_carechain()
        if carechain.participant(account.address) is None:
            backend.fund(account.address)
            carechain.register_patient(account)
            flash(f"You are registered as a patient. {backend.mined()}", "success")
        else:
            flash("You are already registered as a patient.", "info")
    return redirect(url_for("patient.dashboard"))


@bp.get("/keystore")
@login_required
def download_keystore():
    """The user's keystore file: the key encrypted under their password, safe to keep anywhere."""
    address = g.user.account.address
    data = (backend.keystore().directory / f"{address}.json").read_bytes()
    return send_file(io.BytesIO(data), mimetype="application/json", as_attachment=True,
                     download_name=f"carechain-keystore-{address}.json")


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        try:
            address, attempts = _login_address(form.address.data)
            throttle.check_login(attempts)
            account = backend.keystore().unlock(address, form.password.data)
        except InvalidInput as error:
            form.address.errors.append(str(error))
        except (WrongPassword, UnknownAccount):
            # Counted alike, as they take alike: neither tells whether the address has an account here.
            throttle.login_failed(attempts)
            form.password.errors.append("No account with this name or address and this password on this server.")
        else:
            throttle.login_succeeded(attempts)
            log_in(account)
            return redirect(_local(request.args.get("next")) or url_for("auth.home"))
    return render_template("auth/login.html", form=form), 400 if form.errors else 200


def _login_address(given: str) -> tuple[str, str]:
    """(the account a login names, what its failed attempts count against): an address, or a login
    name. An unknown name stands for an account nobody has, so it costs a scrypt run and counts like
    a wrong password, against the name itself."""
    given = given.strip()
    if given.lower().startswith("0x"):
        address = checksum(given)
        return address, address
    address = backend.login_names().address_of(given)
    return (address, address) if address else (NOBODY, "name:" + logins.normalized(given))


@bp.post("/logout")
def logout():
    if ActionForm().validate_on_submit():
        log_out()
        flash("Logged out. Your key is no longer held by the server.", "success")
    return redirect(url_for("auth.home"))


@bp.get("/import")
def import_account():
    return _import_page(ImportKeyForm(prefix="key"), ImportKeystoreForm(prefix="file"))


@bp.post("/import/key")
def import_key():
    form = ImportKeyForm(prefix="key")
    if form.validate_on_submit():
        throttle.check_signup()
        try:
            account = backend.keystore().import_key(form.private_key.data, form.password.data)
        except InvalidInput as error:
            form.private_key.errors.append(str(error))
        else:
            return _imported(account)
    return _import_page(form, ImportKeystoreForm(prefix="file"))


@bp.post("/import/keystore")
def import_keystore():
    form = ImportKeystoreForm(prefix="file")
    if form.validate_on_submit():
        throttle.check_signup()
        try:
            account = backend.keystore().import_keystore(form.keystore.data.read(1 << 20), form.password.data)
        except InvalidInput as error:
            form.keystore.errors.append(str(error))
        except WrongPassword as error:
            form.password.errors.append(str(error))
        else:
            return _imported(account)
    return _import_page(ImportKeyForm(prefix="key"), form)


def _imported(account):
    throttle.signed_up()  # an imported key is a new account here too, which the faucet may fund
    log_in(account)
    flash(f"Account {account.address} imported.", "success")
    return redirect(url_for("auth.home"))


def _import_page(key_form, keystore_form):
    status = 400 if key_form.errors or keystore_form.errors else 200
    return render_template("auth/import.html", key_form=key_form, keystore_form=keystore_form), status


def _local(target: str | None) -> str | None:
    """Only same-site paths are followed after login. Browsers drop tabs and newlines from a
    location and read a backslash as a slash ("/%09/evil.example" becomes "//evil.example"), so
    any of those, or any other control or space character, refuses the target; so do two or more
    leading slashes, which browsers read as another host ("///evil.example" too)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(char.isspace() or char == "\\" or unicodedata.category(char).startswith("C") for char in target):
        return None
    parts = urlsplit(target)
    return None if parts.scheme or parts.netloc else target
