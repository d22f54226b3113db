"""Blueprint: the patient shares a record with parts removed (a redacted copy, see
carechain/sharing.py): chooses the parts to withhold and the providers who receive it."""

from flask import Blueprint, flash, g, redirect, render_template, url_for

from app import backend
from app.accounts import display_name, roles_required
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.forms import RedactedCopyForm, choices
from app.record_pages import digest_from
from app.views import sentence

bp = Blueprint("sharing", __name__, url_prefix="/patient/records")


@bp.before_request
@roles_required("patient")
def require_patient():
    """Only a record's patient cuts a copy of it."""


@bp.route("/<digest>/share", methods=["GET", "POST"])
def share(digest):
    """The record's elements as checkboxes to withhold, and its category's readers as recipients
    (all ticked at first); a copy stored on POST. Bad input stores nothing and says why."""
    carechain = backend.get_carechain()
    patient = g.user.account
    opened = carechain.redactable_record(patient, digest_from(digest))
    readers = sorted(carechain.share_recipients(patient.address), key=display_name)
    form = RedactedCopyForm()
    form.withheld.choices = choices((d.path, d.label) for d in opened.disclosable.disclosures)
    form.recipients.choices = choices((reader, display_name(reader)) for reader in readers)
    if not form.is_submitted():
        form.recipients.data = readers
    elif form.validate():
        try:
            entry = carechain.share_redacted(patient, opened.entry.digest, set(form.withheld.data),
                                             form.recipients.data)
        except (InvalidInput, AccessDenied, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            count = len(form.withheld.data)
            flash(f"Redacted copy stored as record #{entry.origin} with {count} part{'s' * (count != 1)} withheld, "
                  f"shared with {', '.join(display_name(r) for r in form.recipients.data)}. {backend.mined()}",
                  "success")
            return redirect(url_for("patient.dashboard"))
    status = 400 if form.is_submitted() else 200
    return render_template("records/share.html", opened=opened, record=opened.record, form=form, readers=readers,
                           back=url_for("patient.record", digest=digest)), status
