"""Record keys and nonces are derived, not drawn at random (a retried upload gives the same bytes),
so they must also depend on the deployment: the same record under another contract gets another
key and nonce, and a key bundle of one deployment opens nothing of another."""

import dataclasses
import os

from eth_account import Account

from app.carechain import crypto, envelope
from app.carechain.flows import CareChain
from scripts.services import deploy
from tests.e2e.helpers import pulse


def test_the_same_record_under_two_deployments_shares_no_key_or_nonce(stack, tmp_path, carechain, people):
    manifest = tmp_path / "second-deployment.json"
    deploy("carechain-e2e", {**os.environ, "CARECHAIN_MANIFEST": str(manifest)})
    second = CareChain.connect(dataclasses.replace(stack[1], manifest=manifest, keystores=tmp_path / "keystores"))
    assert second.chain.address != carechain.chain.address

    patient = Account.create()
    carechain.fund(people.admin, patient.address, 1)
    record = pulse(patient, 72, at=1_700_000_000)
    opened = []
    for deployment in (carechain, second):
        deployment.register_patient(patient)
        entry = deployment.add_record(patient, patient.address, record)
        header = envelope.decode_header(deployment.store.get(entry.digest))
        opened.append((header.nonce, crypto.unwrap_key(header.keys[patient.address], patient.address, patient.key)))
    second.close()

    (first_nonce, first_key), (second_nonce, second_key) = opened
    assert first_nonce != second_nonce and first_key != second_key
