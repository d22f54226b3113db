"""Browser tests: Debian's Chromium, headless, driven by Playwright (which never downloads a
browser of its own here), against the web app served by waitress on the session's real chain
and IPFS node. Screenshots of the main pages go to reports/screenshots (git-ignored)."""

import os

import pytest
from playwright.sync_api import sync_playwright

from app import create_app
from app.carechain.keystore import Keystore
from scripts import localchain
from scripts.serve import serve
from tests.e2e.browser.pages import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Headless without a sandbox (CI runs as root), and no traffic of Chromium's own.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
PORT = 5105


@pytest.fixture(scope="session")
def base_url(stack, people):
    app = create_app({"CARECHAIN": stack[1], "FAUCET_KEY": localchain.dev_account(9).key.hex()})
    server = serve(app, "127.0.0.1", PORT)
    yield f"http://127.0.0.1:{PORT}"
    server.close()


@pytest.fixture(scope="session")
def chromium():
    with sync_playwright() as playwright:
        # Playwright starts it with a fresh temporary profile (user data dir) of its own.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def open_browser(chromium, base_url):
    """open_browser(): a new browser window with its own cookies, as a second person would have."""
    contexts = []

    def open_one(**options):
        context = chromium.new_context(base_url=base_url, accept_downloads=True, **options)
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())  # "Revoke …?" confirmations
        return page

    yield open_one
    for context in contexts:
        context.close()


@pytest.fixture(scope="session")
def logins(stack, people):
    """Keystores (password PASSWORD) for the providers and the admin, so they can log in."""
    keystore = Keystore(stack[1].keystores)
    for account in (people.admin, people.doctor, people.colleague):
        if account.address not in keystore:
            keystore.import_key(account.key.hex(), PASSWORD)
    return people
