"""What every page shares: a favicon (and /favicon.ico for browsers that ask there), a header
that says an account is not registered yet rather than "none", and text that any common font
draws, with no glyph that needs an emoji or symbol font."""

from eth_account import Account

from tests.e2e.helpers import days_from_now, pulse, text

# Latin-1 (letters, °, µ, ·) and the punctuation and arrows every common font has.
DRAWN_BY_COMMON_FONTS = set(map(chr, range(0x100))) | set("–—‘’“”•…←→")


def glyphs_needing_a_symbol_font(page: str) -> set[str]:
    return set(page) - DRAWN_BY_COMMON_FONTS


def test_the_favicon_is_linked_and_served_also_where_browsers_guess(visitor):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in text(visitor.get("/auth/"))
    icon = visitor.get("/static/favicon.svg")
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml" and b"<svg" in icon.data
    guessed = visitor.get("/favicon.ico")
    assert guessed.status_code == 301 and guessed.location == "/static/favicon.svg"


def test_the_header_of_an_account_not_registered_yet_says_so(as_user):
    header = text(as_user(Account.create()).get("/auth/welcome")).split("</header>")[0]
    assert "not registered yet" in header and "none" not in header


def test_the_header_names_the_role_of_a_registered_account(as_user, patient):
    header = text(as_user(patient).get("/patient/")).split("</header>")[0]
    assert "· patient</span>" in header


def test_the_main_pages_need_no_emoji_or_symbol_font(as_user, visitor, patient, people, carechain):
    carechain.grant(patient, people.doctor.address, [0], True, days_from_now(carechain, 3))
    pages = [(visitor, url) for url in ("/auth/", "/auth/login", "/auth/signup", "/auth/import", "/nowhere")]
    pages += [(as_user(Account.create()), "/auth/welcome"), (as_user(people.admin), "/admin/")]
    pages += [(as_user(patient), url) for url in ("/patient/", "/patient/records/new", "/patient/grants",
                                                  "/patient/audit", "/patient/vitals", "/patient/devices/",
                                                  "/alerts/")]
    pages += [(as_user(people.doctor), url) for url in ("/doctor/", f"/doctor/patients/{patient.address}",
                                                        "/alerts/")]
    for user, url in pages:
        response = user.get(url)
        assert response.status_code in (200, 404), url
        assert not glyphs_needing_a_symbol_font(text(response)), url


def test_the_record_badges_need_no_symbol_font(as_user, patient, carechain):
    entry = carechain.add_record(patient, patient.address, pulse(patient))
    me = as_user(patient)
    for url in ("/patient/", f"/patient/records/{entry.digest.hex()}"):
        assert not glyphs_needing_a_symbol_font(text(me.get(url))), url


def test_the_patients_menu_keeps_everyday_links_in_sight_and_the_rest_under_more(as_user, patient):
    header = text(as_user(patient).get("/patient/")).split("</header>")[0]
    everyday, more = header.split('<details class="more">')
    for link in ("Records", "Add a record", "Vitals", "Alerts", "Access", "Requests", "Audit trail"):
        assert f">{link}</a>" in everyday, link
    for link in ("Devices", "Profile", "Key recovery", "Emergency", "Apps (FHIR API)"):
        assert f">{link}</a>" in more and link not in everyday, link


def test_a_count_or_the_current_page_inside_more_shows_on_its_summary(app):
    with app.test_request_context("/patient/profile/"):
        more_menu = app.jinja_env.get_template("_macros.html").module.more_menu
        counted = str(more_menu([("Devices", "/patient/devices/", 2), ("Profile", "/patient/profile/", None)]))
        quiet = str(more_menu([("Devices", "/patient/devices/", None)]))
    summary = counted.split("</summary>")[0]
    assert 'class="alerting current"' in summary and 'aria-label="More: 2 waiting"' in summary
    assert '<span class="count">2</span>' in summary
    assert '<a href="/patient/profile/" aria-current="page">Profile</a>' in counted
    assert "<summary>More</summary>" in quiet
