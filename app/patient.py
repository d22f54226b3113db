"""The patient's pages: records (list, view, add), grants (give, renew, narrow, revoke) and the
audit trail. Everything is read from the chain and IPFS at request time; only summaries of
records the patient already decrypted are kept, in the session's memory."""

import re

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for

from app import backend
from app.accounts import display_name, roles_required, short_address
from app.carechain.errors import IntegrityError, InvalidInput, TransactionFailed
from app.carechain.audit import AUDIT_FILTERS, RE_ENCRYPTED
from app.carechain.model import RecordEntry, checksum
from app.carechain.records import Category
from app.carechain.summaries import Summary
from app.forms import ActionForm, GrantForm, NarrowForm, RecordFilterForm, RenewForm, RevokeForm, choices
from app.record_history import re_encryption
from app.record_pages import add_record, digest_from, record_forms, send_attachment, show_record
from app.recovery import RECOVERY_KINDS, describe as describe_recovery
from app.views import sentence, when

bp = Blueprint("patient", __name__, url_prefix="/patient")

PAGE_SIZE = 20
FILTERS = ("text", "category", "since", "until", "order")  # the records list's filters (RecordFilterForm)
AUDIT_PAGE = 100  # events per page of the audit trail
AUDIT_CURSOR = re.compile(r"(\d{1,12})-(\d{1,9})")  # ?before=<block>-<log index>: a page of older events
GRANTS_PAGE = 50  # newest grantees shown
RECORD_KINDS = ["vitals", "document", "fhir"]
NO_PROVIDER = ""  # the grant form's placeholder choice


@bp.before_request
@roles_required("patient")
def require_patient():
    """Every page here is the logged-in patient's own; no URL names another patient."""


@bp.get("/")
def dashboard():
    """The patient's records, newest first, each once: its current version, under the number of its
    first version (stable across re-encryptions), with a link to its history if it has one. Any
    filter (words of the title, a category, clinical dates, an order) lists the matching records by
    clinical date instead."""
    filters = RecordFilterForm(formdata=request.args)
    if any(request.args.get(name) for name in FILTERS):
        return _filtered_dashboard(filters)
    carechain = backend.get_carechain()
    patient = g.user.account.address
    page = max(request.args.get("page", 1, type=int), 1)
    listed = carechain.current_records(patient, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    pages = max(1, -(-listed.total // PAGE_SIZE))
    if page > pages:  # a page past the end (records were re-indexed, or a hand-made link): the last one
        page = pages
        listed = carechain.current_records(patient, PAGE_SIZE, (page - 1) * PAGE_SIZE)
    show_disputed = request.args.get("disputed") == "shown"
    hidden = sum(entry.disputed for entry in listed.entries) if not show_disputed else 0
    rows = [(entry, _summary(entry)) for entry in listed.entries if show_disputed or not entry.disputed]
    return render_template("patient/dashboard.html", rows=rows, page=page, pages=pages, total=listed.total,
                           hidden=hidden, unconfirmed=listed.unconfirmed, show_disputed=show_disputed,
                           dispute_form=ActionForm(), filters=filters, filtered={})


def _filtered_dashboard(filters: RecordFilterForm):
    """The records matching the filters, by clinical date: every current record's sealed summary is
    read (each fetched once per server process), then only the page shown is opened and verified."""
    carechain = backend.get_carechain()
    show_disputed = request.args.get("disputed") == "shown"
    matching = filters.query().select(carechain.list_records(g.user.account, g.user.account.address).records)
    hidden = 0 if show_disputed else sum(row.entry.disputed for row in matching)
    matching = [row for row in matching if show_disputed or not row.entry.disputed]
    pages = max(1, -(-len(matching) // PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    rows = [(row.entry, _summary(row.entry)) for row in matching[(page - 1) * PAGE_SIZE:page * PAGE_SIZE]]
    return render_template("patient/dashboard.html", rows=rows, page=page, pages=pages, total=len(matching),
                           hidden=hidden, unconfirmed=0, show_disputed=show_disputed, dispute_form=ActionForm(),
                           filters=filters, filtered={name: request.args[name] for name in FILTERS
                                                      if request.args.get(name)})


@bp.post("/records/<digest>/dispute")
def dispute(digest):
    """Flags an entry as disputed (junk, or a record the patient contests), or withdraws the flag.
    The index is append-only: the entry stays, hidden from the list and marked for readers."""
    if ActionForm().validate_on_submit():
        disputed = request.form.get("disputed") != "no"
        try:
            entry = backend.get_carechain().dispute(g.user.account, digest_from(digest), disputed)
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not changed: {error}.", "error")
        else:
            flash(f"Record #{entry.origin} is {'marked as disputed and hidden from your list' if disputed else 'no longer disputed'}. "
                  f"{backend.mined()}", "success")
    return redirect(url_for("patient.dashboard", disputed="shown" if request.form.get("shown") == "1" else None))


@bp.get("/records/<digest>")
def record(digest):
    opened = _open(digest_from(digest))
    file_url = url_for("patient.record_file", digest=digest) if opened.record.attachment else None
    history_url = url_for("history.record_history", digest=digest) if opened.entry.has_versions else None
    return show_record(opened, file_url, back=url_for("patient.dashboard"), history_url=history_url,
                       **_sharing(opened, digest))


def _sharing(opened, digest: str) -> dict:
    """A doctor's record offers to be shared with parts removed, or says why it cannot be."""
    if opened.author_role != "doctor" or opened.redacted is not None or opened.entry.category == Category.VITALS:
        return {}
    if opened.disclosable is None:
        return {"share_note": "Written before records could be shared with parts removed: this one cannot be."}
    return {"share_url": url_for("sharing.share", digest=digest)}


@bp.get("/records/<digest>/file")
def record_file(digest):
    return send_attachment(_open(digest_from(digest)))


@bp.get("/records/new")
def new_record():
    return render_template("records/new.html", forms=record_forms(RECORD_KINDS), action="patient.add",
                           action_args={}, patient=g.user.account.address, back=url_for("patient.dashboard"))


@bp.post("/records/new/<kind>")
def add(kind):
    patient = g.user.account.address
    entry = add_record(kind, RECORD_KINDS, patient)
    if entry is None:
        forms = record_forms(RECORD_KINDS, g.submitted)
        return render_template("records/new.html", forms=forms, action="patient.add", action_args={},
                               patient=patient, back=url_for("patient.dashboard"), active=kind), 400
    return redirect(url_for("patient.dashboard"))


@bp.get("/grants")
def grants():
    return _grants_page(GrantForm(formdata=None, provider=NO_PROVIDER))


@bp.post("/grants")
def grant():
    form = GrantForm()
    form.provider.choices = _provider_choices()
    if form.validate_on_submit():
        carechain = backend.get_carechain()
        try:
            view = carechain.grant(g.user.account, form.provider.data, [int(c) for c in form.categories.data],
                                   form.access.data == "write", form.expires_at(carechain.now()))
        except (InvalidInput, TransactionFailed) as error:
            form.form_errors.append(sentence(error))
        else:
            flash(f"{_scope(view)} until {when(view.expires_at)}.{_skipped(carechain)} {backend.mined()}", "success")
            return redirect(url_for("patient.grants"))
    return _grants_page(form, 400)


@bp.post("/grants/<grantee>/renew")
def renew(grantee):
    form = RenewForm(prefix=grantee)
    if form.validate_on_submit():
        carechain = backend.get_carechain()
        try:
            view = carechain.renew(g.user.account, grantee, form.expires_at(carechain.now()))
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not renewed: {error}.", "error")
        else:
            flash(f"{display_name(view.grantee)}'s access now lasts until {when(view.expires_at)}."
                  f"{_skipped(carechain)} {backend.mined()}", "success")
    else:
        flash("Not renewed: give a number of days (1–3650) or an end date.", "error")
    return redirect(url_for("patient.grants"))


@bp.post("/grants/<grantee>/narrow")
def narrow(grantee):
    """Fewer categories or no write right; the end of access stays as it is."""
    form = NarrowForm(prefix=grantee)
    if form.validate_on_submit():
        carechain = backend.get_carechain()
        try:
            current = carechain.grant_of(g.user.account.address, grantee)
            view, rotation = carechain.narrow(g.user.account, current.grantee, [int(c) for c in form.categories.data],
                                              form.access.data == "write", current.expires_at, rotate=form.rotate_dropped.data)
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not narrowed: {error}.", "error")
        else:
            flash(f"{_scope(view)}.{_rotated(rotation)} {backend.mined()}", "success")
    else:
        flash(f"Not narrowed: {' '.join(e for errors in form.errors.values() for e in errors)}", "error")
    return redirect(url_for("patient.grants"))


@bp.post("/grants/<grantee>/revoke")
def revoke(grantee):
    form = RevokeForm(prefix=grantee)
    if form.validate_on_submit():
        carechain = backend.get_carechain()
        try:
            grantee = checksum(grantee, "grantee address")
            rotation = carechain.revoke(g.user.account, grantee, rotate=form.rotate.data)
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not revoked: {error}.", "error")
        else:
            g.user.summaries.clear()
            flash(f"{display_name(grantee)}'s grant is revoked.{_still_covered(carechain, grantee)}"
                  f"{_rotated(rotation)} {backend.mined()}", "success")
    return redirect(url_for("patient.grants"))


@bp.post("/grants/<grantee>/rotate")
def rotate(grantee):
    """Re-encrypts what a lapsed grant (or a suspended provider's) could read."""
    if ActionForm().validate_on_submit():
        carechain = backend.get_carechain()
        try:
            view = carechain.grant_of(g.user.account.address, grantee)
            if view.active(carechain.now()):
                raise InvalidInput("this grant is still active: revoke or narrow it first")
            rotation = carechain.rotate(g.user.account, view.categories, f"the lapsed grant of {view.grantee}")
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not re-encrypted: {error}.", "error")
        else:
            g.user.summaries.clear()
            flash(f"Done.{_rotated(rotation)} {backend.mined()}", "success")
    return redirect(url_for("patient.grants"))


@bp.post("/rotation")
def resume_rotation():
    """Finishes a re-encryption that was interrupted (a stopped chain or node, a closed tab)."""
    if ActionForm().validate_on_submit():
        try:
            rotation = backend.get_carechain().resume_rotation(g.user.account)
        except (InvalidInput, TransactionFailed) as error:
            flash(f"Not finished: {error}.", "error")
        else:
            g.user.summaries.clear()
            flash(f"Re-encryption finished.{_rotated(rotation)} {backend.mined()}", "success")
    return redirect(url_for("patient.grants"))


def _still_covered(carechain, grantee: str) -> str:
    """The honest sequel to a revocation: other live grants that still let the grantee read."""
    others = carechain.remaining_access(g.user.account.address, grantee)
    if not others:
        return f" {display_name(grantee)} can no longer read your records."
    grants = "; ".join(f"{display_name(view.grantee)}'s grant ({_labels(view.categories)})" for view in others)
    if others[0].grantee_role == "doctor":  # the revoked grantee is their hospital
        return (f" Careful: doctors of {display_name(grantee)} keep grants of their own: {grants}. "
                "Narrow or revoke those too if they should not read your records.")
    return (f" Careful: {display_name(grantee)} can still read some of your records through {grants}. "
            "Narrow or revoke that grant too if they should not.")


def _skipped(carechain) -> str:
    """What a grant or renewal left out: index entries that are not readable records."""
    count = len({entry.digest for entry in carechain.unreadable})
    if not count:
        return ""
    return (f" {count} entr{'ies' if count != 1 else 'y'} of your index could not be read, so no key for "
            f"{'them' if count != 1 else 'it'} was delivered (marked on your records page; you can dispute "
            f"{'them' if count != 1 else 'it'}).")


def _rotated(rotation) -> str:
    said = ""
    if rotation.rotated:
        count = len(rotation.rotated)
        said += f" {count} record{'s' if count != 1 else ''} re-encrypted under new keys."
    if rotation.skipped:
        count = len(rotation.skipped)
        said += (f" {count} entr{'ies' if count != 1 else 'y'} of your index could not be read and "
                 f"{'were' if count != 1 else 'was'} skipped (marked on your records page).")
    return said


@bp.get("/audit")
def audit():
    """One page of the audit trail, newest first: all events or one kind (?show=grants|records|reads),
    paged back with ?before=<block>-<log index>, so no flood of one kind hides anything."""
    carechain = backend.get_carechain()
    patient = g.user.account.address
    shown = request.args.get("show") if request.args.get("show") in AUDIT_FILTERS else None
    cursor = AUDIT_CURSOR.fullmatch(request.args.get("before", ""))
    before = (int(cursor[1]), int(cursor[2])) if cursor else None
    # One event more than a page tells whether an older page exists.
    trail = carechain.audit_trail(patient, limit=AUDIT_PAGE + 1, kinds=[shown] if shown else None, before=before)
    older = len(trail) > AUDIT_PAGE
    trail = trail[-AUDIT_PAGE:]
    digests = [bytes.fromhex(event.details[key]) for event in trail
               for key in ("digest", "oldDigest", "newDigest") if key in event.details]
    numbers = {digest.hex(): numbering.origin for digest, numbering in carechain.record_numbers(patient, digests).items()}
    rows = [(event, _describe(event, numbers)) for event in reversed(trail)]
    return render_template("patient/audit.html", rows=rows, filters=list(AUDIT_FILTERS), shown=shown,
                           paged=before is not None, older="{}-{}".format(*trail[0].position) if older else None)


def _open(digest: bytes):
    return backend.get_carechain().read_record(g.user.account, g.user.account.address, digest, log=False)


def _summary(entry: RecordEntry) -> dict:
    """Title, clinical date and verification of a record, decrypted once per session."""
    cached = g.user.summaries.get(entry.digest)
    if cached is None:
        try:
            opened = _open(entry.digest)
            cached = {"title": opened.record.title, "verified": True, "problem": None,
                      "clinical": Summary.of(opened.record), "created_at": opened.record.created_at,
                      "author": opened.author, "redacted": opened.redacted is not None}
        except IntegrityError as error:
            cached = {"title": "(unreadable)", "verified": False, "problem": str(error), "clinical": None,
                      "created_at": entry.added_at, "author": entry.author}
        g.user.summaries[entry.digest] = cached
    return cached


def _provider_choices() -> list:
    """Registered, unsuspended doctors and hospitals, by name, after a placeholder: a form that
    started on the first provider would grant them if the patient forgot to choose. The
    placeholder's empty value fails the field's InputRequired ("Choose a doctor or hospital.")."""
    found = []
    for provider in backend.get_carechain().providers():
        if provider.suspended:
            continue
        label = f"{display_name(provider.address)} ({provider.role}"
        label += f", {display_name(provider.hospital)})" if provider.hospital else ")"
        found.append((provider.address, label))
    found.sort(key=lambda choice: choice[1].lower())
    return choices([(NO_PROVIDER, "Choose a doctor or hospital…")] + found)


def _grants_page(form: GrantForm, status: int = 200):
    carechain = backend.get_carechain()
    if not form.provider.choices:
        form.provider.choices = _provider_choices()
    now = carechain.now()
    views = carechain.grants_of(g.user.account.address, limit=GRANTS_PAGE)
    return render_template(
        "patient/grants.html", form=form, now=now, action_form=ActionForm(),
        pending_rotation=carechain.pending_rotation(g.user.account.address),
        active=[view for view in views if view.active(now)], expired=[view for view in views if not view.active(now)],
    ), status


@bp.get("/grants/<grantee>/change")
def grant_changes(grantee):
    """One grant's renew, narrow and revoke forms: a page of their own, so the list of grants stays
    light however many there are."""
    carechain = backend.get_carechain()
    try:
        view = carechain.grant_of(g.user.account.address, grantee)
    except InvalidInput:
        abort(404)
    if view.expires_at == 0:
        flash("There is no grant for this provider.", "error")
        return redirect(url_for("patient.grants"))
    return render_template("patient/grant.html", view=view, now=carechain.now(),
                           renew=RenewForm(prefix=view.grantee, formdata=None),
                           narrow=_narrow_form(view), revoke=RevokeForm(prefix=view.grantee, formdata=None))


def _narrow_form(view) -> NarrowForm:
    form = NarrowForm(prefix=view.grantee, formdata=None)
    form.categories.data = [str(int(c)) for c in view.categories]
    form.access.data = "write" if view.can_write else "read"
    return form


def _describe(event, numbers: dict) -> str:
    details = event.details
    grantee = display_name(details.get("grantee"))
    if event.kind == "granted":
        return (f"{grantee} was granted {_rights(details['canWrite'])} access to "
                f"{_labels(details['categories'])} records until {when(details['expiresAt'])}")
    if event.kind == "renewed":
        return f"{grantee}'s access was extended until {when(details['expiresAt'])}"
    if event.kind == "narrowed":
        return (f"{grantee}'s access was narrowed to {_rights(details['canWrite'])} "
                f"{_labels(details['categories'])} until {when(details['expiresAt'])}")
    if event.kind == "revoked":
        return f"{grantee}'s access was revoked"
    provider = display_name(details.get("provider"))
    if event.kind == "access requested":
        days = details["duration"] / 86400
        return (f"{provider} asked for {_rights(details['writable'])} access to {_labels(details['categories'])} "
                f"records for {days:g} day{'s' * (days != 1)}")
    if event.kind == "request approved":
        return f"{provider}'s request for access was approved"
    if event.kind == "request declined":
        return f"{provider}'s request for access was declined"
    if event.kind == "request withdrawn":
        return f"{provider} withdrew their request for access"
    if event.kind == "record added":
        return f"record #{details['number']} ({Category(details['category']).label}) was added"
    if event.kind == RE_ENCRYPTED:
        return f"record #{numbers.get(details['oldDigest'], '?')} was {re_encryption(details['reason'])}"
    if event.kind == "record corrected":
        return f"record #{numbers.get(details['oldDigest'], '?')} was corrected by {display_name(event.actor)}"
    if event.kind == "record endorsed":
        return f"record #{numbers.get(details['digest'], '?')} was endorsed by {provider}"
    if event.kind == "device paired":
        return f"a device was paired ({short_address(details['device'])}); it may add your vitals"
    if event.kind == "device revoked":
        return f"the device {short_address(details['device'])} was revoked"
    if event.kind == "listed":
        return (f"{display_name(event.actor)} listed your {_labels(details['categories'])} records "
                "(their titles and dates, not their contents)")
    if event.kind == "profile updated":
        if not int(details["digest"], 16):
            return "your profile was withdrawn"
        return "your profile was saved, encrypted for you and those with access then"
    if event.kind in RECOVERY_KINDS:
        return describe_recovery(event)
    if event.kind.startswith("emergency"):
        return _emergency(event)
    record = f"record #{numbers.get(details['digest'], '?')}"
    if event.kind == "alert acknowledged":
        return f"the alert in {record} was acknowledged by {display_name(event.actor)}"
    if event.kind == "record disputed":
        return f"{record} was marked as disputed"
    if event.kind == "dispute withdrawn":
        return f"the dispute of {record} was withdrawn"
    if event.actor_role in ("doctor", "hospital") or event.actor == g.user.account.address:
        return f"{record} was read by {display_name(event.actor)}"
    # Older deployments logged reads by anyone: never lend such a reader a name.
    return f"{record} was read by {short_address(event.actor)} (not a registered provider)"


def _emergency(event) -> str:
    """Break-glass in words (see app/emergency.py)."""
    details = event.details
    if event.kind == "emergency summary saved":
        if not int(details["summary"], 16):
            return "your emergency summary was withdrawn"
        return "your emergency summary was saved, under a new key shared among the hospitals"
    doctor = display_name(details["doctor"])
    if event.kind == "emergency declared":
        return (f"{doctor} ({display_name(details['hospital'])}) declared an emergency to open your emergency "
                "summary (break-glass)")
    if event.kind == "emergency confirmed":
        return f"{display_name(details['confirmer'])} confirmed {doctor}'s emergency: its 24-hour window opened"
    return f"{display_name(details['hospital'])} released its share of your emergency summary's key to {doctor}"


def _scope(view) -> str:
    return f"{display_name(view.grantee)} may now {_rights(view.can_write)} your {_labels(view.categories)} records"


def _rights(can_write: bool) -> str:
    return "read and add" if can_write else "read"


def _labels(categories) -> str:
    labels = [c if isinstance(c, str) else Category(c).label for c in categories]
    return ", ".join(labels).lower()
