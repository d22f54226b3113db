"""The demo of `make run` (scripts/demo.py) on a deployment of its own: the accounts, records,
profiles, grant and request the README describes, and a second start that changes nothing."""

import dataclasses
import os

from app.carechain.contributions import Contributions
from app.carechain.flows import CareChain
from app.carechain.research import InstitutionNames
from app.carechain.records import Category
from scripts import demo
from scripts.services import deploy


def test_the_demo_holds_what_the_readme_says_and_starting_again_changes_nothing(stack, tmp_path):
    manifest = tmp_path / "demo-deployment.json"
    deploy("carechain-e2e", {**os.environ, "CARECHAIN_MANIFEST": str(manifest)})
    settings = dataclasses.replace(stack[1], manifest=manifest, keystores=tmp_path / "keystores",
                                   directory=tmp_path / "providers.json")
    logins = demo.ensure(settings)
    names = {name: address for _, name, address in logins}
    assert [label for label, *_ in logins] == ["admin", "hospital", "hospital", "doctor", "doctor", "patient",
                                                 "patient", "researcher"]
    ada, ben, chen, okafor = (names[n] for n in ("Patient Ada", "Patient Ben", "Dr. Alice Chen", "Dr. Bob Okafor"))

    carechain = CareChain.connect(settings)
    try:
        def state():
            return ([carechain.participant(p).record_count for p in (ada, ben)],
                    carechain.grants_of(ada), carechain.grants_of(ben), carechain.requests_to(ben),
                    carechain.emergency_custody(ada), len(carechain.research.queries()),
                    Contributions(carechain).contributors_at(carechain.chain.latest_block()))

        before = state()
        (ada_records, ben_records), ada_grants, ben_grants, requests, custody, queries, contributors = before
        assert ada_records == 4 and ben_records > 0 and ben_grants == []
        (grant,) = ada_grants
        assert grant.grantee == chen and grant.can_write
        assert grant.categories == [Category.VITALS, Category.LABS, Category.CONDITIONS]
        assert 29 * 86400 < grant.expires_at - carechain.now() <= 30 * 86400
        (asked,) = requests
        assert (asked.provider, asked.outcome, asked.categories) == \
            (okafor, "open", [Category.CONDITIONS, Category.MEDICATIONS])
        profiles = carechain.profiles_seen_by(demo.localchain.dev_account(2), [ada])
        assert profiles[ada].name == "Ada Lovelace"
        # Ada's emergency summary: its key in shares for both hospitals, any two opening it.
        assert (custody.threshold, set(custody.custodians)) == (2, {names["St. Mary's Hospital"],
                                                                    names["Riverside Clinic"]})
        summary = carechain.own_emergency_summary(demo.localchain.dev_account(4))
        assert summary.allergies == ("Penicillin (high criticality)",) and summary.blood_type == "A+"
        assert summary.problems == ("Seasonal allergic rhinitis",)

        # Research: Northwind registered and named, the steward, eight contributors, one query waiting.
        northwind = names["Northwind Research Institute"]
        assert carechain.research.institution(northwind) is not None
        assert InstitutionNames(settings.data / "institutions.json").name_of(northwind) == "Northwind Research Institute"
        assert carechain.research.steward()[0] == demo.localchain.dev_account(demo.STEWARD_INDEX).address
        assert len(contributors) == 8 and {ada, ben} <= {c.patient for c in contributors}
        assert all(c.datasets == demo.RESEARCH_DATASETS for c in contributors)
        assert queries == 1 and carechain.research.policy(Category.CONDITIONS).min_cohort == demo.DEMO_MIN_COHORT

        demo.ensure(settings)
        assert state() == before
    finally:
        carechain.close()
