"""In Chromium: the patient's menu keeps its everyday links in one line at 1024 px and puts the rest
under "More", a native dropdown that opens by click and by keyboard; at 375 px every link stays on
the screen and can be clicked."""

import pytest

from app.carechain.keystore import Keystore
from tests.e2e.browser.pages import PASSWORD, log_in, screenshot

MORE_LINKS = ["Devices", "Profile", "Key recovery", "Emergency"]

# For each link of the header (and the summary of "More") not inside a closed "More": why it
# cannot be used, if it cannot.
UNREACHABLE = """() => [...document.querySelectorAll("header nav a, header nav summary, header nav button")]
  .filter(element => !element.closest("details:not([open]) > :not(summary)"))
  .map(element => {
    const box = element.getBoundingClientRect();
    const name = element.textContent.trim();
    if (!box.width || !box.height) return name + ": hidden";
    if (box.left < 0 || box.right > innerWidth) return name + ": outside the screen";
    const hit = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
    return hit && element.contains(hit) ? null : name + ": covered";
  }).filter(Boolean)"""

# The vertical centres of the brand and of the menu's items: one line when they all agree.
ROW_CENTRES = """() => [...document.querySelectorAll("header.top > .brand, header.top nav > *")]
  .map(element => element.getBoundingClientRect()).map(box => (box.top + box.bottom) / 2)"""

@pytest.fixture
def logged_in_patient(open_browser, stack, patient):
    """open_browser(width) logged in as a new patient, on the records page."""
    Keystore(stack[1].keystores).import_key(patient.key.hex(), PASSWORD)

    def open_one(width: int):
        page = open_browser(viewport={"width": width, "height": 800})
        log_in(page, patient.address)
        page.wait_for_selector("h1")
        page.goto("/patient/")
        return page
    return open_one


def is_open(page) -> bool:
    return page.evaluate("() => document.querySelector('header nav details.more').open")


def test_the_menu_fits_one_line_at_1024_px_and_more_opens_by_click(logged_in_patient):
    page = logged_in_patient(1024)
    centres = page.evaluate(ROW_CENTRES)
    assert max(centres) - min(centres) < 8, centres
    assert page.evaluate(UNREACHABLE) == []
    for link in MORE_LINKS:
        assert not page.locator("header nav .menu a", has_text=link).is_visible()

    page.click("header nav summary:has-text('More')")
    assert is_open(page)
    assert page.evaluate(UNREACHABLE) == []
    screenshot(page, "menu-more-1024")
    page.click("header nav .menu >> text=Devices")
    page.wait_for_url("**/patient/devices/")
    assert page.evaluate("() => document.querySelector('header nav summary').className") == "current"


def test_more_opens_by_keyboard(logged_in_patient):
    page = logged_in_patient(1024)
    for _ in range(30):  # Tab along the header until "More" has the focus
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.tagName") == "SUMMARY":
            break
    else:
        pytest.fail("the More menu cannot be reached with Tab")
    page.keyboard.press("Enter")
    assert is_open(page)
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.textContent.trim()") == MORE_LINKS[0]
    page.keyboard.press("Enter")
    page.wait_for_url("**/patient/devices/")


def test_every_link_stays_on_a_375_px_screen(logged_in_patient):
    page = logged_in_patient(375)
    assert page.evaluate(UNREACHABLE) == []
    page.click("header nav summary:has-text('More')")
    assert is_open(page)
    assert page.evaluate(UNREACHABLE) == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 375
    screenshot(page, "menu-more-375")
    page.click("header nav .menu >> text=Key recovery")
    page.wait_for_url("**/guardians")
