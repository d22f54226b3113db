"""The administrator's pages: the providers overview, registering from a sign-up request or by
hand, suspending and reinstating; nobody else may do any of it."""

import pytest
from eth_account import Account

from app.carechain import crypto
from tests.e2e.helpers import text


@pytest.fixture
def admin(as_user, people):
    return as_user(people.admin)


def signed_up_doctor(visitor, name):
    visitor.post("/auth/signup", {"kind": "doctor", "name": name, "password": "a long password",
                                  "confirm": "a long password"})
    return text(visitor.get("/auth/welcome")).split('id="address">')[1].split("<")[0]


def test_the_overview_lists_providers_by_name_and_status(admin):
    page = text(admin.get("/admin/"))
    for name in ("St. Mary&#39;s Hospital", "Riverside Clinic", "Dr. Alice Chen", "Dr. Bob Okafor"):
        assert name in page
    assert "active" in page


def test_a_sign_up_request_is_reviewed_and_registered(admin, visitor, people, carechain):
    address = signed_up_doctor(visitor, "Dr. Eve Moreau")
    overview = text(admin.get("/admin/"))
    assert "Dr. Eve Moreau" in overview and f"request={address}" in overview
    review = text(admin.get(f"/admin/?request={address}"))
    assert f'value="{address}"' in review and 'value="Dr. Eve Moreau"' in review
    response = admin.post("/admin/providers", {"role": "doctor", "name": "Dr. Eve Moreau", "address": address,
                                               "public_key": "", "hospital": people.hospital.address},
                          follow_redirects=True)
    assert "Dr. Eve Moreau is registered as a doctor" in text(response)
    registered = carechain.participant(address)
    assert registered.role == "doctor" and registered.hospital == people.hospital.address
    assert carechain.chain.w3.eth.get_balance(address) > 0  # funded for gas
    assert "/doctor/" in visitor.get("/auth/").location  # their home is now the doctor's


@pytest.mark.parametrize("change, message", [
    ({"address": "0x12"}, "is not a valid provider address"),
    ({"address": "checksum-wrong"}, "has a wrong checksum"),
    ({"public_key": "zz"}, "must be hexadecimal"),
    ({"public_key": "ab" * 64}, "does not belong to"),
    ({"hospital": ""}, "choose the doctor&#39;s hospital"),
    ({"name": ""}, "This field is required"),
])
def test_bad_registrations_are_refused_and_send_nothing(admin, people, carechain, change, message):
    account = Account.create()
    fields = {"role": "doctor", "name": "Dr. Test", "address": account.address,
              "public_key": crypto.public_key_of(account.key).hex(), "hospital": people.hospital.address, **change}
    if fields["address"] == "checksum-wrong":
        fields["address"] = account.address[:2] + account.address[2:].swapcase()
    response = admin.post("/admin/providers", fields)
    assert response.status_code == 400 and message.lower() in text(response).lower()
    assert carechain.participant(account.address) is None


def test_suspend_and_reinstate(admin, people, carechain):
    doctor = people.outsider.address
    suspended = admin.post(f"/admin/providers/{doctor}/suspend", follow_redirects=True)
    assert "Dr. Carol Diaz is suspended" in text(suspended)
    assert carechain.participant(doctor).suspended
    admin.post(f"/admin/providers/{doctor}/reinstate")
    assert not carechain.participant(doctor).suspended
    assert "Not changed" in text(admin.post(f"/admin/providers/{doctor}/reinstate", follow_redirects=True))


def test_only_the_administrator_registers_or_suspends(as_user, people, patient, carechain):
    account = Account.create()
    fields = {"role": "hospital", "name": "Fake Hospital", "address": account.address,
              "public_key": crypto.public_key_of(account.key).hex()}
    for user in (as_user(patient), as_user(people.doctor), as_user(people.hospital)):
        assert user.post("/admin/providers", fields).location == "/auth/"
        assert user.post(f"/admin/providers/{people.colleague.address}/suspend").location == "/auth/"
    assert carechain.participant(account.address) is None
    assert not carechain.participant(people.colleague.address).suspended


def test_the_provider_list_comes_in_pages(admin, carechain, monkeypatch):
    monkeypatch.setattr("app.admin.PAGE_SIZE", 2)
    providers = carechain.providers()
    assert len(providers) > 2
    pages = -(-len(providers) // 2)
    first, register_form = text(admin.get("/admin/")).split('id="register"')
    last = text(admin.get(f"/admin/?page={pages}")).split('id="register"')[0]
    assert providers[0].address in first and providers[1].address in first and providers[2].address not in first
    assert f"Page 1 of {pages}" in first and "?page=2" in first and "Previous" not in first
    assert providers[-1].address in last and providers[0].address not in last and "Next" not in last
    assert f"Page {pages} of {pages}" in text(admin.get("/admin/?page=999"))  # beyond the end: the last page
    for hospital in (p for p in providers if p.role == "hospital" and not p.suspended):
        assert hospital.address in register_form  # every hospital can be chosen, not just the page's
