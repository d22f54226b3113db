"""Demo accounts for `make run`: an admin, two hospitals, two doctors and two patients with profiles,
a few records, a grant, a request for access and Ada's emergency summary (whose key the two hospitals
hold in shares), all with the password `demo-password`. Idempotent: what exists is kept.

The accounts are Ganache's deterministic development accounts (ganache.json's mnemonic), so they
are funded and the same on every machine: for demonstrations only, never for real data.
"""

from app.carechain import crypto
from app.carechain.directory import ProviderDirectory, enrol, provider_entry
from app.carechain.emergency import summary_of
from app.carechain.flows import CareChain
from app.carechain.keystore import Keystore
from app.carechain.profiles import profile_of
from app.carechain.records import condition, document
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
]
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
