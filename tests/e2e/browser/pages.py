"""What the browser tests do on pages: open the header's "More" menu, sign up a patient, log in, add a
record, grant a doctor, take screenshots."""

from scripts.localchain import ROOT

PASSWORD = "browser-test-password"
SCREENSHOTS = ROOT / "reports" / "screenshots"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def click_in_more_menu(page, link: str) -> None:
    """Clicks a link of the header's "More" menu, opening the menu first (as a person would)."""
    more = page.locator("header nav details.more")
    if not more.evaluate("details => details.open"):
        more.locator("summary").click()
    more.locator(".menu a", has_text=link).click()


def log_in(page, address: str, password: str = PASSWORD) -> None:
    page.goto("/auth/login")
    page.fill("#address", address)
    page.fill("#password", password)
    page.click("button:has-text('Log in')")


def sign_up_patient(page) -> str:
    page.goto("/")
    page.click("text=Create an account")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button:has-text('Create account')")
    address = page.inner_text("#address").strip()
    with page.expect_download() as download:
        page.click("text=Download keystore file")
    assert download.value.suggested_filename == f"carechain-keystore-{address}.json"
    screenshot(page, "01-welcome")
    page.check("#saved")
    page.click("button:has-text('Register as a patient')")
    page.wait_for_selector("text=You are registered as a patient")
    return address


def add_pulse(page, value: str) -> None:
    page.click("nav >> text=Add a record")
    page.select_option("#vitals-kind", "pulse")
    page.fill("#vitals-value", value)
    screenshot(page, "03-add-record")
    page.click("#vitals button:has-text('Store record')")
    page.wait_for_selector("text=stored, encrypted and signed")


def grant_doctor(page, doctor: str, days: str) -> None:
    page.click("nav >> text=Access")
    option = page.locator("#provider option", has_text=doctor).first
    page.select_option("#provider", option.get_attribute("value"))
    page.check("input[name=categories][value='0']")
    page.fill("#days", days)
    page.click("button:has-text('Give access')")
    page.wait_for_selector(f"text={doctor} may now read your vitals records")
