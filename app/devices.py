"""Devices: the patient pairs, lists and revokes them; paired devices post readings to the
ingestion API (see app/carechain/ingest.py for what happens to a batch)."""

import base64

from flask import Blueprint, flash, g, redirect, render_template, url_for

from app import backend
from app.accounts import roles_required
from app.carechain.errors import InvalidInput, TransactionFailed
from app.carechain.model import checksum
from app.forms import ActionForm, DeviceForm
from app.views import sentence

bp = Blueprint("devices", __name__, url_prefix="/patient/devices")


@bp.before_request
@roles_required("patient")
def require_patient():
    """A patient's own devices only."""


@bp.get("/")
def overview():
    return _overview(DeviceForm(formdata=None))


@bp.post("/")
def pair():
    form = DeviceForm()
    if not form.validate_on_submit():
        return _overview(form, 400)
    carechain = backend.get_carechain()
    try:
        credential = carechain.pair_device(g.user.account, form.label.data,
                                           url_for("ingest.readings", _external=True),
                                           spo2_scale=2 if form.spo2_scale_2.data else 1)
    except (InvalidInput, TransactionFailed) as error:
        form.form_errors.append(sentence(error))
        return _overview(form, 400)
    backend.fund(credential.device)
    text = credential.to_json()
    download = "data:application/json;base64," + base64.b64encode(text.encode()).decode()
    return render_template("devices/paired.html", credential=credential, text=text, download=download,
                           mined=backend.mined())


@bp.post("/<device>/revoke")
def revoke(device):
    if not ActionForm().validate_on_submit():
        flash("That change was not accepted; reload the page and try again.", "error")
        return redirect(url_for("devices.overview"))
    try:
        device = checksum(device, "device address")
        backend.get_carechain().revoke_device(g.user.account, device)
    except (InvalidInput, TransactionFailed) as error:
        flash(f"Not revoked: {error}.", "error")
    else:
        flash(f"The device is revoked: it can add nothing more. {backend.mined()}", "success")
    return redirect(url_for("devices.overview"))


def _overview(form: DeviceForm, status: int = 200):
    devices = backend.get_carechain().devices(g.user.account.address)
    return render_template("devices/overview.html", form=form, devices=devices, action=ActionForm()), status
