"""What a record's page says of its endorsements ("Validated by 2 of 2: Dr. Alice Chen (St. Mary's
Hospital), St. Mary's Hospital"), and whether the viewer may endorse it; shared by the record pages
and the endorsements blueprint."""

from flask import g

from app import backend
from app.accounts import display_name, role
from app.carechain.endorsements import Endorsement, Validation
from app.carechain.model import OpenedRecord
from app.forms import ActionForm


def record_validation(opened: OpenedRecord) -> dict:
    """The page's `validation`, its `validation_text`, and an `endorse_form` for a doctor or hospital
    that may endorse it: it opened the record, so it may read it; it did not write or sign it (a
    rotation by the patient leaves the patient as the entry's author, the doctor as its signer),
    has not endorsed it yet, and no newer version replaces it. The contract checks the same."""
    entry = opened.entry
    validation = backend.get_carechain().endorsements(entry.patient, [entry.digest])[entry.digest]
    me = g.user.account.address
    may_endorse = (role() in ("doctor", "hospital") and validation.current and me not in (entry.author, opened.author)
                   and not validation.endorsed_by(me))
    return {"validation": validation, "validation_text": validation_text(validation),
            "endorse_form": ActionForm() if may_endorse else None}


def validation_text(validation: Validation) -> str | None:
    """The record's standing under its category's policy, with the endorsers' names; None for a
    record of a category that needs no endorsement and has none."""
    names = ", ".join(_named(endorsement) for endorsement in validation.endorsements)
    if validation.validated:
        return f"Validated by {validation.counted} of {validation.required}: {names}"
    if validation.required:
        distinct = " from distinct hospitals" if validation.policy.distinct_hospitals else ""
        endorsed = f" (endorsed by {names})" if names else ""
        return f"Awaiting validation: {validation.counted} of {validation.required} endorsements{distinct}{endorsed}"
    return f"Endorsed by {names}" if names else None


def _named(endorsement: Endorsement) -> str:
    name = display_name(endorsement.provider)
    if endorsement.role == "doctor":
        name += f" ({display_name(endorsement.hospital)})"
    return name if endorsement.active else name + " (suspended: not counted)"
