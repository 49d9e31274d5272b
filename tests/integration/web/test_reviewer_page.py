"""The built-in reviewer page: sign in, see the queue, decide, refusals, CSRF, escaping."""

from __future__ import annotations

import re

from tests.builders import ApiClient


async def _sign_in(api: ApiClient, who: str) -> None:
    response = await api.http.post("/ui/login", data={"api_key": api.keys[who]})
    assert response.status_code == 303


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert found, "the decision form carries a CSRF token"
    return found.group(1)


async def test_unsigned_visitor_gets_the_sign_in_form(api: ApiClient) -> None:
    page = await api.http.get("/ui")
    assert "Sign in to review" in page.text


async def test_key_without_review_scope_cannot_sign_in(api: ApiClient) -> None:
    response = await api.http.post("/ui/login", data={"api_key": api.keys["etl"]})
    assert response.status_code == 401
    assert "lacks the review scope" in response.text


async def test_reviewer_sees_the_queue_and_approves(api: ApiClient) -> None:
    created = await api.create(justification="<script>alert(1)</script> fix rows")
    await _sign_in(api, "bob")
    queue = await api.http.get("/ui")
    assert created["action"] in queue.text
    assert f"/ui/actions/{created['id']}" in queue.text
    page = await api.http.get(f"/ui/actions/{created['id']}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text
    decided = await api.http.post(
        f"/ui/actions/{created['id']}/decide", data={"verdict": "approve", "csrf": _csrf(page.text)}
    )
    assert decided.status_code == 303
    after = await api.http.get(decided.headers["location"])
    assert "Recorded. The request is now approved." in after.text
    assert (await api.get("bob", created["id"])).json()["votes"][0]["platform"] == "web"


async def test_forged_csrf_token_is_refused(api: ApiClient) -> None:
    created = await api.create()
    await _sign_in(api, "bob")
    response = await api.http.post(
        f"/ui/actions/{created['id']}/decide", data={"verdict": "approve", "csrf": "0" * 32}
    )
    assert response.status_code == 403
    assert (await api.get("bob", created["id"])).json()["status"] == "pending"


async def test_refusal_is_explained_on_the_page(api: ApiClient) -> None:
    created = await api.create()
    await _sign_in(api, "mallory")
    page = await api.http.get(f"/ui/actions/{created['id']}")
    response = await api.http.post(
        f"/ui/actions/{created['id']}/decide", data={"verdict": "approve", "csrf": _csrf(page.text)}
    )
    after = await api.http.get(response.headers["location"])
    assert "Not recorded: you are not in group dba-oncall" in after.text
