"""What the patient's and the doctor's pages share: adding a record from a form, showing an
opened (verified, decrypted) record, and sending its attached file."""

import io
import json
import time

from flask import abort, flash, g, render_template, send_file

from app import backend
from app.carechain.errors import AccessDenied, InvalidInput, TransactionFailed
from app.carechain.model import OpenedRecord
from app.carechain.titles import name_of
from app.forms import RECORD_FORMS
from app.record_validation import record_validation
from app.views import sentence


def digest_from(text: str) -> bytes:
    """A record id from a URL: its 64-hex-digit digest."""
    try:
        digest = bytes.fromhex(text)
    except ValueError:
        abort(404)
    if len(digest) != 32:
        abort(404)
    return digest


def writable_kinds(kinds: list[str], writable=None) -> list[str]:
    """The kinds of record whose category is in `writable` (what a doctor may add now; None: all,
    for the patient). A form whose input decides the category is offered if any is writable."""
    if writable is None:
        return list(kinds)
    return [kind for kind in kinds if writable and RECORD_FORMS[kind].filed_under in (None, *writable)]


def record_forms(kinds: list[str], submitted=None, writable=None) -> dict:
    """Fresh forms of the `kinds` filed under a category in `writable` (see writable_kinds),
    stamped with the second they are shown; `submitted` replaces its kind's form to show its
    input and errors again."""
    shown_at = str(int(time.time()))
    forms = {}
    for kind in writable_kinds(kinds, writable):
        form = RECORD_FORMS[kind](prefix=kind, formdata=None)
        form.shown_at.data = shown_at
        if writable is not None:
            form.offer_only(writable)
        forms[kind] = form
    if submitted is not None:
        forms[submitted[0]] = submitted[1]
    return forms


def add_record(kind: str, kinds: list[str], patient: str, writable=None):
    """Validates and stores the submitted `kind` of record for `patient`, its category one of
    `writable` if given. Returns the new entry, or None after putting the problem on the form
    (nothing is stored then), which keeps what was typed."""
    if kind not in kinds:
        abort(404)
    form = RECORD_FORMS[kind](prefix=kind)
    if writable is not None:
        form.offer_only(writable)
    g.submitted = (kind, form)
    if not form.validate_on_submit():
        return None
    try:
        record = form.record(patient)
        entry = backend.get_carechain().add_record(g.user.account, patient, record)
    except (InvalidInput, AccessDenied, TransactionFailed) as error:
        form.form_errors.append(sentence(error))
        return None
    flash(f"Record #{entry.origin} ({entry.category.label}: {record.title}) stored, encrypted and signed. "
          f"{backend.mined()}", "success")
    return entry


def show_record(opened: OpenedRecord, file_url: str | None, **context):
    record = opened.record
    return render_template(
        "records/show.html", opened=opened, record=record, entry=opened.entry, file_url=file_url,
        details=_details(record.resource), resource_json=json.dumps(record.resource, indent=2),
        **record_validation(opened), **context)


def send_attachment(opened: OpenedRecord):
    record = opened.record
    if not record.attachment:
        abort(404)
    extension = {"application/pdf": "pdf", "image/png": "png", "image/jpeg": "jpg", "text/plain": "txt"}
    name = f"record-{opened.entry.origin}.{extension.get(record.content_type, 'bin')}"
    return send_file(io.BytesIO(record.attachment), mimetype=record.content_type, as_attachment=True,
                     download_name=name)


# The elements of a record worth a line of their own on its page, in the order shown.
DETAIL_ELEMENTS = (("status", "Status"), ("intent", "Intent"), ("priority", "Priority"), ("criticality", "Criticality"),
                   ("effectiveDateTime", "Measured"), ("occurrenceDateTime", "Given"),
                   ("performedDateTime", "Performed"), ("recordedDate", "Recorded"), ("authoredOn", "Ordered"),
                   ("date", "Dated"), ("issued", "Issued"))
DETAIL_CONCEPTS = (("clinicalStatus", "Clinical status"), ("verificationStatus", "Verification"))


def _details(resource: dict) -> list[tuple[str, str]]:
    """The fields of a record worth a line of their own, in words."""
    rows = [(label, str(resource[key])) for key, label in DETAIL_ELEMENTS if key in resource]
    for key, label in DETAIL_CONCEPTS:
        codings = resource.get(key, {}).get("coding", [])
        if codings:
            rows.append((label, codings[0].get("display") or codings[0].get("code", "")))
    period = resource.get("period", {})
    if period:
        rows.append(("Period", f"{period.get('start', '…')} – {period.get('end', '…')}"))
    for dosage in resource.get("dosageInstruction", []):
        if dosage.get("text"):
            rows.append(("Dosage", dosage["text"]))
    for reaction in resource.get("reaction", []):
        manifestations = ", ".join(name_of(concept, "?") for concept in reaction.get("manifestation", []))
        rows.append(("Reaction", manifestations + (f" ({reaction['severity']})" if "severity" in reaction else "")))
    for content in resource.get("content", []):
        attachment = content.get("attachment", {})
        rows.append(("File", f"{attachment.get('contentType')}, {attachment.get('size')} bytes"))
    return rows
