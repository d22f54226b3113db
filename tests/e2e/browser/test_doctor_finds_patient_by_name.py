"""In Chromium: a patient signs up, fills in a profile with a photo and grants Dr. Chen; the doctor
finds the patient by name on the patients list, sees name and age instead of an address, and opens
the patient's records page under that name."""

import secrets
import struct
import zlib
from datetime import date, timedelta

from tests.e2e.browser.pages import click_in_more_menu, grant_doctor, log_in, screenshot, sign_up_patient


def png(size: int = 48) -> bytes:
    """A small real PNG (a teal square), so the photo shows on the pages."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    rows = b"".join(b"\x00" + b"\x1f\x8a\x8a" * size for _ in range(size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def rows_shown(page) -> int:
    return page.evaluate("document.querySelectorAll('table.patients tbody tr').length")


def test_a_doctor_finds_a_patient_by_name(open_browser, logins):
    family = "Quill" + "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(6)).capitalize()
    today = date.today()
    birth_date = today.replace(year=today.year - 36) - timedelta(days=1)

    patient = open_browser()
    address = sign_up_patient(patient)
    click_in_more_menu(patient, "Profile")
    patient.wait_for_selector("text=You have no profile yet")
    patient.fill("#given", "Ada")
    patient.fill("#family", family)
    patient.fill("#birth_date", birth_date.isoformat())
    patient.select_option("#gender", "female")
    patient.fill("#email", "ada@example.org")
    patient.set_input_files("#photo", {"name": "ada.png", "mimeType": "image/png", "buffer": png()})
    patient.click("button:has-text('Save my profile')")
    patient.wait_for_selector("text=Profile saved")
    assert patient.inner_text("#current .patient-name") == f"Ada {family}, 36"
    screenshot(patient, "14-patient-profile")
    grant_doctor(patient, "Dr. Alice Chen", "7")

    doctor = open_browser()
    log_in(doctor, logins.doctor.address)
    doctor.wait_for_selector("h1:has-text('My patients')")
    assert doctor.is_visible(f"text=Ada {family}, 36")  # by name, not only by address
    doctor.fill("#q", family.lower())
    doctor.click("form.search button:has-text('Search')")
    doctor.wait_for_selector("a:has-text('Show all')")
    assert rows_shown(doctor) == 1
    row = doctor.inner_text("table.patients tbody tr")
    assert f"Ada {family}, 36" in row and address in row
    screenshot(doctor, "15-doctor-finds-patient")

    doctor.click(f"a:has-text('Ada {family}, 36')")
    doctor.wait_for_selector(f"h1:has-text('Ada {family}, 36')")
    assert doctor.evaluate("document.querySelector('h1 img.photo').naturalWidth") == 48  # the photo decoded
    assert doctor.is_visible("text=ada@example.org")
    screenshot(doctor, "16-doctor-patient-by-name")

    doctor.click("text=← My patients")
    doctor.fill("#q", "Nobody Atall")
    doctor.click("form.search button:has-text('Search')")
    doctor.wait_for_selector("text=No patient you have access to matches")
    assert rows_shown(doctor) == 0
