"""Prints the gas each CareChain (and Research) operation costs, beside the design's targets and the physical
floor (21,000 per transaction plus 22,100 per storage slot it fills for the first time).

    brownie run scripts/gas_report.py --network carechain-test      (or: make gas-report)

Runs on a fresh deployment on brownie's throw-away test chain.
"""

from brownie import CareChain, Research, accounts, chain
from eth_utils import keccak, to_canonical_address

from app.carechain.settings import VITALS_WINDOW_SECONDS as WINDOW_SECONDS
from scripts import localchain

TX, NEW_SLOT = 21_000, 22_100
DAY = 86400
# Grants and renewals carry the digest of their key bundle: a non-zero one, as in real use.
KEY_BUNDLE = bytes.fromhex("ab" * 32)
SALT = bytes.fromhex("cd" * 32)  # a guardian's salt (see contracts/KeyRecovery.sol)
CHART_RECORDS = 24  # a chart of six hours of 15-minute vitals windows
SENSORS = 10


def guardian_tag(account) -> bytes:
    return keccak(to_canonical_address(account.address) + SALT)


def public_key(account) -> bytes:
    return localchain.public_key(localchain.dev_account(list(accounts).index(account)))


def measure() -> list[tuple[str, int, int | None, int]]:
    """Returns (operation, gas used, target or None, floor) rows."""
    admin, hospital, doctor, colleague, patient, newcomer, device, requester = accounts[:8]
    contract = CareChain.deploy(admin, {"from": admin})
    contract.registerHospital(hospital, public_key(hospital), {"from": admin})
    contract.registerDoctor(doctor, hospital, public_key(doctor), {"from": admin})
    contract.registerDoctor(colleague, hospital, public_key(colleague), {"from": admin})
    expires = chain.time() + 30 * DAY
    institution, steward = accounts[8], accounts[9]
    research = Research.deploy(contract, {"from": admin})
    research.setSteward(steward, public_key(steward), {"from": admin})

    def digest(n: int) -> bytes:
        return n.to_bytes(32, "big")

    steps = [
        ("register patient", lambda: contract.registerPatient(public_key(patient), {"from": patient}), 50_000, 1),
        ("grant (to a doctor)", lambda: contract.grantAccess(doctor, 0b11, True, expires, KEY_BUNDLE, {"from": patient}), 55_000, 1),
        ("grant (to a hospital)", lambda: contract.grantAccess(hospital, 0b1, True, expires, KEY_BUNDLE, {"from": patient}), 55_000, 1),
        ("add record (patient, first)", lambda: contract.addRecord(patient, digest(1), 0, {"from": patient}), 80_000, 1),
        ("add record (patient, later)", lambda: contract.addRecord(patient, digest(2), 0, {"from": patient}), 80_000, 1),
        ("add record (doctor, own grant)", lambda: contract.addRecord(patient, digest(3), 1, {"from": doctor}), 77_000, 1),
        ("add record (doctor, hospital grant)", lambda: contract.addRecord(patient, digest(4), 0, {"from": colleague}), 77_000, 1),
        ("supersede record (patient)", lambda: contract.supersedeRecord(patient, digest(1), digest(5), {"from": patient}), None, 1),
        ("pair a device (patient)", lambda: contract.authorizeDevice(device, public_key(device), {"from": patient}), None, 1),
        ("add record (device, a vitals window)", lambda: contract.addRecord(patient, digest(6), 0, {"from": device}), 80_000, 1),
        ("log a read (doctor, own grant)", lambda: contract.logRead(patient, digest(2), {"from": doctor}), 30_000, 0),
        ("log a read (doctor, hospital grant)", lambda: contract.logRead(patient, digest(2), {"from": colleague}), 30_000, 0),
        (f"log {CHART_RECORDS} reads at once (doctor, own grant)",
         lambda: contract.logReads(patient, [digest(2), digest(6)] * (CHART_RECORDS // 2), {"from": doctor}), None, 0),
        ("acknowledge an alert (doctor, own grant)", lambda: contract.acknowledgeAlert(patient, digest(6), {"from": doctor}), None, 0),
        ("log a listing of two categories (doctor, own grant)", lambda: contract.logListing(patient, 0b11, {"from": doctor}), None, 0),
        ("endorse a record (doctor, own grant)", lambda: contract.endorseRecord(patient, digest(2), {"from": doctor}), None, 1),
        ("endorse a record (hospital)", lambda: contract.endorseRecord(patient, digest(2), {"from": hospital}), None, 1),
        ("dispute record (patient)", lambda: contract.disputeRecord(digest(4), True, {"from": patient}), None, 0),
        ("set profile (patient, first)", lambda: contract.setProfile(digest(7), {"from": patient}), None, 1),
        ("set profile (patient, update)", lambda: contract.setProfile(digest(8), {"from": patient}), None, 0),
        ("renew grant", lambda: contract.renewAccess(doctor, expires + DAY, KEY_BUNDLE, {"from": patient}), None, 0),
        ("narrow grant", lambda: contract.narrowAccess(doctor, 0b1, False, expires, {"from": patient}), None, 0),
        ("revoke grant", lambda: contract.revokeAccess(doctor, {"from": patient}), 30_000, 0),
        ("request access (doctor)", lambda: contract.requestAccess(patient, 0b1, False, 7 * DAY, KEY_BUNDLE, {"from": doctor}), None, 1),
        ("approve a request, granting (patient)", lambda: contract.approveRequest(doctor, 0b1, False, expires, KEY_BUNDLE, {"from": patient}), None, 1),
        ("set emergency summary (patient, first)", lambda: contract.setEmergencySummary(digest(9), digest(10), {"from": patient}), None, 1),
        ("declare an emergency (doctor, window opens at once)", lambda: contract.declareEmergency(patient, KEY_BUNDLE, {"from": doctor}), None, 1),
        ("release an emergency key share (hospital)", lambda: contract.releaseEmergencyShare(patient, doctor, KEY_BUNDLE, {"from": hospital}), None, 0),
        ("set break-glass policy (admin)", lambda: contract.setBreakGlassPolicy(True, {"from": admin}), None, 1),
        ("declare an emergency (doctor, awaiting confirmation)", lambda: contract.declareEmergency(patient, KEY_BUNDLE, {"from": colleague}), None, 1),
        ("confirm an emergency (second doctor)", lambda: contract.confirmEmergency(patient, colleague, {"from": doctor}), None, 0),
        ("register hospital (admin)", lambda: contract.registerHospital(newcomer, public_key(newcomer), {"from": admin}), None, 1),
        ("set an endorsement policy (admin)", lambda: contract.setEndorsementPolicy(1, 2, True, {"from": admin}), None, 1),
        ("suspend provider (admin)", lambda: contract.suspendProvider(colleague, {"from": admin}), None, 0),
        ("revoke a device (patient)", lambda: contract.revokeDevice(device, {"from": patient}), None, 0),
        ("register a research institution (admin)", lambda: research.registerInstitution(institution, {"from": admin}), None, 1),
        ("set a research dataset's budget and minimum cohort (admin)",
         lambda: research.setDatasetPolicy(2, 10_000_000, 10, {"from": admin}), None, 1),
        ("set a research contribution (patient, first)", lambda: research.setContribution(0b1100, digest(11), {"from": patient}), None, 2),
        ("set a research contribution (patient, update)", lambda: research.setContribution(0b0100, digest(12), {"from": patient}), None, 0),
        ("submit a research query (institution)", lambda: research.submitQuery(2, digest(13), 1_000_000, {"from": institution}), None, 2),
        ("answer a research query (steward)", lambda: research.answerQuery(1, digest(14), {"from": steward}), None, 1),
        ("name guardians (patient, 2 registered and 1 printed share)",
         lambda: contract.setGuardians(digest(9), 2, 3, [guardian_tag(doctor), guardian_tag(colleague)],
                                       {"from": patient}), None, 3),
        ("request recovery (a fresh account)",
         lambda: contract.requestRecovery(patient, public_key(requester), {"from": requester}), None, 1),
        ("approve recovery (guardian)",
         lambda: contract.approveRecovery(patient, requester, SALT, digest(10), {"from": doctor}), None, 0),
        ("record recovery (the restored key)", lambda: contract.recordRecovery(requester, {"from": patient}), None, 0),
    ]
    return [(name, step().gas_used, target, TX + slots * NEW_SLOT) for name, step, target, slots in steps]


def table(rows) -> str:
    lines = ["| operation | gas used | target | floor | within target |", "|---|---:|---:|---:|:---:|"]
    for name, gas, target, floor in rows:
        verdict = "-" if target is None else ("yes" if gas <= target else "**no**")
        target_text = "-" if target is None else f"{target:,}"
        lines.append(f"| {name} | {gas:,} | {target_text} | {floor:,} | {verdict} |")
    return "\n".join(lines)


def per_reading(rows) -> str:
    """The gas per device reading: a window's readings share one record (the record's gas does not
    depend on its size, which lives on IPFS)."""
    window_gas = dict((name, gas) for name, gas, _, _ in rows)["add record (device, a vitals window)"]
    readings = SENSORS * WINDOW_SECONDS // 60
    return (f"Device vitals: {SENSORS} sensors reading once a minute, {WINDOW_SECONDS // 60}-minute windows: "
            f"{readings} readings a record, {window_gas / readings:,.0f} gas a reading (target <= 5,000: "
            f"{'met' if window_gas / readings <= 5_000 else 'not met'}).")


def main():
    rows = measure()
    print("\n" + table(rows) + "\n")
    print(per_reading(rows) + "\n")
    print("Access checks (canAccess, canWrite) are view calls: free, and read at most four slots.")
