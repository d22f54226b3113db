"""Helpers of the end-to-end tests."""

from app.carechain.records import vital_sign

DAY = 86400


def pulse(patient, value=72, at=None):
    return vital_sign(patient.address, "pulse", value, at)


def days_from_now(carechain, days):
    return carechain.now() + int(days * DAY)


def travel_to(carechain, second):
    """Mines a block at `second`: the chain's clock then reads it."""
    carechain.chain.w3.provider.make_request("evm_mine", [second])


def text(response) -> str:
    """A web response's body as text."""
    return response.get_data(as_text=True)
