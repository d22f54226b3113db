"""The administrator's pages: the providers overview, registering from a sign-up request or by
hand, declining a request, suspending and reinstating; nobody else may do any of it."""

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, provider_entry
from app.carechain.errors import InvalidInput
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


def applicant(stack, name):
    """An account with a doctor's sign-up request on file (as signing up files it, without
    spending the session's sign-ups per hour)."""
    account = Account.create()
    ProviderDirectory(stack[1].directory).add(provider_entry(account.address, name, "doctor",
                                                             crypto.public_key_of(account.key)))
    return account


def test_a_declined_request_leaves_the_list_and_stays_marked_for_its_applicant(admin, as_user, stack):
    account = applicant(stack, "Dr. Frank Novak")
    address = account.address
    assert f"/admin/requests/{address}/decline" in text(admin.get("/admin/"))
    declined = admin.post(f"/admin/requests/{address}/decline", follow_redirects=True)
    assert "The request of Dr. Frank Novak (doctor) is declined" in text(declined)
    assert address not in text(admin.get("/admin/"))
    entry = ProviderDirectory(stack[1].directory).get(address)
    assert entry.declined and not entry.registered
    welcome = text(as_user(account).get("/auth/welcome"))
    assert "Register as a patient" not in welcome  # not taken for a new account
    assert "The administrator declined your request" in welcome
    again = admin.post(f"/admin/requests/{address}/decline", follow_redirects=True)  # a double click, a 2nd tab
    assert "is declined" in text(again)


def test_a_registered_provider_cannot_be_declined(admin, people, stack):
    refused = admin.post(f"/admin/requests/{people.doctor.address}/decline", follow_redirects=True)
    assert "Not declined: Dr. Alice Chen is registered on chain: suspend them instead" in text(refused)
    entry = ProviderDirectory(stack[1].directory).get(people.doctor.address)
    assert entry.registered and not entry.declined
    unknown = admin.post(f"/admin/requests/{Account.create().address}/decline", follow_redirects=True)
    assert "has not asked to be registered" in text(unknown)
    assert "is not a valid applicant address" in text(admin.post("/admin/requests/0x12/decline",
                                                                 follow_redirects=True))


def test_the_directory_declines_requests_only_and_registering_clears_the_mark(tmp_path):
    account = Account.create()
    entry = provider_entry(account.address, "Dr. Test", "doctor", crypto.public_key_of(account.key))
    directory = ProviderDirectory(tmp_path / "providers.json")
    directory.add(entry)
    assert directory.decline(account.address).declined and directory.requests() == []
    directory.file_registered(entry)  # the admin changed their mind
    filed = ProviderDirectory(directory.path).get(account.address)
    assert filed.registered and not filed.declined
    with pytest.raises(InvalidInput, match="is registered: suspend them instead"):
        directory.decline(account.address)
    with pytest.raises(InvalidInput, match="has not asked to be registered"):
        directory.decline(Account.create().address)


def test_only_the_administrator_declines_and_only_with_the_token(admin, as_user, people, patient, stack):
    address = applicant(stack, "Dr. Grace Ito").address
    for user in (as_user(patient), as_user(people.doctor), as_user(people.hospital)):
        assert user.post(f"/admin/requests/{address}/decline").location == "/auth/"
    forged = admin.post(f"/admin/requests/{address}/decline", csrf=False)
    assert forged.status_code == 400 and "sent from another site" in text(forged)
    assert address in [entry.address for entry in ProviderDirectory(stack[1].directory).requests()]
    assert f"/admin/requests/{address}/decline" in text(admin.get("/admin/"))


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
