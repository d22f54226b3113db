"""The vital-sign charts (the vitals_charts macro, static/vitals_charts.js, the vendored uPlot) in
headless Chromium: a sample page on the real base layout, served by an app of this test's own
(no chain needed), at desktop width and on a 360 px phone."""

import time
from urllib.parse import urlsplit

import pytest
from flask import render_template_string

from app import create_app
from scripts.serve import serve
from tests.e2e.browser.pages import screenshot

PAGE = """{% extends "base.html" %}
{% from "_vitals_charts.html" import vitals_charts %}
{% block title %}Vitals{% endblock %}
{% block content %}<h1>Vitals</h1>{{ vitals_charts(signals) }}{% endblock %}"""

T = 1_700_000_000  # 14 Nov 2023, 22:13:20 UTC; 15 Nov 2023, 03:43 in Kolkata (UTC+5:30)
HOUR = 3600
SIGNALS = [
    {"key": "pulse", "label": "Pulse", "unit": "/min", "band": [60, 100],
     "points": [[T - 5 * HOUR, 72], [T - 3 * HOUR, 88], [T - 2 * HOUR, 130], [T - HOUR, 95], [T, 72]],
     "alerts": [[T - 2 * HOUR, "urgent", "Pulse 130 /min, above 120"],
                [T - 2 * HOUR + 600, "emergency", "Pulse 130 /min for 10 minutes"]]},
    {"key": "blood_pressure", "label": "Blood pressure", "unit": "mmHg", "band": [90, 120], "line": "Systolic",
     "points": [[T - 4 * HOUR, 118], [T, 150]], "alerts": [],
     "series": {"label": "Diastolic", "band": [60, 80], "points": [[T - 4 * HOUR, 76], [T, 95]]}},
    {"key": "temperature", "label": "Temperature", "unit": "°C", "band": None, "points": [[T, 37.2]], "alerts": []},
    {"key": "spo2", "label": "Oxygen saturation", "unit": "%", "band": [95, 100], "points": [], "alerts": []},
]


@pytest.fixture(scope="module")
def charts_url():
    app = create_app()
    app.add_url_rule("/test/vitals-charts", "vitals_charts_sample",
                     lambda: render_template_string(PAGE, signals=SIGNALS))
    server = serve(app, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.effective_port}/test/vitals-charts"
    server.close()


def is_favicon(message):
    """Chromium asks for /favicon.ico, which the app does not have (nothing to do with charts)."""
    return message.location["url"].endswith("/favicon.ico")


@pytest.fixture
def open_charts(chromium, charts_url):
    """open_charts(width): the sample page drawn in a new window, in Kolkata's time zone; with the
    console errors and the hosts of every request, as they come."""
    contexts = []

    def open_one(width):
        context = chromium.new_context(viewport={"width": width, "height": 800}, locale="en-GB",
                                       timezone_id="Asia/Kolkata")
        contexts.append(context)
        page = context.new_page()
        problems, hosts = [], set()
        page.on("console", lambda message: message.type == "error" and not is_favicon(message)
                and problems.append(message.text))
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))
        page.goto(charts_url)
        page.wait_for_selector("#chart-pulse[data-drawn]")
        page.wait_for_selector("#chart-blood_pressure[data-drawn]")
        page.wait_for_selector("#chart-temperature[data-drawn]")
        return page, problems, hosts

    yield open_one
    for context in contexts:
        context.close()


def canvas_size(page, key):
    return page.eval_on_selector(f"#chart-{key} canvas", "canvas => [canvas.width, canvas.height]")


def band_share(page, key):
    """The share of green pixels in the greenest canvas row of the (first) band: grid lines may
    cross some rows."""
    return page.eval_on_selector(f"#chart-{key}", """figure => {
        const [top, bottom] = figure.dataset.bandY.split(",")[0].split(" ").map(Number);
        const canvas = figure.querySelector("canvas");
        const pixels = canvas.getContext("2d").getImageData(0, top, canvas.width, bottom - top).data;
        const rows = Array(bottom - top).fill(0);
        for (let i = 0; i < pixels.length; i += 4) {
            const [r, g, b, a] = pixels.slice(i, i + 4);
            if (a && g > r && g > b) rows[Math.floor(i / 4 / canvas.width)] += 1;
        }
        return Math.max(...rows) / canvas.width;
    }""")


def no_horizontal_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def test_charts_draw_bands_alerts_and_fit_a_phone(open_charts, charts_url):
    page, problems, hosts = open_charts(1024)
    wide = canvas_size(page, "pulse")
    assert wide[0] > 600 and wide[1] > 100
    assert canvas_size(page, "blood_pressure")[0] == wide[0]

    # The normal band is shaded; readings outside it are marked, both lines of blood pressure.
    assert band_share(page, "pulse") > 0.5
    assert page.get_attribute("#chart-pulse", "data-out-of-band") == "1"
    assert page.get_attribute("#chart-blood_pressure", "data-out-of-band") == "2"
    assert len(page.get_attribute("#chart-blood_pressure", "data-band-y").split(",")) == 2
    assert page.is_visible("#chart-blood_pressure .u-legend >> text=Diastolic")

    # Alerts: a marker per alert on the plot, coloured by level, its text as a tooltip; and listed.
    markers = page.locator("#chart-pulse .vitals-alert")
    assert markers.count() == 2
    assert markers.nth(1).get_attribute("class") == "vitals-alert emergency"
    assert "Pulse 130 /min for 10 minutes" in markers.nth(1).get_attribute("title")
    assert all(markers.nth(i).bounding_box()["height"] > 100 for i in range(2))
    assert page.is_visible("#chart-pulse .vitals-alerts li.urgent >> text=Pulse 130 /min, above 120")

    # A summary in the browser's time zone, also the chart's accessible name.
    summary = "Pulse: latest 72 /min on 15 Nov 2023, 03:43; 5 readings since 14 Nov 2023, 22:43, " \
              "from 72 to 130 /min; normal 60–100 /min; 2 alerts."
    assert page.inner_text("#chart-pulse .vitals-summary") == summary
    assert page.get_attribute("#chart-pulse [role=img]", "aria-label") == summary
    assert "latest 150/95 mmHg" in page.inner_text("#chart-blood_pressure .vitals-summary")

    # One reading and no normal range: a dot, no band.
    assert canvas_size(page, "temperature")[0] == wide[0]
    assert page.get_attribute("#chart-temperature", "data-band-y") == ""
    temperature = page.inner_text("#chart-temperature .vitals-summary")
    assert temperature == "Temperature: latest 37.2 °C on 15 Nov 2023, 03:43."

    assert page.inner_text("#chart-spo2 .vitals-empty") == "No readings in this period"
    assert page.locator("#chart-spo2 canvas").count() == 0

    # A phone: the charts shrink with the window and nothing scrolls sideways.
    page.set_viewport_size({"width": 360, "height": 740})
    until(lambda: page.evaluate("document.querySelector('#chart-pulse canvas').width") < 360)
    assert canvas_size(page, "pulse")[0] > 250
    assert no_horizontal_scroll(page)
    assert band_share(page, "pulse") > 0.5
    screenshot(page, "vitals-charts-phone")

    assert problems == []
    assert hosts == {urlsplit(charts_url).netloc}


def test_charts_open_on_a_phone(open_charts, charts_url):
    page, problems, hosts = open_charts(360)
    assert 250 < canvas_size(page, "pulse")[0] < 360
    assert no_horizontal_scroll(page)
    assert problems == []
    assert hosts == {urlsplit(charts_url).netloc}


def until(condition, timeout: float = 10) -> None:
    """Polls `condition` from Python: the page's CSP forbids the eval that Playwright's
    wait_for_function polls with."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the page did not get there in time"
        time.sleep(0.05)
