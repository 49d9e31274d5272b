"""A reviewer in a real browser: sign in, approve, deny with a reason, see the audit status;
a form without its CSRF token is refused; a <script> in a justification stays text."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.web.conftest import LiveServer

pytestmark = pytest.mark.timeout(120)


def _sign_in(browser: WebDriver, server: LiveServer, who: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{server.url}/ui")
    browser.find_element(By.NAME, "api_key").send_keys(server.keys[who])
    _go(browser, browser.find_element(By.CSS_SELECTOR, "form[action='/ui/login'] button"))
    identity = {"bob": "bob", "carol": "carol", "auditor": "audit"}[who]
    assert browser.find_element(By.CSS_SELECTOR, "header form span").text == (
        f"{identity}@example.org"
    )


def _go(browser: WebDriver, element: WebElement) -> None:
    """Click something that loads a new page, and wait until it has.

    A marker on `window` disappears with the old document; unlike selenium's
    `staleness_of`, it cannot trip over Chromium's "node does not belong to the
    document" race while the old page is being torn down."""
    browser.execute_script("window.__approvalsOldPage = true;")
    element.click()
    WebDriverWait(browser, 10, ignored_exceptions=(WebDriverException,)).until(
        lambda driver: driver.execute_script(
            "return window.__approvalsOldPage === undefined && document.readyState === 'complete';"
        )
    )


def _notice(browser: WebDriver) -> str:
    return browser.find_element(By.CSS_SELECTOR, ".notice").text


class TestReviewInTheBrowser:
    def test_approve_a_pending_request_from_the_queue(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        created = live_server.submit(resource="db.staging.visits")
        _sign_in(browser, live_server, "bob")
        mine = browser.find_element(By.ID, "for-me")
        _go(browser, mine.find_element(By.CSS_SELECTOR, f"a[href='/ui/actions/{created['id']}']"))
        assert "db.staging.visits" in browser.page_source
        _go(browser, browser.find_element(By.CSS_SELECTOR, "button.approve"))
        assert _notice(browser) == "Recorded. The request is now approved."
        assert live_server.status(created["id"]) == "approved"

    def test_deny_with_a_reason_and_find_it_in_history(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        created = live_server.submit(resource="db.staging.claims")
        _sign_in(browser, live_server, "carol")
        browser.get(f"{live_server.url}/ui/actions/{created['id']}")
        _go(browser, browser.find_element(By.CSS_SELECTOR, "button.deny"))
        assert _notice(browser) == "A deny needs a reason: the requester is told why."
        browser.find_element(By.NAME, "reason").send_keys("use the read replica")
        _go(browser, browser.find_element(By.CSS_SELECTOR, "button.deny"))
        assert _notice(browser) == "Recorded. The request is now denied."
        assert "use the read replica" in browser.find_element(By.TAG_NAME, "main").text
        _go(browser, browser.find_element(By.LINK_TEXT, "History"))
        browser.find_element(By.NAME, "status").send_keys("denied")
        _go(browser, browser.find_element(By.CSS_SELECTOR, ".filters button"))
        rows = browser.find_element(By.ID, "history").text
        assert "denied" in rows and "carol@example.org" in rows
        assert live_server.status(created["id"]) == "denied"

    def test_audit_status_is_shown(
        self, browser: WebDriver, live_server: LiveServer, tmp_path: Path
    ) -> None:
        live_server.submit()
        _sign_in(browser, live_server, "bob")
        _go(browser, browser.find_element(By.LINK_TEXT, "Audit & reports"))
        chain = browser.find_element(By.ID, "chain")
        verdict = chain.find_element(By.CSS_SELECTOR, ".chain")
        assert verdict.text == "Intact"
        # Styled green: the app's stylesheet loads under the strict CSP, and nothing was blocked.
        assert verdict.value_of_css_property("color") == "rgba(43, 122, 61, 1)"
        refused = [
            e for e in browser.get_log("browser") if "Content Security Policy" in e["message"]
        ]
        assert refused == []
        assert "hash-chained events verified" in chain.text
        assert browser.save_screenshot(str(tmp_path / "audit.png"))

    def test_a_form_stripped_of_its_csrf_token_is_refused(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        created = live_server.submit()
        _sign_in(browser, live_server, "bob")
        browser.get(f"{live_server.url}/ui/actions/{created['id']}")
        # What a forged cross-site form looks like: everything but the token.
        browser.execute_script("document.querySelector('input[name=csrf]').remove()")
        _go(browser, browser.find_element(By.CSS_SELECTOR, "button.approve"))
        assert "came from another site" in browser.find_element(By.TAG_NAME, "main").text
        assert live_server.status(created["id"]) == "pending"

    def test_script_in_a_justification_is_shown_as_text_and_never_runs(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        payload = (
            "<script>document.title='pwned'</script>"
            "<img src=x onerror=\"document.title='pwned'\"> please"
        )
        created = live_server.submit(justification=payload)
        _sign_in(browser, live_server, "bob")
        browser.get(f"{live_server.url}/ui/actions/{created['id']}")
        main = browser.find_element(By.TAG_NAME, "main").text
        assert "<script>document.title='pwned'</script>" in main
        assert browser.title != "pwned"
        assert browser.find_elements(By.CSS_SELECTOR, "main script, main img") == []

    def test_auditor_opens_the_evidence_report(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        live_server.submit()
        _sign_in(browser, live_server, "auditor")
        browser.get(f"{live_server.url}/ui/audit")
        _go(browser, browser.find_element(By.LINK_TEXT, "this month (HTML)"))
        assert browser.find_element(By.TAG_NAME, "h1").text == "Privileged access evidence report"
        # The report's only <style> is allowed by its CSP hash: styled, so the h2 has a border.
        h2 = browser.find_element(By.TAG_NAME, "h2")
        assert h2.value_of_css_property("border-bottom-style") == "solid"
        assert len(browser.find_elements(By.CSS_SELECTOR, "svg")) == 2
        assert "sql.execute" in browser.find_element(By.ID, "actions").text


class TestOnAPhone:
    """390 CSS pixels wide, as an iPhone 12-15 in portrait: nothing scrolls sideways."""

    def test_no_page_scrolls_sideways_at_390_px(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        created = live_server.submit(
            resource="db.staging.encounters_with_a_rather_long_table_name_for_the_export",
            justification="Backfill the encounter rows that the nightly job duplicated on "
            "2026-11-30; ticket OPS-4711 has the row counts and the rollback plan.",
        )
        _sign_in(browser, live_server, "bob")
        browser.execute_cdp_cmd(  # type: ignore[attr-defined]
            "Emulation.setDeviceMetricsOverride",
            {"width": 390, "height": 844, "deviceScaleFactor": 3, "mobile": True},
        )
        try:
            for path in ("/ui", "/ui/history", f"/ui/actions/{created['id']}", "/ui/audit"):
                browser.get(f"{live_server.url}{path}")
                width = browser.execute_script("return document.documentElement.scrollWidth;")
                assert width <= 390, (path, width)
        finally:
            browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})  # type: ignore[attr-defined]


class TestQueueRows:
    def test_the_queue_shows_the_justification_and_when_it_expires(
        self, browser: WebDriver, live_server: LiveServer
    ) -> None:
        created = live_server.submit(
            resource="db.staging.appointments",
            justification="Call Jane Roe at 555-867-5309 about the duplicate rows",
        )
        _sign_in(browser, live_server, "bob")
        row = browser.find_element(
            By.XPATH,
            f"//section[@id='for-me']//a[@href='/ui/actions/{created['id']}']/ancestor::tr",
        ).text
        # As stored: redacted at intake, so the name and number never reach the page.
        assert "about the duplicate rows" in row
        assert "Jane Roe" not in row and "555-867-5309" not in row
        expires = datetime.fromisoformat(created["expires_at"])
        assert expires.strftime("%Y-%m-%d %H:%M UTC") in row
        assert re.search(r"in (\d+ h( \d+ min)?|\d+ min)", row), row
