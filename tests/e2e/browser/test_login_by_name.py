"""A patient signs up with a login name in Chromium, logs out, and logs back in with the name typed
in another case: no address to copy."""

import secrets

from tests.e2e.browser.pages import PASSWORD, screenshot


def test_a_patient_logs_in_by_name(open_browser):
    name = f"Grace.Hopper.{secrets.token_hex(3)}@example.org"
    page = open_browser()
    page.goto("/auth/signup")
    page.fill("#login_name", name)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button:has-text('Create account')")
    assert page.inner_text("#login-name") == name.casefold()
    address = page.inner_text("#address").strip()
    page.click("button:has-text('Log out')")
    page.goto("/auth/login")
    page.fill("#address", name.upper())
    page.fill("#password", PASSWORD)
    screenshot(page, "13-login-by-name")
    page.click("button:has-text('Log in')")
    page.wait_for_selector("#address")
    assert page.inner_text("#address").strip() == address
