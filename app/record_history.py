"""A patient's record history: every version of one record, oldest first (the first one written,
its re-encryptions after someone lost access, its author's corrections), one click from the list."""

from flask import Blueprint, abort, g, render_template

from app import backend
from app.accounts import display_name, roles_required
from app.record_pages import digest_from
from app.views import with_names

bp = Blueprint("history", __name__, url_prefix="/patient/records")


@bp.before_request
@roles_required("patient")
def require_patient():
    """A patient's own records only: no URL names another patient."""


@bp.get("/<digest>/history")
def record_history(digest):
    versions = backend.get_carechain().record_history(g.user.account.address, digest_from(digest))
    if not versions:
        abort(404)
    rows = [(version, change_in_words(version)) for version in versions]
    current = next((version.entry for version in versions if not version.entry.superseded_by), None)
    return render_template("patient/history.html", rows=rows, origin=versions[0].entry.origin, current=current)


def change_in_words(version) -> str:
    if version.change == "added":
        return "first version"
    if version.change == "re-encrypted":
        return re_encryption(version.reason)
    return f"corrected by {display_name(version.entry.author)}"


def re_encryption(reason: str | None) -> str:
    """What a rotation did, and why if its reason was kept: "re-encrypted after revoking Dr. Alice Chen"."""
    return f"re-encrypted after {with_names(reason)}" if reason else "re-encrypted under a new key"
