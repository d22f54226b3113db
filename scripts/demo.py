"""Demo accounts for `make run`: an admin, two hospitals, two doctors and two patients with profiles,
a few records, a grant, a request for access and Ada's emergency summary (whose key the two hospitals
hold in shares), and research: the steward, a research institution, six more patients who with Ada
and Ben contribute to research, and one query; all with the password `demo-password`. Idempotent:
what exists is kept.

The accounts are Ganache's deterministic development accounts (ganache.json's mnemonic), so they
are funded and the same on every machine: for demonstrations only, never for real data.
"""

from app.carechain import crypto
from app.carechain.contributions import Contributions
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.emergency import summary_of
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.profiles import profile_of
from app.carechain.records import Category, Record, condition, document, fhir_datetime, patient_reference
from app.carechain.research import InstitutionNames
from app.carechain.research_stats import Query
from app.carechain.vitals import vital_sign
from app.carechain.settings import Settings
from scripts import localchain

PASSWORD = "demo-password"
FAUCET_INDEX = 9  # funds accounts that sign up in the web app
# (label, development account index, name, role, hospital's index)
PEOPLE = [
    ("admin", 0, "Consortium administrator", "admin", None),
    ("hospital", 1, "St. Mary's Hospital", "hospital", None),
    ("hospital", 6, "Riverside Clinic", "hospital", None),  # the second custodian of emergency summary keys
    ("doctor", 2, "Dr. Alice Chen", "doctor", 1),
    ("doctor", 3, "Dr. Bob Okafor", "doctor", 1),
    ("patient", 4, "Patient Ada", "patient", None),
    ("patient", 5, "Patient Ben", "patient", None),
    ("researcher", 8, "Northwind Research Institute", "researcher", None),
]
STEWARD_INDEX = 7  # the research steward: no login, a service beside the web app (scripts/steward.py)
# Further patients who contribute to research (no logins): index -> family name, birth date, sex, SNOMED CT
# condition, pulse.
DIABETES, HYPERTENSION = ("http://snomed.info/sct", "44054006", "Diabetes mellitus type 2"), (
    "http://snomed.info/sct", "38341003", "Hypertension")
COHORT = {
    10: ("Ashford", "1961-05-02", "female", DIABETES, 74), 11: ("Brook", "1958-11-23", "male", DIABETES, 81),
    12: ("Cole", "1972-01-15", "male", HYPERTENSION, 69), 13: ("Dunn", "1949-08-30", "female", DIABETES, 77),
    14: ("Ellis", "1983-04-09", "female", HYPERTENSION, 66), 15: ("Frost", "1966-12-12", "male", DIABETES, 88),
}
RESEARCH_DATASETS = (Category.VITALS, Category.CONDITIONS)
DEMO_MIN_COHORT = 5  # eight contributors: a histogram of all is answered, a count of the four with diabetes refused
DEMO_QUERY = {"dataset": int(Category.CONDITIONS), "statistic": "histogram", "groupBy": "ageBand", "epsilon": 1.0}
# development account index -> the demo patient's profile (given, family, birth date, sex, phone, e-mail)
PROFILES = {
    4: ("Ada", "Lovelace", "1990-03-14", "female", "+44 20 7946 0958", "ada.lovelace@example.org"),
    5: ("Ben", "Carter", "1954-07-02", "male", "+44 20 7946 0172", ""),
}
REQUEST_REASON = ("You are booked at the cardiology clinic on Friday; I would like to review your conditions and "
                  "medications.")
LETTER = b"Discharge letter\n\nAdmitted for observation; discharged in good health.\n"


def faucet_key() -> str:
    return localchain.dev_account(FAUCET_INDEX).key.hex()


def ensure(settings: Settings) -> list[tuple[str, str, str]]:
    """Creates whatever of the demo is missing; returns (label, name, address) for each login."""
    carechain = CareChain.connect(settings)
    keystore, directory = Keystore(settings.keystores), ProviderDirectory(settings.directory)
    try:
        accounts = {index: localchain.dev_account(index) for _, index, *_ in PEOPLE}
        admin = accounts[0]
        for label, index, name, role, hospital in PEOPLE:
            account = accounts[index]
            if account.address not in keystore:
                keystore.import_key(account.key.hex(), PASSWORD)
            if role in ("hospital", "doctor"):
                entry = provider_entry(account.address, name, role, crypto.public_key_of(account.key))
                if carechain.participant(account.address) is None:
                    enrol(carechain, directory, admin, entry, accounts[hospital].address if hospital else None)
                elif directory.name_of(account.address) != name:
                    directory.file_registered(entry)  # registered before names were marked registered
            if role == "patient" and carechain.participant(account.address) is None:
                carechain.register_patient(account)
                _add_records(carechain, account)
            if role == "patient" and carechain.own_profile(account) is None:
                carechain.write_profile(account, profile_of(account.address, *PROFILES[index]))
            if role == "researcher" and carechain.research.institution(account.address) is None:
                carechain.research.register_institution(admin, account.address)
                InstitutionNames(settings.data / "institutions.json").set(account.address, name)
        ada, chen = accounts[4], accounts[2]
        if carechain.grant_of(ada.address, chen.address).expires_at == 0:
            carechain.grant(ada, chen.address, [0, 1, 2], True, carechain.now() + 30 * 86400)
        ben, okafor = accounts[5], accounts[3]
        if not carechain.requests_to(ben.address):
            carechain.request_access(okafor, ben.address, [2, 3], False, 14 * 86400, REQUEST_REASON)
        if carechain.own_emergency_summary(ada) is None:
            built = carechain.build_emergency_summary(ada)
            carechain.save_emergency_summary(ada, summary_of(
                ada.address, ("Penicillin (high criticality)",) + built.allergies, built.medications, built.problems,
                "A+", (), "Charles Babbage", "friend", "+44 20 7946 0300"))
        _research(carechain, admin, [accounts[4], accounts[5]], accounts[8])
        return [(label, name, accounts[index].address) for label, index, name, *_ in PEOPLE]
    finally:
        carechain.close()


def _add_records(carechain: CareChain, patient) -> None:
    now = carechain.now()
    for record in (
        vital_sign(patient.address, "blood_pressure", (124, 82), now - 7 * 86400),
        vital_sign(patient.address, "pulse", 68, now - 2 * 86400),
        condition(patient.address, "Seasonal allergic rhinitis", now - 86400),
        document(patient.address, "Discharge letter", LETTER, "text/plain", now - 3600),
    ):
        carechain.add_record(patient, patient.address, record)


def _research(carechain: CareChain, admin, patients, institution) -> None:
    """The steward, the demo's minimum cohort, eight contributors and Northwind's first query."""
    research, contributions = carechain.research, Contributions(carechain)
    steward = localchain.dev_account(STEWARD_INDEX)
    if research.steward() is None or research.steward()[0] != steward.address:
        research.set_steward(admin, steward.address, crypto.public_key_of(steward.key))
    for policy in research.policies():
        if policy.min_cohort != DEMO_MIN_COHORT:
            research.set_policy(admin, policy.dataset, policy.budget, DEMO_MIN_COHORT)
    for index, (family, born, sex, (system, code, words), pulse) in COHORT.items():
        patient = localchain.dev_account(index)
        if carechain.participant(patient.address) is None:
            carechain.register_patient(patient)
            carechain.write_profile(patient, profile_of(patient.address, "Demo", family, born, sex))
            carechain.add_record(patient, patient.address, _coded_condition(carechain, patient, system, code, words))
            carechain.add_record(patient, patient.address, vital_sign(patient.address, "pulse", pulse))
        patients.append(patient)
    for patient in patients:
        if contributions.current(patient.address) is None:
            contributions.contribute(patient, RESEARCH_DATASETS)
    if not research.queries(institution=institution.address):
        research.submit(institution, Query.from_json(DEMO_QUERY))


def _coded_condition(carechain: CareChain, patient, system: str, code: str, words: str) -> Record:
    return Record.from_fhir({
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                       "code": "active"}]},
        "code": {"coding": [{"system": system, "code": code, "display": words}], "text": words},
        "subject": patient_reference(patient.address), "recordedDate": fhir_datetime(carechain.now() - 30 * 86400)})
