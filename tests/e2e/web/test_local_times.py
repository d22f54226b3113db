"""Times on pages are <time datetime="…Z"> elements with UTC text, which static/localtime.js shows
in the user's zone: in tables and cards (the `when` filter), in flashed messages and in the
library's refusals on error pages."""

import re
from datetime import datetime, timezone

from app.views import local_times, time_element
from tests.e2e.helpers import days_from_now, pulse, text, travel_to

TIME = re.compile(r'<time datetime="(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)">([^<]*)</time>')


def times(page: str) -> dict[str, str]:
    """The page's <time> elements: ISO UTC attribute -> text."""
    return dict(TIME.findall(page))


def iso(second: int) -> str:
    return datetime.fromtimestamp(second, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_to_the_minute(second: int) -> str:
    """A time read back from a message's text, which shows no seconds."""
    return iso(second - second % 60)


def utc_text(attribute: str) -> str:
    return datetime.strptime(attribute, "%Y-%m-%dT%H:%M:%SZ").strftime("%d %b %Y, %H:%M UTC")


def test_a_time_is_a_time_element_in_utc_and_no_time_is_a_dash():
    assert time_element(1_795_443_900) == ('<time datetime="2026-11-23T14:25:00Z">'
                                           '23 Nov 2026, 14:25 UTC</time>')
    assert time_element(0) == time_element(None) == "—"


def test_times_in_messages_become_time_elements_and_the_rest_is_escaped():
    message = "<b>Dr. A</b> until 23 Nov 2026, 14:05 UTC; expired on 2026-11-24 09:30 UTC."
    assert local_times(message) == (
        '&lt;b&gt;Dr. A&lt;/b&gt; until <time datetime="2026-11-23T14:05:00Z">23 Nov 2026, 14:05 UTC</time>; '
        'expired on <time datetime="2026-11-24T09:30:00Z">24 Nov 2026, 09:30 UTC</time>.')


def test_pages_show_times_as_utc_time_elements(as_user, patient, people, carechain):
    carechain.add_record(patient, patient.address, pulse(patient))
    expires_at = days_from_now(carechain, 3)
    carechain.grant(patient, people.doctor.address, [0], False, expires_at)
    me = as_user(patient)
    assert times(text(me.get("/patient/grants")))[iso(expires_at)] == utc_text(iso(expires_at))
    for url in ("/patient/", "/patient/grants", "/patient/audit"):
        page = text(me.get(url))
        shown = times(page)
        assert shown and all(utc_text(attribute) == label for attribute, label in shown.items())
        if url != "/patient/audit":  # the audit trail's descriptions are text written in Python, still UTC
            assert "UTC" not in TIME.sub("", page.split("Give access")[0]), f"a time outside <time> on {url}"


def test_a_flashed_message_carries_its_time_as_a_time_element(as_user, patient, people, carechain):
    carechain.grant(patient, people.doctor.address, [0], False, days_from_now(carechain, 2))
    prefix = people.doctor.address
    renewed = as_user(patient).post(f"/patient/grants/{prefix}/renew", {"days": "30"}, prefix=prefix,
                                    follow_redirects=True)
    expires_at = carechain.grant_of(patient.address, prefix).expires_at
    assert f'access now lasts until <time datetime="{iso_to_the_minute(expires_at)}">' in text(renewed)


def test_a_refusal_on_an_error_page_carries_its_time_as_a_time_element(as_user, patient, people, carechain):
    expires_at = days_from_now(carechain, 1)
    carechain.grant(patient, people.doctor.address, [0], False, expires_at)
    travel_to(carechain, days_from_now(carechain, 2))
    refused = as_user(people.doctor).get(f"/doctor/patients/{patient.address}")
    shown = iso_to_the_minute(expires_at)
    assert refused.status_code == 403
    assert f'expired on <time datetime="{shown}">{utc_text(shown)}</time>' in text(refused)


def test_every_page_loads_the_local_time_script(visitor):
    assert '<script src="/static/localtime.js" defer></script>' in text(visitor.get("/auth/login"))
    script = visitor.get("/static/localtime.js")
    assert script.status_code == 200 and script.mimetype == "text/javascript"
