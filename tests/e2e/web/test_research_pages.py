"""Research on the web: a research institution submits a query from a form (budget left and minimum
cohort shown), sees it waiting, then its answer as aggregates with their 95% accuracy, or a refusal
in words; a patient opts in, sees exactly what the steward sees and the queries that used it, and
opts out; the admin registers and suspends institutions, names the steward and sets policies.
Every refusal is in words, never a raw chain error."""

import html
import secrets

import pytest
from eth_account import Account

from app.carechain import crypto
from app.carechain.chain import Chain
from app.carechain.contributions import Contributions
from app.carechain.records import Category, Record, fhir_datetime, patient_reference
from app.carechain.research_stats import Query
from app.carechain.steward import Steward
from tests.e2e.helpers import days_from_now, pulse, text


def page(response) -> str:
    return html.unescape(text(response))


def unique_code() -> str:
    return f"urn:test:research-web|{secrets.token_hex(4)}"


def coded_condition(patient, token):
    system, code = token.split("|")
    return Record.from_fhir({"resourceType": "Condition", "code": {"coding": [{"system": system, "code": code}]},
                             "subject": patient_reference(patient.address), "recordedDate": fhir_datetime(1_700_000_000)})


def policy(carechain, people, dataset, epsilon, min_cohort):
    spent = carechain.research.policy(dataset).spent
    carechain.research.set_policy(people.admin, dataset, round(spent + epsilon, 6), min_cohort)


def count_form(code, epsilon="1"):
    return {"dataset": str(int(Category.CONDITIONS)), "statistic": "count", "group_by": "ageBand", "code": code,
            "sex": "", "epsilon": epsilon}


@pytest.fixture
def answering(carechain, steward):
    return Steward(carechain, steward)


def test_a_researcher_asks_and_sees_only_aggregates(carechain, people, as_user, new_patient, institution, answering):
    code = unique_code()
    for _ in range(2):
        patient = new_patient()
        carechain.add_record(patient, patient.address, coded_condition(patient, code))
        Contributions(carechain).contribute(patient, [Category.CONDITIONS])
    policy(carechain, people, Category.CONDITIONS, 5, min_cohort=2)
    researcher = as_user(institution)

    assert researcher.get("/auth/").headers["Location"].endswith("/research/")
    shown = page(researcher.get("/research/"))
    assert "Research queries" in shown and "Budget left (ε)" in shown and "You have asked nothing yet." in shown

    response = researcher.post("/research/", count_form(code), follow_redirects=True)
    shown = page(response)
    assert "was submitted and its ε charged" in shown and "waiting for the steward" in shown
    assert f"Count of contributors in Conditions, with {code}" in shown

    answering.answer_pending()
    shown = page(researcher.get("/research/"))
    (query,) = carechain.research.queries(institution=institution.address)
    value, accuracy = query.result["values"]["count"], query.result["accuracy"]["count"]
    assert f"<strong>{value}</strong>" in shown and f"± {accuracy:g}" in shown and "95% interval" in shown


def test_a_query_the_form_cannot_make_is_refused_in_words_and_charges_nothing(carechain, people, as_user,
                                                                             institution):
    policy(carechain, people, Category.CONDITIONS, 5, min_cohort=2)
    spent = carechain.research.policy(Category.CONDITIONS).spent
    researcher = as_user(institution)
    response = researcher.post("/research/", {**count_form(unique_code()), "statistic": "histogram",
                                              "group_by": "code", "codes": ""})
    assert response.status_code == 400
    assert "Not submitted: a histogram by code, and only one, lists its codes" in page(response)
    response = researcher.post("/research/", {**count_form("not a code")})
    assert "Not submitted: 'not a code' is not a code written as system|code." in page(response)
    response = researcher.post("/research/", {**count_form(unique_code(), epsilon="11")})
    assert "Epsilon is above 0 and at most 10." in page(response)
    assert carechain.research.policy(Category.CONDITIONS).spent == spent


def test_an_exhausted_budget_is_said_in_words(carechain, people, as_user, institution):
    policy(carechain, people, Category.MEDICATIONS, 0.5, min_cohort=1)
    response = as_user(institution).post("/research/", {**count_form(unique_code()),
                                                        "dataset": str(int(Category.MEDICATIONS))})
    assert response.status_code == 400
    assert "Not submitted: the dataset's privacy budget is exhausted: 500000 micro-epsilon left." in page(response)


def test_a_patient_opts_in_sees_what_is_shared_and_which_queries_used_it(carechain, people, as_user, patient,
                                                                         institution, answering):
    code = unique_code()
    carechain.add_record(patient, patient.address, coded_condition(patient, code))
    me = as_user(patient)
    shown = page(me.get("/research/mine"))
    assert "Opt in" in shown and "No answered query has counted your data." in shown

    response = me.post("/research/mine", {"datasets": [str(int(Category.CONDITIONS))]}, follow_redirects=True)
    shown = page(response)
    assert "Your de-identified data is shared for research." in shown
    assert "Exactly what the steward sees" in shown and code in shown and "unknown" in shown  # no profile

    policy(carechain, people, Category.CONDITIONS, 5, min_cohort=1)
    query_id = carechain.research.submit(institution, Query.from_json(
        {"dataset": 2, "statistic": "count", "epsilon": 0.5, "code": code}))
    answering.answer_pending()
    shown = page(me.get("/research/mine"))
    assert f"Count of contributors in Conditions, with {code}" in shown and ">0.5<" in shown
    assert f"<td data-label=\"#\">{query_id}</td>" in shown

    shown = page(me.post("/research/mine/withdraw", {}, follow_redirects=True))
    assert "You opted out: no later answer counts your data." in shown and "Exactly what the steward sees" not in shown
    assert Contributions(carechain).current(patient.address) is None


def test_a_patient_must_choose_a_category(as_user, patient):
    response = as_user(patient).post("/research/mine", {})
    assert response.status_code == 400 and "Choose at least one category, or opt out." in page(response)


def test_the_admin_registers_and_suspends_an_institution(carechain, people, as_user, steward):
    admin = as_user(people.admin)
    account = Account.create()
    response = admin.post("/research/admin/institutions", {"name": "Westbrook Lab", "address": account.address},
                          follow_redirects=True)
    shown = page(response)
    assert "Westbrook Lab is a research institution." in shown and account.address in shown
    assert carechain.role_of(account.address) == "researcher"

    response = admin.post(f"/research/admin/institutions/{account.address}/suspend", {}, follow_redirects=True)
    assert "Westbrook Lab is suspended: it may submit no query until reinstated." in page(response)
    assert carechain.research.institution(account.address).suspended

    response = admin.post("/research/admin/institutions", {"name": "Again", "address": account.address})
    assert response.status_code == 400 and f"Not registered: {account.address} is already a research institution." \
        in page(response)
    response = admin.post("/research/admin/institutions", {"name": "A doctor", "address": people.doctor.address})
    assert "is a CareChain participant (or no address): it cannot be a research institution." in page(response)


def test_the_admin_names_the_steward_and_sets_policies(carechain, people, as_user, steward):
    admin = as_user(people.admin)
    shown = page(admin.get("/research/admin"))
    assert steward.address in shown and "Minimum cohort" in shown
    response = admin.post("/research/admin/steward", {"address": steward.address, "public_key": "00" * 64})
    assert response.status_code == 400 and "Not changed: the steward's public key does not belong to its address." \
        in page(response)
    response = admin.post("/research/admin/steward", {"address": steward.address, "public_key": "zz"})
    assert "The public key is 64 bytes written in hexadecimal." in page(response)
    response = admin.post("/research/admin/steward", {"address": steward.address,
                                                      "public_key": crypto.public_key_of(steward.key).hex()},
                          follow_redirects=True)
    assert "patients renew their contributions for it" in page(response)

    spent = carechain.research.policy(Category.LABS).spent
    response = admin.post("/research/admin/policies", {"dataset": str(int(Category.LABS)), "budget": str(spent + 3),
                                                       "min_cohort": "7"}, follow_redirects=True)
    assert f"Labs: a budget of ε {spent + 3:g} and a minimum cohort of 7." in page(response)
    if spent:
        response = admin.post("/research/admin/policies", {"dataset": str(int(Category.LABS)), "budget": "0",
                                                           "min_cohort": "7"})
        assert "the budget cannot be set below what queries have already spent" in page(response)


def test_research_pages_are_for_their_roles(as_user, people, patient, institution):
    for user, url in ((as_user(patient), "/research/"), (as_user(institution), "/research/mine"),
                      (as_user(people.doctor), "/research/admin"), (as_user(institution), "/research/admin")):
        response = user.get(url, follow_redirects=True)
        assert "That page is not for your account." in page(response)


def test_the_patient_is_told_when_new_records_would_change_the_contribution(carechain, people, as_user, patient):
    carechain.add_record(patient, patient.address, coded_condition(patient, unique_code()))
    me = as_user(patient)
    me.post("/research/mine", {"datasets": [str(int(Category.CONDITIONS))]})
    assert 'id="new-records"' not in page(me.get("/research/mine"))
    carechain.grant(patient, people.doctor.address, [Category.CONDITIONS], False, days_from_now(carechain, 3))
    assert carechain.revoke(patient, people.doctor.address).rotated  # a re-encryption is no new record
    assert 'id="new-records"' not in page(me.get("/research/mine"))

    later = unique_code()
    carechain.add_record(patient, patient.address, coded_condition(patient, later))
    carechain.add_record(patient, patient.address, pulse(patient, 70))  # Vitals: not contributed
    shown = page(me.get("/research/mine"))
    assert "1 record was added to these categories since: research counts it once you update." in " ".join(
        shown.split())
    assert later not in shown.split("Exactly what the steward sees")[1]

    shown = page(me.post("/research/mine", {"datasets": [str(int(Category.CONDITIONS))]}, follow_redirects=True))
    assert 'id="new-records"' not in shown and later in shown.split("Exactly what the steward sees")[1]


def test_the_patients_research_page_reads_each_log_once(carechain, as_user, patient, steward, monkeypatch):
    """The new-records count and the list of queries that used the data share one read of the
    patient's contributions and one of the stewards' history (the steward's public key is another,
    filtered read)."""
    carechain.add_record(patient, patient.address, coded_condition(patient, unique_code()))
    me = as_user(patient)
    me.post("/research/mine", {"datasets": [str(int(Category.CONDITIONS))]})
    read = []
    original = Chain.events
    monkeypatch.setattr(Chain, "events", lambda chain, event, **indexed: read.append((event, *indexed)) or original(
        chain, event, **indexed))
    assert "Exactly what the steward sees" in page(me.get("/research/mine"))
    assert read.count(("ContributionSet", "patient")) == 1 and read.count(("StewardSet",)) == 1, read
