"""The pages the Teams manifest links to, and `/`: reachable without signing in."""

from __future__ import annotations

import json
from pathlib import Path

from tests.builders import ApiClient

MANIFEST = Path(__file__).parents[3] / "deploy" / "teams-app" / "manifest.json"


def _manifest_paths() -> list[str]:
    developer = json.loads(MANIFEST.read_text())["developer"]
    base = "${{APPROVALS_PUBLIC_URL}}"
    return [developer[k].removeprefix(base) or "/" for k in ("privacyUrl", "termsOfUseUrl")]


class TestPublicPages:
    async def test_every_link_in_the_teams_manifest_answers(self, api: ApiClient) -> None:
        for path in _manifest_paths():
            response = await api.http.get(path)
            assert response.status_code == 200, path
            assert response.headers["content-type"].startswith("text/html")
            assert "script-src" not in response.headers["content-security-policy"]

    async def test_privacy_says_what_is_stored_and_that_no_phi_is(self, api: ApiClient) -> None:
        page = (await api.http.get("/privacy")).text
        assert "Privacy statement" in page
        assert "What it stores" in page and "after PHI redaction" in page
        assert "No protected health information (PHI)" in page

    async def test_terms_are_served(self, api: ApiClient) -> None:
        page = (await api.http.get("/terms")).text
        assert "Terms of use" in page and "Apache License 2.0" in page

    async def test_root_leads_to_the_reviewer_page(self, api: ApiClient) -> None:
        response = await api.http.get("/")
        assert response.status_code == 307
        assert response.headers["location"] == "/ui"
        followed = await api.http.get("/", follow_redirects=True)
        assert "Sign in to review" in followed.text
