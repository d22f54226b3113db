"""The ingestion API of paired devices: `POST /api/devices/readings`, a JSON batch of readings
(see app/carechain/ingest.py), with the headers

    Authorization: CareChain-Device <the credential's secret>
    CareChain-Signature: 0x<the device's EIP-191 signature of the exact body>

Answers are JSON: 200 with what was accepted, refused (each reading with its reason), recorded
and alerted; 400, 401, 409 or 503 with {"error": "<a sentence>", "reason": "<a key>"} when the
batch is refused as a whole, which changes nothing. No session and no CSRF token: each batch
carries its own proof."""

from flask import Blueprint, jsonify, request

from app import backend, csrf
from app.carechain.errors import CareChainError, ServiceUnavailable
from app.carechain.ingest import Replayed, Unauthorized
from app.views import sentence

bp = Blueprint("ingest", __name__, url_prefix="/api/devices")
MAX_BATCH_BYTES = 4 << 20
SCHEME = "CareChain-Device "


@bp.post("/readings")
@csrf.exempt
def readings():
    authorization = request.headers.get("Authorization", "")
    if not authorization.startswith(SCHEME) or "CareChain-Signature" not in request.headers:
        raise Unauthorized("send the device's secret (Authorization: CareChain-Device <secret>) and its signature "
                           "of the body (CareChain-Signature)")
    if (request.content_length or 0) > MAX_BATCH_BYTES:
        return _error(413, "too_large", f"a batch may hold at most {MAX_BATCH_BYTES >> 20} MB: send smaller ones")
    result = backend.get_carechain().ingest(authorization.removeprefix(SCHEME).strip(), request.get_data(),
                                            request.headers["CareChain-Signature"].strip())
    return jsonify(result.as_json())


@bp.errorhandler(Unauthorized)
def unauthorized(error):
    return _error(401, "unauthorized", sentence(error))


@bp.errorhandler(Replayed)
def replayed(error):
    return _error(409, "replayed", sentence(error))


@bp.errorhandler(ServiceUnavailable)
def unavailable(error):
    return _error(503, "unavailable", f"{sentence(error)} Nothing was recorded; send the batch again later.")


@bp.errorhandler(CareChainError)
def refused(error):
    return _error(400, "refused", sentence(error))


def _error(status: int, reason: str, message: str):
    return jsonify({"error": message, "reason": reason}), status
