"""The patient's profile page (name, birth date, sex, contact, photo), sealed for the patient and
those it granted access; and what provider pages share to show patients by name and age."""

import base64
import time

from flask import Blueprint, flash, g, redirect, render_template, url_for
from markupsafe import Markup

from app import backend
from app.accounts import roles_required
from app.carechain.errors import IntegrityError, InvalidInput, TransactionFailed
from app.carechain.profiles import Profile, profile_of
from app.forms import ActionForm, ProfileForm
from app.views import sentence

bp = Blueprint("profile", __name__, url_prefix="/patient/profile")


@bp.before_request
@roles_required("patient")
def require_patient():
    """Patients only, each for its own profile."""


@bp.get("/")
def edit():
    profile = _current()
    form = ProfileForm(formdata=None)
    form.shown_at.data = str(int(time.time()))
    if profile is not None:
        form.given.data, form.family.data = profile.given, profile.family
        form.birth_date.data, form.gender.data = profile.birth_date, profile.gender
        form.phone.data, form.email.data = profile.phone, profile.email
    return _page(form, profile)


@bp.post("/")
def save():
    carechain = backend.get_carechain()
    current = _current()
    form = ProfileForm()
    if not form.validate_on_submit():
        return _page(form, current), 400
    try:
        photo, photo_type = form.photo_of(current)
        profile = profile_of(g.user.account.address, form.given.data, form.family.data, form.birth_date.data,
                             form.gender.data, form.phone.data, form.email.data, photo, photo_type,
                             form.updated_at())
        providers = len(carechain.write_profile(g.user.account, profile)) - 1
    except (InvalidInput, TransactionFailed) as error:
        form.form_errors.append(sentence(error))
        return _page(form, current), 400
    shared = (f"you and the {providers} doctor or hospital account{'s' * (providers != 1)} with access to your "
              "records" if providers else "you alone: doctors and hospitals receive it when you grant them access")
    flash(f"Profile saved, encrypted for {shared}. {backend.mined()}", "success")
    return redirect(url_for("profile.edit"))


@bp.post("/remove")
def remove():
    if not ActionForm().validate_on_submit():
        flash("That change was not accepted; reload the page and try again.", "error")
    else:
        backend.get_carechain().remove_profile(g.user.account)
        flash(f"Profile removed: doctors and hospitals see your address again. {backend.mined()}", "success")
    return redirect(url_for("profile.edit"))


def _current() -> Profile | None:
    """The patient's profile; None, said on the page, when the chain points at anything else (only a
    transaction sent outside CareChain can do that): saving a new profile mends it."""
    try:
        return backend.get_carechain().own_profile(g.user.account)
    except IntegrityError as error:
        flash(f"Your profile on chain points at data that is not a profile of yours ({error}). Save a new one.",
              "error")
        return None


def _page(form: ProfileForm, profile: Profile | None):
    return render_template("profile/edit.html", form=form, profile=profile, remove=ActionForm())


@bp.app_template_filter("photo_uri")
def photo_uri(profile: Profile) -> Markup:
    """A profile's photo inline (the page's policy allows data: images; no route serves it)."""
    return Markup("data:{};base64,{}").format(profile.photo_type, base64.b64encode(profile.photo).decode())
