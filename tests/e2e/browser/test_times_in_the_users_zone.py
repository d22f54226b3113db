"""Times in the user's time zone (static/localtime.js) in headless Chromium: the browser's zone by
default (Asia/Kolkata, UTC+05:30), another chosen at the foot of the page and remembered on the
next page; forms with a date field send the zone; and nothing the page asks for is missing or
refused (the favicon is there, no script or style breaks the Content-Security-Policy)."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from app.carechain.keystore import Keystore
from tests.e2e.browser.pages import PASSWORD, log_in, screenshot
from tests.e2e.helpers import days_from_now, pulse

SHOWN = re.compile(r"(\d{2}) ([A-Z][a-z]{2,3}) (\d{4}), (\d{2}):(\d{2}) (\S+)")
# What Chromium calls each zone: Kolkata has no English abbreviation (its ICU name is the older
# Asia/Calcutta); New York has EST and EDT.
ZONE_NAMES = {"Asia/Kolkata": {"Asia/Kolkata", "Asia/Calcutta"}, "America/New_York": {"EST", "EDT"}}


@pytest.fixture
def patient_with_a_grant(stack, carechain, new_patient, people):
    """A patient who can log in, with a record and a grant to Dr. Chen for three days."""
    patient = new_patient()
    Keystore(stack[1].keystores).import_key(patient.key.hex(), PASSWORD)
    carechain.add_record(patient, patient.address, pulse(patient))
    carechain.grant(patient, people.doctor.address, [0], False, days_from_now(carechain, 3))
    return patient


@pytest.fixture
def watched_browser(open_browser):
    """A window in Kolkata's zone, with what went wrong in it: console errors and failed requests."""
    page = open_browser(timezone_id="Asia/Kolkata", locale="en-GB")
    problems = []
    page.on("console", lambda message: message.type == "error" and problems.append(message.text))
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("response", lambda response: response.status >= 400 and problems.append(f"{response.status} {response.url}"))
    return page, problems


def assert_times_shown_in(page, zone: str) -> None:
    """Every <time> of the page reads as its UTC moment in `zone`, named, with UTC on hover. Waits
    for the page a click navigated to: its deferred script has rewritten the times once it loaded."""
    page.wait_for_load_state("load")
    times = page.eval_on_selector_all("time[datetime]", "all => all.map(t => [t.dateTime, t.textContent, t.title])")
    assert times, page.url
    for attribute, shown, hover in times:
        moment = datetime.fromisoformat(attribute.replace("Z", "+00:00"))
        local = moment.astimezone(ZoneInfo(zone))
        day, month, year, hour, minute, name = SHOWN.fullmatch(shown).groups()
        assert (int(day), month[:3], int(year), int(hour), int(minute)) == (
            local.day, local.strftime("%b"), local.year, local.hour, local.minute), (attribute, shown)
        assert name in ZONE_NAMES[zone], shown
        assert hover.endswith(moment.strftime("%H:%M UTC"))


def test_times_follow_the_browser_then_the_chosen_zone_on_every_page(watched_browser, patient_with_a_grant):
    page, problems = watched_browser
    log_in(page, patient_with_a_grant.address)
    page.wait_for_selector("text=Heart rate")
    assert_times_shown_in(page, "Asia/Kolkata")
    assert page.input_value("#time-zone") == ""  # automatic: the browser's zone

    page.click("nav >> text=Access")
    assert_times_shown_in(page, "Asia/Kolkata")
    page.select_option("#time-zone", "America/New_York")
    assert_times_shown_in(page, "America/New_York")
    # The forms with a date field say which zone it is typed in, under their own prefix.
    assert page.input_value("form[action='/patient/grants'] input[name=time_zone]") == "America/New_York"
    screenshot(page, "local-times-grants")
    page.click("text=Renew, narrow or revoke")  # a grant's own page, with its renew form
    assert_times_shown_in(page, "America/New_York")
    renew = page.locator("input[type=hidden][name$='-time_zone']")
    assert renew.count() == 1 and renew.input_value() == "America/New_York"

    page.click("nav >> text=Audit trail")
    assert_times_shown_in(page, "America/New_York")
    assert page.input_value("#time-zone") == "America/New_York"

    page.select_option("#time-zone", "")
    page.click("nav >> text=Records")
    assert_times_shown_in(page, "Asia/Kolkata")
    assert not problems


def test_the_progress_mark_is_drawn_not_an_emoji(watched_browser):
    page, problems = watched_browser
    page.goto("/auth/login")
    mark = page.evaluate("""() => {
        const status = document.createElement("p");
        status.className = "progress";
        document.body.append(status);
        return getComputedStyle(status, "::before").content;
    }""")
    assert mark == '""'
    assert not problems
