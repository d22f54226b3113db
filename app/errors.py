"""Every failure becomes a page that says what happened and what to do, never a traceback."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge, TooManyRequests

from app.carechain.errors import AccessDenied, CareChainError, IntegrityError, ServiceUnavailable
from app.carechain.keystore import Busy
from app.carechain.records import MAX_ATTACHMENT_SIZE
from app.views import sentence


def page(status: int, title: str, message: str):
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(ServiceUnavailable)
    def service_unavailable(error):
        return page(503, "The records network is not reachable",
                    f"{error}. Nothing was changed and your records are safe; try again in a minute.")

    @app.errorhandler(Busy)
    def busy(error):
        body, status = page(503, "The server is busy", "Many people are logging in or signing up right now. "
                                                         "Nothing was done; try again in a moment.")
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(TooManyRequests)
    def too_many(error):
        body, status = page(429, "Please wait", error.description)
        return body, status, {"Retry-After": str(error.retry_after)}

    @app.errorhandler(AccessDenied)
    def access_denied(error):
        return page(403, "No access", sentence(error))

    @app.errorhandler(IntegrityError)
    def integrity(error):
        return page(502, "This record failed verification",
                    f"{error}. It was not shown because its content cannot be trusted.")

    @app.errorhandler(CareChainError)
    def refused(error):
        return page(400, "That did not work", sentence(error))

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return page(400, "The form could not be accepted",
                    "It was sent from another site, sent twice, or your session has ended. "
                    "Go back, reload the page and try again.")

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        return page(413, "The file is too large",
                    f"Files of up to {MAX_ATTACHMENT_SIZE >> 20} MB can be stored. Nothing was stored.")

    @app.errorhandler(HTTPException)
    def http_error(error):
        return page(error.code, error.name, error.description)

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unexpected error")
        return page(500, "Something went wrong",
                    "The server could not finish this request. Try again, and tell your administrator "
                    "if it keeps happening.")
