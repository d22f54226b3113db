"""CareChain's Python side: the library for every patient and doctor flow (`app.carechain`: chain
access, IPFS, cryptography, record formats, keystores) and the thin Flask front end over it.

The web app holds no key of its own: each user's key is unlocked from their keystore at login,
kept in this process's memory for their session only, and signs their own transactions.
"""

import os
import secrets

from flask import Flask, redirect, url_for
from flask_wtf.csrf import CSRFProtect

from app.carechain.records import MAX_ATTACHMENT_SIZE, MAX_RESOURCE_SIZE
from app.carechain.settings import Settings

csrf = CSRFProtect()


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(
        # A fresh secret per start is fine: unlocked keys do not outlive the process either.
        SECRET_KEY=os.environ.get("CARECHAIN_SECRET_KEY") or secrets.token_hex(32),
        CARECHAIN=Settings.from_environment(),
        # Funds new accounts with gas on a chain where gas costs ether (the local chain); unset on
        # a consortium chain with free gas.
        FAUCET_KEY=os.environ.get("CARECHAIN_FAUCET_KEY"),
        IDLE_TIMEOUT=int(os.environ.get("CARECHAIN_IDLE_TIMEOUT", 15 * 60)),
        MAX_CONTENT_LENGTH=MAX_ATTACHMENT_SIZE + (1 << 20),  # the file plus the form around it
        MAX_FORM_MEMORY_SIZE=2 * MAX_RESOURCE_SIZE,  # a pasted FHIR resource, which records.py limits itself
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=os.environ.get("CARECHAIN_HTTPS") == "1",
        WTF_CSRF_TIME_LIMIT=None,  # a token lives as long as the session that holds it
    )
    if test_config:
        app.config.from_mapping(test_config)

    csrf.init_app(app)

    from app import accounts, backend, errors, throttle, views

    backend.init_app(app)
    accounts.init_app(app)
    throttle.init_app(app)
    errors.init_app(app)
    views.init_app(app)

    from app import (access_requests, admin, alerts, auth, bundle_import, devices, doctor, emergency, endorsements,
                     fhir_api, hospital, ingest, patient, profile, record_history, recovery, research, sharing, vitals)

    app.register_blueprint(auth.bp)
    app.register_blueprint(patient.bp)
    app.register_blueprint(profile.bp)
    app.register_blueprint(record_history.bp)
    app.register_blueprint(sharing.bp)
    app.register_blueprint(devices.bp)
    app.register_blueprint(ingest.bp)
    app.register_blueprint(vitals.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(doctor.bp)
    app.register_blueprint(access_requests.bp)
    app.register_blueprint(emergency.bp)
    app.register_blueprint(hospital.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(endorsements.bp)
    app.register_blueprint(recovery.bp)
    app.register_blueprint(bundle_import.bp)
    app.register_blueprint(research.bp)
    fhir_api.init_app(app)

    @app.get("/")
    def index():
        return redirect(url_for("auth.home"))

    return app
