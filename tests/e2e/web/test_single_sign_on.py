"""Single sign-on in a real browser against a real OpenID provider on loopback.

`oidc-provider-mock` (a real OpenID Connect provider built on Authlib) issues signed id
tokens; headless Chromium walks the redirects; the service checks state, nonce, PKCE, issuer,
audience, expiry and the email domain. A screenshot of each step lands in
$APPROVALS_SCREENSHOTS (or the test's temporary folder).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from oidc_provider_mock import run_server_in_thread
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from tests.e2e.web.conftest import PEOPLE, LiveServer
from tests.e2e.web.test_browser_review import _go, _notice
from tests.live_service import serving
from tests.policies import dba_oncall_policy

pytestmark = pytest.mark.timeout(120)
CLIENT_ID = "approvals-web"
POLICY = dba_oncall_policy("web", rules=[("exports-step-up", "*.export", "oidc")])


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread(require_nonce=True) as server:
        url = f"http://localhost:{server.server_port}"
        for sub, claims in {
            "bob": {"email": "Bob@example.org", "email_verified": True, "groups": ["dba"]},
            "eve": {"email": "eve@elsewhere.example", "email_verified": True},
            "carol": {"email": "carol@example.org", "email_verified": True},
        }.items():
            assert httpx.put(f"{url}/users/{sub}", json=claims).status_code == 204
        yield url


@pytest.fixture(scope="module")
def expired_provider() -> Iterator[str]:
    """Its id tokens expired five minutes before they were issued."""
    with run_server_in_thread(
        require_nonce=True, access_token_max_age=timedelta(minutes=-5)
    ) as server:
        url = f"http://localhost:{server.server_port}"
        assert httpx.put(f"{url}/users/bob", json={"email": "bob@example.org"}).status_code == 204
        yield url


def _server(folder: Path, issuer: str) -> Iterator[LiveServer]:
    policy = folder / "policy.yaml"
    policy.write_text(POLICY)
    with serving(
        folder,
        PEOPLE,
        policy_file=policy,
        host_name="localhost",
        oidc_issuer=issuer,
        oidc_client_id=CLIENT_ID,
        oidc_client_secret="approvals-web-secret",
        oidc_allowed_domains="example.org",
        oidc_groups_claim="groups",
        web_key_login=False,
    ) as running:
        yield LiveServer(running.url, running.keys)


@pytest.fixture(scope="module")
def sso_server(tmp_path_factory: pytest.TempPathFactory, provider: str) -> Iterator[LiveServer]:
    yield from _server(tmp_path_factory.mktemp("sso"), provider)


@pytest.fixture(scope="module")
def expired_server(
    tmp_path_factory: pytest.TempPathFactory, expired_provider: str
) -> Iterator[LiveServer]:
    yield from _server(tmp_path_factory.mktemp("sso-expired"), expired_provider)


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("APPROVALS_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _fresh(browser: WebDriver, server: LiveServer) -> None:
    browser.get(f"{server.url}/ui/static/app.css")
    browser.delete_all_cookies()


def _to_provider(browser: WebDriver, server: LiveServer, path: str = "/ui") -> None:
    """Open a page signed out and press the single sign-on button: the provider's page."""
    _fresh(browser, server)
    browser.get(f"{server.url}{path}")
    assert "Sign in to review" in browser.page_source
    assert not browser.find_elements(By.NAME, "api_key")  # key sign-in is off here
    _go(browser, browser.find_element(By.ID, "sso"))
    assert "Authorize Client" in browser.page_source


def _authorize(browser: WebDriver, sub: str) -> None:
    browser.find_element(By.NAME, "sub").send_keys(sub)
    _go(browser, browser.find_element(By.CSS_SELECTOR, "form button[type='submit']"))


def _tamper(browser: WebDriver, name: str, value: str) -> None:
    """Rewrite one parameter of the authorization request the browser is looking at."""
    parts = urlsplit(browser.current_url)
    query = dict(parse_qsl(parts.query))
    assert name in query
    query[name] = value
    browser.get(urlunsplit(parts._replace(query=urlencode(query))))


def _signed_in_as(browser: WebDriver) -> str | None:
    found = browser.find_elements(By.CSS_SELECTOR, "header form span")
    return found[0].text if found else None


class TestSignIn:
    def test_sign_in_see_the_queue_and_approve(
        self, browser: WebDriver, sso_server: LiveServer, provider: str, shots: Path
    ) -> None:
        created = sso_server.submit(resource="db.staging.visits")
        _to_provider(browser, sso_server, f"/ui/actions/{created['id']}")
        browser.save_screenshot(str(shots / "sso-1-provider.png"))
        parts = dict(parse_qsl(urlsplit(browser.current_url).query))
        assert parts["code_challenge_method"] == "S256" and parts["code_challenge"]
        assert parts["nonce"] and parts["state"] and parts["client_id"] == CLIENT_ID

        _authorize(browser, "bob")

        assert browser.current_url == f"{sso_server.url}/ui/actions/{created['id']}"
        assert _signed_in_as(browser) == "bob@example.org"
        browser.save_screenshot(str(shots / "sso-2-request.png"))
        cookie = browser.get_cookie("approvals_session")
        assert cookie is not None
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert not cookie["value"].startswith("apk_")
        browser.get(f"{sso_server.url}/ui")
        assert created["id"] in browser.find_element(By.ID, "for-me").get_attribute("innerHTML")
        browser.get(f"{sso_server.url}/ui/actions/{created['id']}")
        _go(browser, browser.find_element(By.CSS_SELECTOR, "button.approve"))
        assert _notice(browser) == "Recorded. The request is now approved."
        browser.save_screenshot(str(shots / "sso-3-approved.png"))
        assert sso_server.status(created["id"]) == "approved"


class TestRefusals:
    def test_a_forged_state_is_refused(
        self, browser: WebDriver, sso_server: LiveServer, shots: Path
    ) -> None:
        _to_provider(browser, sso_server)
        _tamper(browser, "state", "forged-state-value")
        _authorize(browser, "bob")
        assert "Sign-in refused" in browser.page_source
        assert "state mismatch" in browser.page_source
        browser.save_screenshot(str(shots / "sso-refused-state.png"))
        assert _signed_in_as(browser) is None
        assert browser.get_cookie("approvals_session") is None

    def test_a_wrong_nonce_is_refused(self, browser: WebDriver, sso_server: LiveServer) -> None:
        _to_provider(browser, sso_server)
        _tamper(browser, "nonce", "a-nonce-this-service-never-issued")
        _authorize(browser, "bob")
        assert "Sign-in refused" in browser.page_source
        said = _notice(browser)
        assert "invalid_claim: Invalid claim: 'nonce'" in said
        assert _signed_in_as(browser) is None

    def test_a_disallowed_email_domain_is_refused(
        self, browser: WebDriver, sso_server: LiveServer, shots: Path
    ) -> None:
        _to_provider(browser, sso_server)
        _authorize(browser, "eve")
        assert "accounts of this email domain may not sign in here" in browser.page_source
        browser.save_screenshot(str(shots / "sso-refused-domain.png"))
        assert _signed_in_as(browser) is None

    def test_an_expired_id_token_is_refused(
        self, browser: WebDriver, expired_server: LiveServer
    ) -> None:
        _to_provider(browser, expired_server)
        _authorize(browser, "bob")
        assert "Sign-in refused" in browser.page_source
        assert "expired_token" in browser.page_source
        assert _signed_in_as(browser) is None

    def test_the_api_key_form_is_refused_when_turned_off(self, sso_server: LiveServer) -> None:
        response = httpx.post(
            f"{sso_server.url}/ui/login", data={"api_key": sso_server.keys["bob"]}
        )
        assert response.status_code == 403


class TestStepUpByFreshSignIn:
    def _signed_in(self, browser: WebDriver, server: LiveServer, path: str) -> None:
        _to_provider(browser, server, path)
        _authorize(browser, "bob")
        assert _signed_in_as(browser) == "bob@example.org"

    def test_a_fresh_sign_in_approves_and_the_evidence_shows_it(
        self, browser: WebDriver, sso_server: LiveServer, shots: Path
    ) -> None:
        created = sso_server.submit(action="s3.export", resource="s3://exports/2026-12")
        self._signed_in(browser, sso_server, f"/ui/actions/{created['id']}")
        assert "Approving needs step-up: a fresh single sign-on" in browser.page_source
        assert not browser.find_elements(By.CSS_SELECTOR, "button[value='approve']")
        browser.execute_script("document.getElementById('decide').scrollIntoView()")
        browser.save_screenshot(str(shots / "step-up-1-request.png"))

        _go(browser, browser.find_element(By.ID, "approve-step-up"))
        assert "Authorize Client" in browser.page_source  # the provider asks again
        parts = dict(parse_qsl(urlsplit(browser.current_url).query))
        assert (parts["prompt"], parts["max_age"]) == ("login", "0")
        _authorize(browser, "bob")

        assert _notice(browser) == ("Recorded with a fresh sign-in. The request is now approved.")
        browser.execute_script("document.querySelector('.card h3').scrollIntoView()")
        browser.save_screenshot(str(shots / "step-up-2-approved.png"))
        auditor = {"Authorization": f"Bearer {sso_server.keys['auditor']}"}
        state = httpx.get(f"{sso_server.url}/v1/actions/{created['id']}", headers=auditor).json()
        [vote] = state["votes"]
        assert (vote["approver"], vote["auth"], vote["step_up"]) == (
            "bob@example.org",
            "sso",
            "oidc",
        )
        report = httpx.get(f"{sso_server.url}/v1/reports/evidence", headers=auditor).json()
        rows = [r for r in report["step_up"]["approvals"] if r["action_id"] == created["id"]]
        assert [(r["step_up_required"], r["step_up"]) for r in rows] == [("oidc", "oidc")]
        assert report["step_up"]["passed"] is True
        csv_text = httpx.get(
            f"{sso_server.url}/v1/reports/evidence?format=csv", headers=auditor
        ).text
        [line] = [line for line in csv_text.splitlines() if line.startswith(created["id"])]
        assert line.endswith(",bob@example.org:sso:oidc")  # the step_up column

    def test_another_person_at_the_provider_does_not_count(
        self, browser: WebDriver, sso_server: LiveServer, shots: Path
    ) -> None:
        created = sso_server.submit(action="s3.export", resource="s3://exports/2026-11")
        self._signed_in(browser, sso_server, f"/ui/actions/{created['id']}")
        _go(browser, browser.find_element(By.ID, "approve-step-up"))
        _authorize(browser, "carol")
        assert "not you (bob@example.org)" in _notice(browser)
        browser.save_screenshot(str(shots / "step-up-refused-other-person.png"))
        assert sso_server.status(created["id"]) == "pending"
