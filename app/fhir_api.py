"""The FHIR R4 REST API (read and search, JSON) under /fhir/r4/, for EHRs and other FHIR clients,
and the page where a doctor, hospital or patient creates the API's access tokens.

A caller reads exactly what its token's holder reads in the web app: a provider what it was
granted, each record's access checked on chain, the record verified, and its read logged on chain,
signed with the provider's own key; a patient its own records. A token (SMART on FHIR style:
`user/<Type>.read` or `patient/<Type>.read` scopes, at most 8 hours) is therefore bound to its
holder's unlocked key, which the server keeps in memory for the token's lifetime only, like the
keyring of logged-in users: a restart or its holder's revocation ends a token.
Every error is an OperationOutcome.
"""

import base64
import hashlib
import re
import secrets
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlencode

from eth_account.signers.local import LocalAccount
from flask import Blueprint, Flask, abort, current_app, flash, g, jsonify, redirect, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from app import backend, csrf
from app.accounts import role, roles_required
from app.carechain import fhir_search
from app.carechain.errors import AccessDenied, CareChainError, IntegrityError, InvalidInput, ServiceUnavailable
from app.carechain.keystore import Busy
from app.carechain.records import Category
from app.forms import ActionForm, ApiTokenForm
from app.views import sentence

bp = Blueprint("fhir", __name__, url_prefix="/fhir/r4")
tokens_bp = Blueprint("fhir_tokens", __name__, url_prefix="/fhir/tokens")
csrf.exempt(bp)

FHIR_JSON = "application/fhir+json"
MAX_TOKEN_HOURS = 8
READABLE_TYPES = ("Patient", "Binary", *fhir_search.RECORD_TYPES)
SCOPE = re.compile(r"(?:user|patient)/(\*|[A-Za-z]+)\.read")


@dataclass(frozen=True)
class ApiToken:
    account: LocalAccount
    types: frozenset  # resource types it may read
    expires_at: float  # unix seconds
    name: str  # what its holder calls it ("Ward EHR")
    created_at: float
    role: str  # its holder's: "doctor", "hospital" or "patient", who reads only its own records
    handle: str  # names it on the token page, to revoke it: not the token, from which it cannot be derived


class ApiTokens:
    """Issued tokens, by their SHA-256 (the token itself is shown once and kept nowhere), in this
    process's memory only; expired and revoked ones are forgotten."""

    def __init__(self):
        self._tokens: dict[bytes, ApiToken] = {}
        self._lock = threading.Lock()

    def issue(self, account: LocalAccount, role: str, types: frozenset, seconds: int,
              name: str = "") -> tuple[str, ApiToken]:
        token = secrets.token_urlsafe(32)
        now = time.time()
        issued = ApiToken(account, types, now + seconds, name, now, role, secrets.token_hex(8))
        with self._lock:
            self._forget_expired()
            self._tokens[_hash(token)] = issued
        return token, issued

    def get(self, token: str) -> ApiToken | None:
        with self._lock:
            self._forget_expired()
            return self._tokens.get(_hash(token))

    def of(self, address: str) -> list[ApiToken]:
        """The provider's live tokens, newest first."""
        with self._lock:
            self._forget_expired()
            return sorted((t for t in self._tokens.values() if t.account.address == address),
                          key=lambda t: t.created_at, reverse=True)

    def revoke(self, address: str, handle: str) -> bool:
        """Ends the provider's token of this handle at once; False if it has none live (already
        revoked or expired, or another provider's)."""
        with self._lock:
            for key, token in self._tokens.items():
                if token.handle == handle and token.account.address == address:
                    del self._tokens[key]
                    return True
        return False

    def _forget_expired(self) -> None:
        now = time.time()
        for key in [key for key, token in self._tokens.items() if token.expires_at <= now]:
            del self._tokens[key]


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def api_tokens() -> ApiTokens:
    return current_app.extensions["fhir_tokens"]


def scope_types(scope: str) -> frozenset:
    """The resource types SMART scopes allow reading; InvalidInput for anything else."""
    types = set()
    for part in scope.split():
        match = SCOPE.fullmatch(part)
        if not match or match.group(1) not in ("*", *READABLE_TYPES):
            raise InvalidInput(f"{part!r} is not a read scope: use user/*.read or user/<Type>.read (patient/ alike) "
                               f"with a type of "
                               f"{', '.join(READABLE_TYPES)}")
        types |= set(READABLE_TYPES) if match.group(1) == "*" else {match.group(1)}
    if not types:
        raise InvalidInput("name at least one scope")
    return frozenset(types)


# The token page: a logged-in doctor, hospital or patient.

@tokens_bp.before_request
@roles_required("doctor", "hospital", "patient")
def require_reader():
    """Tokens read as their holder does: a provider what it was granted, a patient its own records."""


@tokens_bp.get("/")
def tokens():
    return _tokens_page(ApiTokenForm(formdata=None))


@tokens_bp.post("/")
def create():
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            types = scope_types(form.scope.data)
        except InvalidInput as error:
            form.scope.errors.append(sentence(error))
        else:
            token, issued = api_tokens().issue(g.user.account, role(), types, int(form.hours.data) * 3600,
                                               (form.name.data or "").strip())
            return _tokens_page(ApiTokenForm(formdata=None), token=token, scope=" ".join(form.scope.data.split()),
                                expires_at=int(issued.expires_at))
    return _tokens_page(form), 400


@tokens_bp.post("/<handle>/revoke")
def revoke(handle: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    if api_tokens().revoke(g.user.account.address, handle):
        flash("The token is revoked: a request carrying it is refused from now on.", "success")
    else:  # a second click, or a token that expired meanwhile
        flash("That token had already ended: it was revoked or it expired.", "info")
    return redirect(url_for("fhir_tokens.tokens"))


def _tokens_page(form: ApiTokenForm, **shown):
    return render_template("fhir/tokens.html", form=form, live=api_tokens().of(g.user.account.address),
                           action_form=ActionForm(), **shown)


# The API.

class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code = status, code


@bp.before_request
def authenticate():
    """Every request but the CapabilityStatement carries a live token."""
    if request.endpoint == "fhir.metadata":
        return
    header = request.headers.get("Authorization", "")
    token = api_tokens().get(header[7:].strip()) if header.startswith("Bearer ") else None
    if token is None:
        raise ApiError(401, "login", "a valid access token is required (Authorization: Bearer <token>); create one "
                                     "at /fhir/tokens/ - it ends when it expires or the server restarts")
    g.token = token


@bp.get("/metadata")
def metadata():
    base = url_for("fhir.metadata", _external=True).removesuffix("/metadata")
    search = [{"name": "patient", "type": "reference"}, {"name": "category", "type": "token"},
              {"name": "code", "type": "token"}, {"name": "date", "type": "date"},
              {"name": "_count", "type": "number"}, {"name": "_offset", "type": "number"}]
    resources = [{"type": "Patient", "interaction": [{"code": "read"}, {"code": "search-type"}], "searchParam": [
                     {"name": "name", "type": "string"}, *search[-2:]]},
                 {"type": "Binary", "interaction": [{"code": "read"}]}] + [
        {"type": kind, "interaction": [{"code": "read"}, {"code": "search-type"}], "searchParam": search}
        for kind in fhir_search.RECORD_TYPES]
    return _fhir({
        "resourceType": "CapabilityStatement", "status": "active", "date": time.strftime("%Y-%m-%d"),
        "kind": "instance", "fhirVersion": "4.0.1", "format": ["json"],
        "software": {"name": "CareChain"}, "implementation": {"description": "CareChain FHIR API", "url": base},
        "rest": [{"mode": "server", "resource": resources, "security": {
            "service": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service",
                                     "code": "SMART-on-FHIR"}]}],
            "description": "Bearer tokens created by a logged-in doctor or hospital at /fhir/tokens/"}}]})


@bp.get("/Patient/<patient>")
def patient(patient):
    _allow("Patient")
    carechain = backend.get_carechain()
    address = fhir_search.patient_of(patient)
    if g.token.role == "patient":
        if address != g.token.account.address:
            raise AccessDenied("a patient's token reads that patient's own records only")
        return _fhir(fhir_search.own_patient(carechain, g.token.account))
    profile = carechain.profile_seen_by(g.token.account, address)
    if profile is None:
        readable, _ = carechain.access_scope(address, g.token.account.address)
        if not readable:
            raise AccessDenied(carechain.access_problem(address, g.token.account.address, Category.VITALS)
                               or "this patient has not granted you access, or has revoked it")
        raise ApiError(404, "not-found", "this patient has not shared a profile with you")
    return _fhir(profile.resource())


@bp.get("/Binary/<resource_id>")
def binary(resource_id):
    """A document's file, named by its DocumentReference's attachment url: as a Binary resource
    when FHIR JSON is asked for, else (`*/*` too) the file itself with its content type, as FHIR
    says. Its read is logged on chain like the document's."""
    _allow("Binary")
    opened = fhir_search.find_record(backend.get_carechain(), g.token.account, "DocumentReference", resource_id)
    if opened is None or not opened.record.attachment:
        raise ApiError(404, "not-found", f"no current document {resource_id} with a file")
    record = opened.record
    if request.accept_mimetypes.best_match([record.content_type, FHIR_JSON, "application/json"]) in (
            FHIR_JSON, "application/json"):
        return _fhir({"resourceType": "Binary", "id": resource_id, "contentType": record.content_type,
                      "data": base64.b64encode(record.attachment).decode()})
    return current_app.response_class(record.attachment, mimetype=record.content_type)


@bp.get("/<resource_type>/<resource_id>")
def read(resource_type, resource_id):
    _allow(resource_type)
    opened = fhir_search.find_record(backend.get_carechain(), g.token.account, resource_type, resource_id)
    if opened is None:
        raise ApiError(404, "not-found", f"no current {resource_type} {resource_id}")
    return _fhir(fhir_search.as_resource(opened))


@bp.get("/<resource_type>")
def search(resource_type):
    _allow(resource_type)
    if resource_type == "Binary":
        raise ApiError(400, "not-supported", "files are read by id, the url of their DocumentReference's attachment")
    parameters = list(request.args.items(multi=True))
    if resource_type == "Patient":
        query = fhir_search.PatientSearch.parse(parameters)
        total, resources = fhir_search.search_patients(backend.get_carechain(), g.token.account, query,
                                                       own=g.token.role == "patient")
    else:
        query = fhir_search.Search.parse(resource_type, parameters)
        total, page = fhir_search.search(backend.get_carechain(), g.token.account, query)
        resources = [fhir_search.as_resource(record) for record in page]
    base = url_for("fhir.metadata", _external=True).removesuffix("/metadata")
    links = [{"relation": "self", "url": _page_url(resource_type, query, query.offset)}]
    if query.offset + query.count < total:
        links.append({"relation": "next", "url": _page_url(resource_type, query, query.offset + query.count)})
    if query.offset > 0:
        links.append({"relation": "previous",
                      "url": _page_url(resource_type, query, max(0, query.offset - query.count))})
    return _fhir({"resourceType": "Bundle", "type": "searchset", "total": total, "link": links, "entry": [
        {"fullUrl": f"{base}/{resource_type}/{resource['id']}", "resource": resource, "search": {"mode": "match"}}
        for resource in resources]})


@bp.route("/<path:rest>", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def other(rest):
    if request.method != "GET":
        raise ApiError(405, "not-supported", "this API reads and searches only")
    raise ApiError(404, "not-found", f"no such FHIR endpoint: {rest}")


def _allow(resource_type: str) -> None:
    if resource_type not in READABLE_TYPES:
        raise ApiError(404, "not-supported", f"unknown resource type {resource_type!r}: this server holds "
                                             f"{', '.join(READABLE_TYPES)}")
    if resource_type not in g.token.types:
        raise ApiError(403, "forbidden", f"the token's scope does not cover reading {resource_type}")


def _page_url(resource_type: str, query: fhir_search.Search | fhir_search.PatientSearch, offset: int) -> str:
    parameters = list(query.asked) + ([("_offset", str(offset))] if offset else [])
    return url_for("fhir.search", resource_type=resource_type, _external=True) + "?" + urlencode(parameters)


def _fhir(resource: dict, status: int = 200, headers: dict | None = None):
    response = jsonify(resource)
    response.status_code = status
    response.content_type = FHIR_JSON
    response.headers.update(headers or {})
    return response


def _outcome(status: int, code: str, message: str, headers: dict | None = None):
    return _fhir({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error" if status < 500 else "fatal", "code": code, "diagnostics": sentence(message)}]},
        status, headers)


@bp.errorhandler(Exception)
def error(error):
    """Every failure as an OperationOutcome with its status, never a traceback."""
    if isinstance(error, ApiError):
        headers = {"WWW-Authenticate": 'Bearer realm="CareChain FHIR API"'} if error.status == 401 else None
        return _outcome(error.status, error.code, str(error), headers)
    if isinstance(error, AccessDenied):
        return _outcome(403, "forbidden", str(error))
    if isinstance(error, InvalidInput):
        return _outcome(400, "invalid", str(error))
    if isinstance(error, IntegrityError):
        return _outcome(502, "processing", f"{error}; the record was not returned because it cannot be trusted")
    if isinstance(error, (ServiceUnavailable, Busy)):
        return _outcome(503, "transient", f"{error}; try again in a minute", {"Retry-After": "5"})
    if isinstance(error, CareChainError):  # e.g. the read log's transaction failed
        return _outcome(400, "processing", str(error))
    if isinstance(error, HTTPException):
        return _outcome(error.code, "processing", error.description)
    current_app.logger.exception("unexpected error in the FHIR API")
    return _outcome(500, "exception", "the server could not finish this request")


def init_app(app: Flask) -> None:
    app.extensions["fhir_tokens"] = ApiTokens()
    app.register_blueprint(bp)
    app.register_blueprint(tokens_bp)
