"""A stopped chain or IPFS node, and unknown pages, give friendly pages, never a traceback."""

import dataclasses

from app import create_app
from tests.e2e.helpers import User, pulse, text


def test_a_stopped_chain_gives_a_friendly_page(stack, patient):
    settings = dataclasses.replace(stack[1], rpc_url="http://127.0.0.1:9")  # nothing listens there
    user = User(create_app({"TESTING": True, "CARECHAIN": settings}), patient)
    response = user.get("/patient/")
    assert response.status_code == 503
    assert "The records network is not reachable" in text(response) and "Traceback" not in text(response)


def test_a_stopped_ipfs_node_gives_a_friendly_page(stack, patient, carechain):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    settings = dataclasses.replace(stack[1], ipfs_api="/ip4/127.0.0.1/tcp/9/http")
    user = User(create_app({"TESTING": True, "CARECHAIN": settings}), patient)
    response = user.get(f"/patient/records/{entry.digest.hex()}")
    assert response.status_code == 503 and "IPFS" in text(response)


def test_an_unknown_page_is_a_friendly_404(visitor):
    response = visitor.get("/no/such/page")
    assert response.status_code == 404 and "Not Found" in text(response)
