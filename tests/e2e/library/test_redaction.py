"""Redacted copies (extraction signatures): every redaction of a signed record verifies; an
altered, added or repeated element, a digest dropped from the signed list or another author each
fail; a copy never passes as the whole record or as an ordinary signed record. Then the flows on
the chain: sharing, reading as the chosen doctor, readers left out, rotation, older records."""

import dataclasses
import itertools
import json

import pytest
from eth_account import Account
from eth_utils import keccak
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.carechain import crypto, envelope, redaction
from app.carechain.errors import AccessDenied, IntegrityError, InvalidInput
from app.carechain.records import Category, Record, condition, document
from app.carechain.redaction import Disclosure, RedactedCopy
from app.carechain.summaries import Summary
from tests.e2e.clinic_resources import NARRATIVE, PSYCHIATRIC, discharge_summary, version_2_record
from tests.e2e.helpers import days_from_now, pulse

DOMAIN = {"name": "CareChain", "version": "1", "chainId": 1337, "verifyingContract": "0x" + "ab" * 20}
AUTHOR = Account.create()
PATIENT = Account.create()
SEED = bytes(range(32))
def signed_record(record: Record, author=AUTHOR, patient=PATIENT) -> redaction.Disclosable:
    """The record's disclosures under the author's signature, as a version 3 envelope seals them."""
    signed = redaction.Signed(patient.address, author.address, int(record.category), record.created_at,
                              record.resource_type)
    block = redaction.seal_disclosable(DOMAIN, author.key, signed, record.resource, record.attachment, SEED)
    header = envelope.Header(patient.address, author.address, int(record.category), record.created_at, bytes(12), {},
                             bytes(17), envelope.DISCLOSABLE_VERSION)
    return redaction.open_disclosable(DOMAIN, header, record.resource_json, record.attachment, block)


RECORD = Record.from_fhir(discharge_summary(PATIENT.address), created_at=1_790_000_000)
SIGNED = signed_record(RECORD)
PATHS = [disclosure.path for disclosure in SIGNED.disclosures]


def reread(copy: RedactedCopy) -> RedactedCopy:
    """The copy as a recipient parses it from the stored bytes."""
    return RedactedCopy.from_json(copy.to_json())


def replace_disclosure(copy: RedactedCopy, index: int, **changes) -> RedactedCopy:
    shown = list(copy.disclosures)
    shown[index] = dataclasses.replace(shown[index], **changes)
    return dataclasses.replace(copy, disclosures=tuple(shown))


def test_the_elements_are_the_top_level_ones_each_array_item_on_its_own():
    assert sorted(PATHS) == ["author[0]", "date", "section[0]", "section[1]", "status", "subject", "title", "type"]
    labels = {disclosure.path: disclosure.label for disclosure in SIGNED.disclosures}
    assert labels["section[1]"] == "section: Psychiatric history" and labels["status"] == "status: final"


def test_every_redaction_of_a_signed_record_verifies():
    """All 254 ways to withhold some but not all of the 8 elements."""
    for count in range(1, len(PATHS)):
        for withheld in itertools.combinations(PATHS, count):
            verified = redaction.verify_copy(DOMAIN, reread(SIGNED.cut(set(withheld))), b"")
            assert verified.withheld == count and verified.author == AUTHOR.address
            assert {d.path for d in verified.shown} == set(PATHS) - set(withheld)
            assert verified.verdict.startswith(f"{count} element{'s' * (count != 1)} withheld by the patient")


def test_a_copy_reveals_nothing_withheld():
    copy = SIGNED.cut({"section[1]"})
    withheld_salt = next(d.salt for d in SIGNED.disclosures if d.path == "section[1]")
    assert PSYCHIATRIC.encode() not in copy.to_json() and withheld_salt.encode() not in copy.to_json()
    verified = redaction.verify_copy(DOMAIN, reread(copy), b"")
    assert verified.record.resource["section"] == [discharge_summary(PATIENT.address)["section"][0]]
    assert verified.record.title == "Redacted copy of Discharge summary: Admission for pneumonia"
    assert verified.verdict == "1 element withheld by the patient, the rest verified"


def test_salts_are_128_bits_per_element_and_per_record():
    salts = [disclosure.salt for disclosure in SIGNED.disclosures]
    assert all(len(bytes.fromhex(salt)) == 16 for salt in salts) and len(set(salts)) == len(salts)
    assert redaction.salt_of(SEED, "status") != redaction.salt_of(bytes(32), "status")


@pytest.mark.parametrize("path", PATHS)
def test_altering_any_shown_value_fails(path):
    copy = SIGNED.cut({p for p in PATHS if p != path})
    for altered in ("altered", {"text": "altered"}, None):
        with pytest.raises(IntegrityError, match="not one its author signed"):
            redaction.verify_copy(DOMAIN, reread(replace_disclosure(copy, 0, value=altered)), b"")


def test_a_shown_element_under_another_path_or_salt_fails():
    copy = SIGNED.cut({"section[1]"})
    index = next(i for i, d in enumerate(copy.disclosures) if d.path == "section[0]")
    for changes in ({"path": "section[1]"}, {"salt": "00" * 16}):
        with pytest.raises(IntegrityError, match="not one its author signed"):
            redaction.verify_copy(DOMAIN, reread(replace_disclosure(copy, index, **changes)), b"")


def test_adding_an_element_fails():
    copy = SIGNED.cut({"section[1]"})
    for added in (Disclosure("11" * 16, "section[1]", {"title": "Psychiatric history", "text": NARRATIVE}),
                  Disclosure("11" * 16, "language", "en")):
        with pytest.raises(IntegrityError, match="not one its author signed"):
            redaction.verify_copy(DOMAIN, reread(dataclasses.replace(copy, disclosures=copy.disclosures + (added,))),
                                  b"")


def test_adding_a_digest_for_an_added_element_fails():
    """An added element with its digest added to the list: the author's signature no longer covers the list."""
    copy = SIGNED.cut({"section[1]"})
    added = Disclosure("11" * 16, "language", "en")
    forged = dataclasses.replace(copy, disclosures=copy.disclosures + (added,),
                                 digests=tuple(sorted(copy.digests + (added.digest,))))
    with pytest.raises(IntegrityError, match="not by its stated author"):
        redaction.verify_copy(DOMAIN, reread(forged), b"")


def test_showing_an_element_twice_fails():
    copy = SIGNED.cut({"section[1]"})
    with pytest.raises(IntegrityError, match="twice"):
        redaction.verify_copy(DOMAIN, reread(dataclasses.replace(copy, disclosures=copy.disclosures * 2)), b"")


def test_dropping_a_digest_from_the_signed_list_fails():
    """A copy cannot hide that something was withheld: the count comes from the signed list."""
    copy = SIGNED.cut({"section[1]"})
    shown = {d.digest for d in copy.disclosures}
    complete_looking = dataclasses.replace(copy, digests=tuple(d for d in copy.digests if d in shown))
    with pytest.raises(IntegrityError, match="not by its stated author"):
        redaction.verify_copy(DOMAIN, reread(complete_looking), b"")


def test_changing_the_author_fails():
    copy = SIGNED.cut({"section[1]"})
    for author in (PATIENT.address, Account.create().address):
        with pytest.raises(IntegrityError, match="not by its stated author"):
            redaction.verify_copy(DOMAIN, reread(dataclasses.replace(
                copy, signed=dataclasses.replace(copy.signed, author=author))), b"")


@pytest.mark.parametrize("field, value", [("patient", Account.create().address), ("category", 2),
                                          ("created_at", 1), ("resource_type", "Encounter")])
def test_changing_any_signed_field_fails(field, value):
    copy = SIGNED.cut({"section[1]"})
    with pytest.raises(IntegrityError):
        redaction.verify_copy(DOMAIN, reread(dataclasses.replace(
            copy, signed=dataclasses.replace(copy.signed, **{field: value}))), b"")


def test_a_copy_cannot_pass_as_an_ordinary_signed_record():
    """Its content is no FHIR resource, and its signature is no Record signature of any body."""
    copy = SIGNED.cut({"section[1]"})
    with pytest.raises(InvalidInput, match="not supported"):
        Record.from_fhir(copy.to_json())
    root = redaction.digests_root(copy.digests)
    assert crypto.record_signer(DOMAIN, copy.signature, PATIENT.address, AUTHOR.address, int(RECORD.category),
                                RECORD.created_at, root) != AUTHOR.address
    assert redaction.is_copy(copy.to_json()) and not redaction.is_copy(RECORD.resource_json)


def test_only_a_copy_showing_everything_says_nothing_was_withheld():
    whole = RedactedCopy(SIGNED.signed, tuple(sorted(d.digest for d in SIGNED.disclosures)), SIGNED.disclosures,
                         SIGNED.signature)
    assert redaction.verify_copy(DOMAIN, reread(whole), b"").verdict.startswith("0 elements withheld")


@pytest.mark.parametrize("withheld, message", [(set(), "at least one part to withhold"),
                                               (set(PATHS), "withhold everything"),
                                               ({"section[2]"}, "no element section"),
                                               ({"status", "resourceType"}, "no element resourceType")])
def test_a_cut_that_withholds_nothing_everything_or_an_unknown_element_is_refused(withheld, message):
    with pytest.raises(InvalidInput, match=message):
        SIGNED.cut(withheld)


def test_the_attached_file_is_one_element_by_its_hash():
    record = document(PATIENT.address, "Referral letter", b"Dear colleague", "text/plain", created_at=1_790_000_000)
    signed = signed_record(record)
    assert "attachment" in [d.path for d in signed.disclosures]
    shown = redaction.verify_copy(DOMAIN, reread(signed.cut({"description"})), b"Dear colleague")
    assert shown.record.attachment == b"Dear colleague" and shown.record.content_type == "text/plain"
    assert redaction.verify_copy(DOMAIN, reread(signed.cut({"attachment"})), b"").record.attachment == b""
    for attachment, copy in ((b"Dear colleague!", signed.cut({"description"})),
                             (b"Dear colleague", signed.cut({"attachment"}))):
        with pytest.raises(IntegrityError, match="attached file is not the one"):
            redaction.verify_copy(DOMAIN, reread(copy), attachment)


def test_a_shown_element_must_be_valid_fhir_of_its_type():
    for disclosure, message in ((Disclosure("00" * 16, "status", 5), "not valid FHIR"),
                                (Disclosure("00" * 16, "section[0]", {"title": 5}), "not valid FHIR"),
                                (Disclosure("00" * 16, "bogus", "x"), "no element bogus"),
                                (Disclosure("00" * 16, "attachment", "not a hash"), "not a SHA-256")):
        with pytest.raises(IntegrityError, match=message):
            redaction.check_element("Composition", disclosure)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=12))
def test_any_json_parses_as_a_copy_or_is_refused_as_damaged(value):
    raw = json.dumps(value).encode()
    for candidate in (raw, json.dumps({**json.loads(SIGNED.cut({"status"}).to_json()), "digests": value}).encode()):
        try:
            RedactedCopy.from_json(candidate)
        except IntegrityError:
            pass


# On the chain: the patient shares a doctor's discharge summary without its psychiatric history.


@pytest.fixture
def summary_by_doctor(carechain, people, patient):
    """A discharge summary the doctor wrote under a grant of documents (read and add) and shared copies;
    the colleague may read shared copies only."""
    carechain.grant(patient, people.doctor.address, [Category.DOCUMENTS, Category.SHARED], True,
                    days_from_now(carechain, 5))
    carechain.grant(patient, people.colleague.address, [Category.SHARED], False, days_from_now(carechain, 5))
    return carechain.add_record(people.doctor, patient.address, Record.from_fhir(discharge_summary(patient.address)))


def test_a_retried_upload_seals_the_same_redactable_envelope(carechain, patient):
    """The salt seed and both signatures are derived, not drawn: the retry finds its entry indexed."""
    record = Record.from_fhir(discharge_summary(patient.address), created_at=1_790_000_000)
    first = carechain.add_record(patient, patient.address, record)
    count = carechain.participant(patient.address).record_count
    assert carechain.add_record(patient, patient.address, record).digest == first.digest
    assert carechain.participant(patient.address).record_count == count
    assert envelope.decode_header(carechain.store.get(first.digest)).version == envelope.DISCLOSABLE_VERSION


def test_the_chosen_doctor_reads_the_rest_verified_and_how_much_was_withheld(carechain, people, patient,
                                                                             summary_by_doctor):
    elements = carechain.disclosable_elements(patient, summary_by_doctor.digest)
    assert "section: Psychiatric history" in [element.label for element in elements]
    copy = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"}, [people.colleague.address])
    assert (copy.author, copy.category) == (patient.address, Category.SHARED)
    opened = carechain.read_record(people.colleague, patient.address, copy.digest)
    with pytest.raises(AccessDenied, match="does not cover documents records"):  # the copy, never the original
        carechain.read_record(people.colleague, patient.address, summary_by_doctor.digest)
    assert (opened.author, opened.author_role, opened.redacted.withheld) == (people.doctor.address, "doctor", 1)
    assert opened.record.title == "Redacted copy of Discharge summary: Admission for pneumonia"
    assert PSYCHIATRIC not in json.dumps(opened.record.resource)
    assert [d.path for d in opened.redacted.shown if d.path.startswith("section")] == ["section[0]"]
    assert PSYCHIATRIC.encode() not in carechain.store.get(copy.digest)


def test_a_copy_is_listed_under_its_title_and_left_out_for_readers_it_was_not_shared_with(
        carechain, people, patient, summary_by_doctor):
    copy = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"}, [people.colleague.address])
    (listed,) = [row for row in carechain.list_records(people.colleague, patient.address).records
                 if row.entry.digest == copy.digest]
    assert listed.summary.title.startswith("Redacted copy of") and listed.problem is None
    listed = carechain.list_records(people.doctor, patient.address).records
    assert copy.digest not in [row.entry.digest for row in listed]
    with pytest.raises(AccessDenied, match="not been delivered"):
        carechain.read_record(people.doctor, patient.address, copy.digest)


def test_sharing_the_same_copy_again_stores_it_once(carechain, people, patient, summary_by_doctor):
    first = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]", "author[0]"})
    count = carechain.participant(patient.address).record_count
    again = carechain.share_redacted(patient, summary_by_doctor.digest, {"author[0]", "section[1]"})
    assert again.digest == first.digest and carechain.participant(patient.address).record_count == count


def test_recipients_must_be_readers_of_the_category(carechain, people, patient, summary_by_doctor):
    count = carechain.participant(patient.address).record_count
    for recipients, message in (([people.outsider.address], "may not read your shared copies"),
                                ([], "choose at least one"), (["0x123"], "not a valid recipient address")):
        with pytest.raises(InvalidInput, match=message):
            carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"}, recipients)
    assert carechain.participant(patient.address).record_count == count


def test_a_copy_cannot_be_redacted_again(carechain, people, patient, summary_by_doctor):
    copy = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"})
    with pytest.raises(InvalidInput, match="redacted copy already"):
        carechain.share_redacted(patient, copy.digest, {"title"})


def test_a_copy_replayed_as_the_doctors_ordinary_record_fails(carechain, people, patient, summary_by_doctor):
    """The patient publishes the copy's content under the doctor's name with the doctor's
    disclosable signature: it is no signature of that body."""
    copy = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"})
    content = carechain.read_record(patient, patient.address, copy.digest).redacted.copy
    payload, _ = envelope.pack_payload(content.signature, content.to_json(), b"")
    fields = dict(patient=patient.address, author=people.doctor.address, category=int(Category.SHARED),
                  created_at=content.signed.created_at)
    data = carechain._encrypt(patient.key, b"replay", fields, payload, {patient.address, people.colleague.address},
                              Summary("Discharge summary", "2026-10-05", "Composition").to_bytes())
    digest = carechain.store.put(data)
    carechain.chain.transact(patient, "addRecord", patient.address, digest, int(Category.SHARED))
    with pytest.raises(IntegrityError, match="not by its stated author"):
        carechain.read_record(people.colleague, patient.address, digest)


def test_a_tampered_copy_stored_by_the_patient_fails_for_its_reader(carechain, people, patient, summary_by_doctor):
    copy = carechain.read_record(patient, patient.address, carechain.share_redacted(
        patient, summary_by_doctor.digest, {"section[1]"}).digest).redacted.copy
    tampered = replace_disclosure(copy, 0, value={"reference": "Practitioner/someone-else"})
    content = tampered.to_json()
    body = envelope.body_of(content, b"")
    signature = crypto.sign_record(carechain.domain, patient.key, patient.address, patient.address,
                                   int(Category.SHARED), copy.signed.created_at, keccak(body))
    payload, _ = envelope.pack_payload(signature, content, b"")
    fields = dict(patient=patient.address, author=patient.address, category=int(Category.SHARED),
                  created_at=copy.signed.created_at)
    data = carechain._encrypt(patient.key, b"tampered", fields, payload, {patient.address, people.colleague.address},
                              Summary("Redacted copy", "2026-10-05", "Composition").to_bytes())
    digest = carechain.store.put(data)
    carechain.chain.transact(patient, "addRecord", patient.address, digest, int(Category.SHARED))
    with pytest.raises(IntegrityError, match="not one its author signed"):
        carechain.read_record(people.colleague, patient.address, digest)


def test_a_later_grant_delivers_the_copy_too(carechain, people, patient, summary_by_doctor):
    """A later grant of shared copies delivers the copies there are (documented: the patient chose
    to share them, and each is less than its original)."""
    copy = carechain.share_redacted(patient, summary_by_doctor.digest, {"section[1]"}, [people.colleague.address])
    carechain.grant(patient, people.outsider.address, [Category.SHARED], False, days_from_now(carechain, 1))
    assert carechain.read_record(people.outsider, patient.address, copy.digest).redacted.withheld == 1


def test_a_rotation_keeps_a_record_redactable(carechain, people, patient, summary_by_doctor):
    carechain.grant(patient, people.outsider.address, [Category.DOCUMENTS], False, days_from_now(carechain, 1))
    carechain.revoke(patient, people.outsider.address)  # re-encrypts the documents
    (current,) = [entry for entry in carechain.all_records(patient.address) if entry.origin == summary_by_doctor.origin]
    assert current.digest != summary_by_doctor.digest
    assert envelope.decode_header(carechain.store.get(current.digest)).version == envelope.DISCLOSABLE_VERSION
    copy = carechain.share_redacted(patient, current.digest, {"section[1]"})
    assert carechain.read_record(people.colleague, patient.address, copy.digest).redacted.author == people.doctor.address


def test_records_without_disclosures_cannot_be_redacted(carechain, people, patient):
    vitals = carechain.add_record(patient, patient.address, pulse(patient))
    with pytest.raises(InvalidInput, match="vitals records cannot"):
        carechain.share_redacted(patient, vitals.digest, {"status"})
    older = version_2_record(carechain, patient, patient, condition(patient.address, "Asthma"))
    assert carechain.read_record(patient, patient.address, older).disclosable is None
    with pytest.raises(InvalidInput, match="written before"):
        carechain.disclosable_elements(patient, older)

