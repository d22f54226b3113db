"""What the browser tests do on pages: log in, take screenshots."""

from scripts.localchain import ROOT

PASSWORD = "browser-test-password"
SCREENSHOTS = ROOT / "reports" / "screenshots"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page, address: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("#address", address)
    page.fill("#password", password)
    page.click("button:has-text('Log in')")
