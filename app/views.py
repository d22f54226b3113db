"""What every page shares: template filters, the security headers, the navigation's user."""

import re
from datetime import datetime, timezone

from flask import Flask, g

from app.accounts import display_name
from app.backend import get_carechain
from app.carechain.early_warning import INTERPRETATIONS
from app.carechain.errors import CareChainError


def when(second: int | None) -> str:
    if not second:
        return "—"
    return datetime.fromtimestamp(second, timezone.utc).strftime("%d %b %Y, %H:%M UTC")


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
    app.add_template_filter(when)
    app.add_template_filter(duration)
    app.add_template_filter(size)
    app.add_template_filter(display_name, "who")
    app.add_template_filter(with_names)

    @app.after_request
    def secure(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

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
