"""What every page shares: template filters, the security headers, the navigation's user."""

import re
from datetime import datetime, timezone

from flask import Flask, g, redirect, url_for
from markupsafe import Markup, escape

from app.accounts import display_name
from app.backend import get_carechain
from app.carechain.early_warning import INTERPRETATIONS
from app.carechain.errors import CareChainError


WHEN_FORMAT = "%d %b %Y, %H:%M UTC"


def when(second: int | None) -> str:
    """A time as plain text, in UTC: "23 Nov 2026, 14:05 UTC" (for messages; pages use time_element)."""
    if not second:
        return "—"
    return datetime.fromtimestamp(second, timezone.utc).strftime(WHEN_FORMAT)


def _time_element(moment: datetime) -> Markup:
    return Markup('<time datetime="{}">{}</time>').format(moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                          moment.strftime(WHEN_FORMAT))


def time_element(second: int | None) -> Markup:
    """A time on a page (the `when` filter): a <time> element in UTC, which static/localtime.js
    shows in the user's time zone; without JavaScript it stays readable, in UTC."""
    if not second:
        return Markup("—")
    return _time_element(datetime.fromtimestamp(second, timezone.utc))


def clinical_date(summary) -> Markup:
    """When a record's content happened (summaries.Summary): a time as `when` shows it, or a FHIR
    date as precise as it was given ("02 Oct 2026", "Oct 2026", "2026"), which needs no zone."""
    if summary.has_time:
        return time_element(summary.moment)
    moment = datetime.fromtimestamp(summary.moment, timezone.utc)
    return Markup("{}").format(moment.strftime(("%Y", "%b %Y", "%d %b %Y")[summary.clinical_date.count("-")]))


# Times inside messages written in Python (flashes that use when(), the library's refusals such
# as "expired on 2026-11-23 14:05 UTC"), with the format that reads each.
TIMES_IN_TEXT = [(re.compile(r"\b\d{2} [A-Z][a-z]{2} \d{4}, \d{2}:\d{2} UTC\b"), WHEN_FORMAT),
                 (re.compile(r"\b\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC\b"), "%Y-%m-%d %H:%M UTC")]


def local_times(message) -> Markup:
    """A message for a page, escaped, its UTC times turned into <time> elements like every other
    time on the page, so that they too are shown in the user's time zone."""
    html = escape(message)
    for pattern, time_format in TIMES_IN_TEXT:
        html = pattern.sub(lambda match: _time_element(
            datetime.strptime(match[0], time_format).replace(tzinfo=timezone.utc)), html)
    return Markup(html)


def duration(seconds: int) -> str:
    """Time left in words: "12 days 3 h", "3 h 20 min", "45 s"."""
    days, rest = divmod(max(0, int(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    return f"{minutes} min" if minutes else f"{seconds} s"


def sentence(message) -> str:
    """A library message (lower case, no stop) as a sentence on a page."""
    text = str(message)
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def with_names(text: str) -> str:
    """A library message with each account in it shown as on pages (a provider's name, "you")."""
    return ADDRESS.sub(lambda match: display_name(match[0]), text)


def size(count: int) -> str:
    for unit in ("bytes", "KB", "MB"):
        if count < 1024 or unit == "MB":
            return f"{count:.0f} {unit}" if unit == "bytes" else f"{count:.1f} {unit}"
        count /= 1024


# No script or style from anywhere but this server, no framing, forms only to this server; and
# no caching, so decrypted records never land in the browser's disk cache.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def init_app(app: Flask) -> None:
    app.add_template_filter(time_element, "when")
    app.add_template_filter(local_times)
    app.add_template_filter(clinical_date)
    app.add_template_filter(duration)
    app.add_template_filter(size)
    app.add_template_filter(display_name, "who")
    app.add_template_filter(with_names)

    @app.after_request
    def secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    # Browsers that do not read the page's <link rel="icon"> (or that ask before it) look here.
    @app.get("/favicon.ico")
    def favicon():
        return redirect(url_for("static", filename="favicon.svg"), 301)

    @app.context_processor
    def navigation():
        return {"user_role": g.get("role"), "user_address": g.user.account.address if g.get("user") else None,
                "alerts_waiting": alerts_waiting, "interpretations": INTERPRETATIONS}


def alerts_waiting() -> int | None:
    """Unacknowledged alerts the logged-in patient, doctor or hospital sees (the menu's count);
    None where none apply, or while the chain cannot be asked (an error page must still render)."""
    if g.get("role") not in ("patient", "doctor", "hospital"):
        return None
    try:
        return get_carechain().unacknowledged_alerts(g.user.account.address)
    except CareChainError:
        return None
