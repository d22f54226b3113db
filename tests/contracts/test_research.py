"""Research: the admin (CareChain's owner, handover included) registers institutions, names the
steward and sets each dataset's budget and minimum cohort; registered patients opt in and out; an
institution's query is charged to the dataset's budget at submission, refused when the budget is
short; the steward alone answers or refuses a pending query, once."""

import brownie
import eth_abi
import pytest
from brownie import Research, accounts
from brownie.exceptions import decode_typed_error
from conftest import CONDITIONS, LABS, MEDICATIONS, VITALS, digest, mask, public_key
from eth_utils import function_signature_to_4byte_selector

CONTRIBUTION = digest("sealed contribution")
QUERY = digest("query json")
RESULT = digest("result json")
EPSILON = 1_000_000  # one epsilon, in micro-epsilon
PENDING, ANSWERED, REFUSED = 1, 2, 3


def research_error(name: str, *args) -> str:
    """The revert message brownie gives for Research's custom error `name` with `args`."""
    (error,) = [item for item in Research.abi if item["type"] == "error" and item["name"] == name]
    types = [i["type"] for i in error["inputs"]]
    values = [str(a) if hasattr(a, "address") else a for a in args]
    selector = function_signature_to_4byte_selector(f"{name}({','.join(types)})")
    return decode_typed_error("0x" + (selector + eth_abi.encode(types, values)).hex())


@pytest.fixture(scope="module")
def steward():
    return accounts[9]


@pytest.fixture(scope="module")
def institution(people):
    return people.stranger


@pytest.fixture(scope="module")
def research(registered, people, steward, institution):
    """Research beside the `registered` deployment: an institution, a steward, and a policy for
    conditions of 3 epsilon and a minimum cohort of 5."""
    research = Research.deploy(registered, {"from": people.admin})
    research.registerInstitution(institution, {"from": people.admin})
    research.setSteward(steward, public_key(steward), {"from": people.admin})
    research.setDatasetPolicy(CONDITIONS, 3 * EPSILON, 5, {"from": people.admin})
    return research


def submit(research, institution, dataset=CONDITIONS, epsilon=EPSILON, query=QUERY):
    return research.submitQuery(dataset, query, epsilon, {"from": institution})


def test_the_admin_registers_suspends_and_reinstates_institutions(research, people):
    other = accounts[10]
    tx = research.registerInstitution(other, {"from": people.admin})
    assert tx.events["InstitutionRegistered"]["institution"] == other
    assert tuple(research.institutionOf(other))[:2] == (True, False)
    assert tuple(research.institutionOf(other))[2] == tx.timestamp
    assert research.suspendInstitution(other, {"from": people.admin}).events["InstitutionSuspended"]["institution"] == other
    assert tuple(research.institutionOf(other))[:2] == (True, True)
    with brownie.reverts(research_error("ResearchInstitutionSuspended", other)):
        research.suspendInstitution(other, {"from": people.admin})
    with brownie.reverts(research_error("ResearchInstitutionSuspended", other)):
        submit(research, other)
    research.reinstateInstitution(other, {"from": people.admin})
    with brownie.reverts(research_error("ResearchInstitutionNotSuspended", other)):
        research.reinstateInstitution(other, {"from": people.admin})
    assert submit(research, other).return_value == 1


def test_institutions_are_checked(research, people, institution):
    with brownie.reverts(research_error("ResearchAlreadyRegistered", institution)):
        research.registerInstitution(institution, {"from": people.admin})
    for participant in (people.patient, people.doctor, people.hospital, "0x" + "00" * 20):
        with brownie.reverts(research_error("ResearchInvalidInstitution", participant)):
            research.registerInstitution(participant, {"from": people.admin})
    for unknown in (people.admin, accounts[11]):
        with brownie.reverts(research_error("ResearchNotAnInstitution", unknown)):
            research.suspendInstitution(unknown, {"from": people.admin})
        with brownie.reverts(research_error("ResearchNotAnInstitution", unknown)):
            submit(research, unknown)


def test_only_the_admin_administers(research, people, steward, institution):
    for account in (people.doctor, people.patient, institution, steward):
        for call in (lambda: research.registerInstitution(accounts[12], {"from": account}),
                     lambda: research.suspendInstitution(institution, {"from": account}),
                     lambda: research.reinstateInstitution(institution, {"from": account}),
                     lambda: research.setSteward(steward, public_key(steward), {"from": account}),
                     lambda: research.setDatasetPolicy(VITALS, EPSILON, 1, {"from": account})):
            with brownie.reverts(research_error("ResearchNotAdmin", account)):
                call()


def test_the_admin_handover_carries_over(registered, research, people):
    registered.transferOwnership(people.outsider, {"from": people.admin})
    research.setDatasetPolicy(VITALS, EPSILON, 1, {"from": people.admin})  # not accepted yet
    registered.acceptOwnership({"from": people.outsider})
    with brownie.reverts(research_error("ResearchNotAdmin", people.admin)):
        research.setDatasetPolicy(VITALS, EPSILON, 1, {"from": people.admin})
    tx = research.setDatasetPolicy(VITALS, 2 * EPSILON, 7, {"from": people.outsider})
    assert tx.events["DatasetPolicySet"] == {"dataset": VITALS, "budget": 2 * EPSILON, "minCohort": 7}


def test_the_steward_and_its_key(research, people, steward):
    assert research.steward() == steward
    other = accounts[13]
    tx = research.setSteward(other, public_key(other), {"from": people.admin})
    assert tx.events["StewardSet"] == {"steward": other, "publicKey": "0x" + public_key(other).hex()}
    assert research.steward() == other
    for address, key in ((other, public_key(steward)), (other, public_key(other)[:63]), ("0x" + "00" * 20, bytes(64))):
        with brownie.reverts(research_error("ResearchInvalidPublicKey")):
            research.setSteward(address, key, {"from": people.admin})


def test_patients_opt_in_and_out(research, people, steward):
    tx = research.setContribution(mask(CONDITIONS, LABS), CONTRIBUTION, {"from": people.patient})
    assert tx.events["ContributionSet"] == {"patient": people.patient, "categories": mask(CONDITIONS, LABS),
                                            "contribution": "0x" + CONTRIBUTION.hex()}
    assert tuple(research.contributionOf(people.patient)) == (steward, mask(CONDITIONS, LABS), tx.timestamp,
                                                        "0x" + CONTRIBUTION.hex())
    tx = research.setContribution(0, bytes(32), {"from": people.patient})
    assert tx.events["ContributionSet"]["categories"] == 0
    assert tuple(research.contributionOf(people.patient)) == ("0x" + "00" * 20, 0, tx.timestamp, "0x" + "00" * 32)


def test_a_contribution_is_checked(research, people):
    for categories, contribution in ((mask(CONDITIONS), bytes(32)), (0, CONTRIBUTION), (1 << 4, CONTRIBUTION),
                                     (mask(MEDICATIONS) | 0x80, CONTRIBUTION)):
        with brownie.reverts(research_error("ResearchInvalidContribution", categories, contribution)):
            research.setContribution(categories, contribution, {"from": people.patient})
    for account in (people.doctor, people.hospital, people.stranger):
        with brownie.reverts(research_error("ResearchNotAPatient", account)):
            research.setContribution(mask(VITALS), CONTRIBUTION, {"from": account})


def test_no_contribution_without_a_steward(registered, people):
    research = Research.deploy(registered, {"from": people.admin})
    with brownie.reverts(research_error("ResearchNoSteward")):
        research.setContribution(mask(VITALS), CONTRIBUTION, {"from": people.patient})
    research.setContribution(0, bytes(32), {"from": people.patient})  # opting out needs none


def test_a_query_is_charged_at_submission(research, institution):
    tx = submit(research, institution, epsilon=EPSILON // 2)
    assert tx.return_value == 1
    assert tx.events["QuerySubmitted"] == {"id": 1, "institution": institution, "dataset": CONDITIONS,
                                           "query": "0x" + QUERY.hex(), "epsilon": EPSILON // 2}
    assert tuple(research.datasetOf(CONDITIONS)) == (3 * EPSILON, EPSILON // 2, 5)
    assert tuple(research.queryOf(1)) == (institution, CONDITIONS, PENDING, 0, EPSILON // 2, tx.timestamp,
                                   "0x" + QUERY.hex(), "0x" + "00" * 32)
    assert submit(research, institution).return_value == 2
    assert research.queryCount() == 2
    assert tuple(research.datasetOf(CONDITIONS))[1] == EPSILON * 3 // 2


def test_an_exhausted_budget_refuses(research, institution):
    submit(research, institution, epsilon=2 * EPSILON)
    with brownie.reverts(research_error("ResearchBudgetExhausted", CONDITIONS, EPSILON)):
        submit(research, institution, epsilon=EPSILON + 1)
    submit(research, institution, epsilon=EPSILON)  # exactly what is left
    with brownie.reverts(research_error("ResearchBudgetExhausted", CONDITIONS, 0)):
        submit(research, institution, epsilon=1)
    with brownie.reverts(research_error("ResearchBudgetExhausted", VITALS, 0)):  # no policy: no budget
        submit(research, institution, dataset=VITALS)


def test_budgets_are_raised_never_below_spent(research, people, institution):
    submit(research, institution, epsilon=2 * EPSILON)
    with brownie.reverts(research_error("ResearchBudgetBelowSpent", CONDITIONS, 2 * EPSILON)):
        research.setDatasetPolicy(CONDITIONS, 2 * EPSILON - 1, 5, {"from": people.admin})
    research.setDatasetPolicy(CONDITIONS, 2 * EPSILON, 5, {"from": people.admin})
    with brownie.reverts(research_error("ResearchBudgetExhausted", CONDITIONS, 0)):
        submit(research, institution)
    research.setDatasetPolicy(CONDITIONS, 10 * EPSILON, 5, {"from": people.admin})
    submit(research, institution, epsilon=8 * EPSILON)
    assert tuple(research.datasetOf(CONDITIONS)) == (10 * EPSILON, 10 * EPSILON, 5)


def test_policies_and_queries_are_checked(research, people, institution):
    with brownie.reverts(research_error("ResearchInvalidMinCohort")):
        research.setDatasetPolicy(LABS, EPSILON, 0, {"from": people.admin})
    with brownie.reverts(research_error("ResearchUnknownDataset", 4)):
        research.setDatasetPolicy(4, EPSILON, 1, {"from": people.admin})
    with brownie.reverts(research_error("ResearchUnknownDataset", 4)):
        submit(research, institution, dataset=4)
    with brownie.reverts(research_error("ResearchInvalidQuery")):
        submit(research, institution, epsilon=0)
    with brownie.reverts(research_error("ResearchInvalidQuery")):
        submit(research, institution, query=bytes(32))


def test_the_steward_answers_or_refuses_once(research, institution, steward):
    submit(research, institution)
    submit(research, institution)
    tx = research.answerQuery(1, RESULT, {"from": steward})
    assert tx.events["QueryAnswered"] == {"id": 1, "result": "0x" + RESULT.hex()}
    assert tuple(research.queryOf(1))[2] == ANSWERED and tuple(research.queryOf(1))[7] == "0x" + RESULT.hex()
    tx = research.refuseQuery(2, 1, {"from": steward})
    assert tx.events["QueryRefused"] == {"id": 2, "reason": 1}
    assert tuple(research.queryOf(2))[2:4] == (REFUSED, 1)
    assert tuple(research.datasetOf(CONDITIONS))[1] == 2 * EPSILON  # a refused query stays charged
    for id_ in (1, 2, 3):
        with brownie.reverts(research_error("ResearchQueryNotPending", id_)):
            research.answerQuery(id_, RESULT, {"from": steward})
        with brownie.reverts(research_error("ResearchQueryNotPending", id_)):
            research.refuseQuery(id_, 1, {"from": steward})


def test_only_the_steward_answers(research, people, institution, steward):
    submit(research, institution)
    for account in (people.admin, institution, people.patient):
        with brownie.reverts(research_error("ResearchNotSteward", account)):
            research.answerQuery(1, RESULT, {"from": account})
        with brownie.reverts(research_error("ResearchNotSteward", account)):
            research.refuseQuery(1, 1, {"from": account})
    with brownie.reverts(research_error("ResearchInvalidOutcome")):
        research.answerQuery(1, bytes(32), {"from": steward})
    with brownie.reverts(research_error("ResearchInvalidOutcome")):
        research.refuseQuery(1, 0, {"from": steward})
