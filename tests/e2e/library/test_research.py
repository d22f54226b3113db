"""Research queries through the real chain, IPFS and steward: a patient's contribution holds only
de-identified data; opted-out data, data never opted in and categories not opted in are never
counted; an exhausted budget refuses at submission; small cohorts are refused and still charged;
released counts lie within their stated accuracy; every query and its epsilon are on chain, and
each patient sees the queries that used their data.

Tests share one chain, so each uses codes of its own (other tests' contributors never match its
filters) and sets the policy it needs on top of what earlier tests spent. Whether a contributor is
counted is checked through the minimum cohort, whose refusal is exact (no noise)."""

import json
import secrets
from datetime import date

import pytest
from eth_account import Account

from app.carechain.contributions import Contributions
from app.carechain.errors import TransactionFailed
from app.carechain.profiles import profile_of
from app.carechain.records import Category, Record, fhir_datetime, patient_reference
from app.carechain.research import ANSWERED, COHORT_TOO_SMALL, MALFORMED, MICRO, PENDING, REFUSED, canonical
from app.carechain.research_stats import Query
from app.carechain.steward import Steward
from tests.e2e.helpers import pulse

SYSTEM = "urn:test:research"
PULSE = "http://loinc.org|8867-4"


def unique_code() -> str:
    return f"{SYSTEM}|{secrets.token_hex(4)}"


def coded_condition(patient, token: str, words: str = "Shy about it, lives on Baker Street") -> Record:
    system, code = token.split("|")
    return Record.from_fhir({
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": system, "code": code}], "text": words},
        "subject": patient_reference(patient.address),
        "recordedDate": fhir_datetime(1_700_000_000),
    })


@pytest.fixture
def contributions(carechain):
    return Contributions(carechain)


@pytest.fixture
def answering(carechain, steward):
    return Steward(carechain, steward)


def contributor(carechain, contributions, new_patient, code, datasets=(Category.CONDITIONS,)):
    patient = new_patient()
    carechain.add_record(patient, patient.address, coded_condition(patient, code))
    if datasets:
        contributions.contribute(patient, datasets)
    return patient


def policy(carechain, people, dataset, epsilon, min_cohort):
    """The dataset's policy with `epsilon` left to spend and this minimum cohort."""
    spent = carechain.research.policy(dataset).spent
    carechain.research.set_policy(people.admin, dataset, round(spent + epsilon, 6), min_cohort)


def count(code, epsilon=10.0, dataset=Category.CONDITIONS):
    return Query.from_json({"dataset": int(dataset), "statistic": "count", "epsilon": epsilon, "code": code})


def ask(carechain, answering, institution, query):
    """Submits `query`, lets the steward answer, and returns the query as the chain has it then."""
    query_id = carechain.research.submit(institution, query)
    assert dict(answering.answer_pending())[query_id]
    (asked,) = carechain.research.queries(ids=[query_id])
    return asked


def test_a_contribution_holds_only_de_identified_data(carechain, contributions, new_patient, steward, answering):
    patient = new_patient()
    carechain.write_profile(patient, profile_of(patient.address, given="Ada", family="Lovelace",
                                                birth_date=date(1990, 3, 14), gender="female",
                                                phone="+44 20 7946 0001", email="ada@example.org"))
    code = unique_code()
    carechain.add_record(patient, patient.address, coded_condition(patient, code))
    carechain.add_record(patient, patient.address, Record.from_fhir({  # in words only: left out
        "resourceType": "Condition", "code": {"text": "Migraine"}, "subject": patient_reference(patient.address)}))
    for value in (70, 80):
        carechain.add_record(patient, patient.address, pulse(patient, value))

    contributions.contribute(patient, [Category.CONDITIONS, Category.VITALS])

    current = contributions.current(patient.address)
    assert current.datasets == (Category.VITALS, Category.CONDITIONS) and current.steward == steward.address
    seen = contributions.open(steward, current)
    assert seen == contributions.own(patient)  # the patient sees exactly what the steward sees
    assert seen.codes == {Category.CONDITIONS: frozenset({code})}
    assert seen.measures == {Category.VITALS: {PULSE: 75.0}}
    assert seen.sex == "female" and seen.age_band in ("30-39", "40-49")
    plain = json.dumps(seen.to_json())
    for identifying in ("Ada", "Lovelace", "1990", "7946", "example.org", "Baker", "Migraine", patient.address,
                        patient.address.lower()[2:]):
        assert identifying not in plain
    sealed = carechain.store.get(current.digest)
    assert b"Lovelace" not in sealed and code.encode() not in sealed  # sealed, not plain


def test_opted_out_and_never_opted_in_data_is_never_counted(carechain, people, contributions, new_patient,
                                                            institution, answering):
    code = unique_code()
    opted_in = [contributor(carechain, contributions, new_patient, code) for _ in range(3)]
    contributor(carechain, contributions, new_patient, code, datasets=())  # never opted in
    contributor(carechain, contributions, new_patient, code, datasets=(Category.MEDICATIONS,))  # not conditions
    researcher = institution

    policy(carechain, people, Category.CONDITIONS, 40, min_cohort=4)  # 3 contributors match: refused
    refused = ask(carechain, answering, researcher, count(code))
    assert (refused.status, refused.refusal) == (REFUSED, COHORT_TOO_SMALL)

    policy(carechain, people, Category.CONDITIONS, 40, min_cohort=3)
    answered = ask(carechain, answering, researcher, count(code))
    assert answered.status == ANSWERED
    assert abs(answered.result["values"]["count"] - 3) <= 3 * answered.result["accuracy"]["count"]

    contributions.withdraw(opted_in[0])  # opting out takes effect for the next answer
    after = ask(carechain, answering, researcher, count(code))
    assert (after.status, after.refusal) == (REFUSED, COHORT_TOO_SMALL)
    assert contributions.current(opted_in[0].address) is None

    assert [query.id for query in contributions.used_by(opted_in[0].address)] == [answered.id]
    assert answered.id in [query.id for query in contributions.used_by(opted_in[1].address)]


def test_an_exhausted_budget_refuses_at_submission(carechain, people, institution):
    researcher = institution
    policy(carechain, people, Category.LABS, 1.5, min_cohort=1)
    before = carechain.research.policy(Category.LABS)
    carechain.research.submit(researcher, count(unique_code(), epsilon=1, dataset=Category.LABS))
    with pytest.raises(TransactionFailed, match="privacy budget is exhausted: 500000 micro-epsilon left") as refused:
        carechain.research.submit(researcher, count(unique_code(), epsilon=1, dataset=Category.LABS))
    assert refused.value.error_name == "ResearchBudgetExhausted"
    assert carechain.research.policy(Category.LABS).spent == before.spent + 1


def test_a_small_cohort_is_refused_and_still_charged(carechain, people, contributions, new_patient, institution,
                                                     answering):
    code = unique_code()
    contributor(carechain, contributions, new_patient, code)
    researcher = institution
    policy(carechain, people, Category.CONDITIONS, 5, min_cohort=2)
    spent = carechain.research.policy(Category.CONDITIONS).spent
    refused = ask(carechain, answering, researcher, count(code, epsilon=2.5))
    assert (refused.status, refused.refusal_words) == (REFUSED, "fewer contributors match it than the dataset's "
                                                                "minimum cohort")
    assert refused.result is None
    assert carechain.research.policy(Category.CONDITIONS).spent == spent + 2.5


def test_released_counts_lie_within_their_stated_accuracy(carechain, people, contributions, new_patient,
                                                          institution, answering):
    """20 counts at epsilon 1 (accuracy ±3.4 at 95%): each within 4 times its accuracy (each misses
    with probability about 20^-4) and at least 14 within it (fewer: probability about 3e-5)."""
    code = unique_code()
    for _ in range(4):
        contributor(carechain, contributions, new_patient, code)
    researcher = institution
    policy(carechain, people, Category.CONDITIONS, 20, min_cohort=4)
    ids = [carechain.research.submit(researcher, count(code, epsilon=1)) for _ in range(20)]
    answering.answer_pending()
    answered = carechain.research.queries(ids=ids)
    assert [query.status for query in answered] == [ANSWERED] * 20
    errors = [abs(query.result["values"]["count"] - 4) for query in answered]
    accuracy = answered[0].result["accuracy"]["count"]
    assert 3 < accuracy < 4 and all(query.result["epsilon"] == 1 for query in answered)
    assert max(errors) <= 4 * accuracy
    assert sum(error <= accuracy for error in errors) >= 14
    assert all(set(query.result["values"]) == {"count"} for query in answered)  # aggregates only


def test_each_query_and_its_epsilon_are_recorded_on_chain(carechain, people, institution):
    researcher = institution
    policy(carechain, people, Category.VITALS, 2, min_cohort=1)
    query = Query.from_json({"dataset": 0, "statistic": "mean", "epsilon": 0.75, "measure": PULSE,
                             "bounds": [30, 200], "ageBands": ["40-49"]})
    query_id = carechain.research.submit(researcher, query)
    (submitted,) = carechain.research.chain.events("QuerySubmitted", id=query_id)
    assert submitted["args"]["institution"] == researcher.address
    assert submitted["args"]["epsilon"] == 0.75 * MICRO and submitted["args"]["dataset"] == Category.VITALS
    stored = carechain.store.get(bytes(submitted["args"]["query"]))
    assert stored == canonical(query.to_json())  # the canonical JSON, in plain text
    (listed,) = carechain.research.queries(institution=researcher.address)
    assert (listed.id, listed.status, listed.epsilon, listed.query) == (query_id, PENDING, 0.75, query)
    assert listed.description == "Mean of http://loinc.org|8867-4 (values clamped to 30 to 200) in Vitals, aged 40-49"


def test_a_malformed_query_is_refused_with_its_reason(carechain, people, institution, answering):
    researcher = institution
    policy(carechain, people, Category.MEDICATIONS, 2, min_cohort=1)
    digest = carechain.store.put(canonical({"dataset": 3, "statistic": "rows", "epsilon": 1}))
    carechain.research.chain.transact(researcher, "submitQuery", int(Category.MEDICATIONS), digest, MICRO)
    mismatched = carechain.store.put(canonical(count(unique_code(), epsilon=1).to_json()))  # conditions, not these
    carechain.research.chain.transact(researcher, "submitQuery", int(Category.MEDICATIONS), mismatched, MICRO)
    outcomes = dict(answering.answer_pending())
    malformed, mismatch = sorted(carechain.research.queries(institution=researcher.address), key=lambda q: q.id)
    assert (malformed.status, malformed.refusal) == (REFUSED, MALFORMED)
    assert outcomes[malformed.id] == "refused: the query is malformed"
    assert (mismatch.status, mismatch.refusal_words) == (
        REFUSED, "the query's dataset or epsilon differs from what was charged on chain")


def test_only_an_institution_submits(carechain, people, patient):
    outsider = Account.create()
    carechain.fund(people.admin, outsider.address, 1)
    for account in (outsider, patient):
        with pytest.raises(TransactionFailed, match="is not a registered research institution"):
            carechain.research.submit(account, count(unique_code()))
    assert carechain.role_of(outsider.address) == "none"
