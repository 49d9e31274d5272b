"""Fixtures for the Teams integration tests: loopback Bot Framework, a real-rule review double."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from botframework.connector.auth import JwtTokenExtractor
from fastapi import FastAPI

from approvals.channels.teams.app import TeamsApp, build_teams_app
from approvals.channels.teams.settings import TeamsSettings
from approvals.channels.teams.store import InMemoryConversationStore
from tests.fakes.teams_connector import FakeTeamsConnector
from tests.integration.teams.teams_world import (
    ACTION_ID,
    APP_ID,
    APP_PASSWORD,
    APPROVERS,
    CONVERSATION,
    TENANT,
    ReviewDouble,
)
from tests.unit.teams.teams_cards import sample_card


@pytest.fixture(scope="module")
def bf() -> Iterator[FakeTeamsConnector]:
    with FakeTeamsConnector(app_id=APP_ID, app_password=APP_PASSWORD, tenant_id=TENANT) as fake:
        for email, aad in APPROVERS.items():
            fake.add_member(CONVERSATION, aad_object_id=aad, email=email)
        fake.add_member(CONVERSATION, aad_object_id="aad-requester", email="etl-bot@example.org")
        fake.add_member(CONVERSATION, aad_object_id="aad-outsider", email="visitor@example.org")
        fake.add_member(
            CONVERSATION,
            aad_object_id="aad-guest",
            email="guest@other.example",
            tenant_id="99999999-0000-0000-0000-000000000000",
        )
        yield fake


@pytest.fixture(autouse=True)
def fresh_state(bf: FakeTeamsConnector) -> Iterator[None]:
    # botbuilder caches OpenID metadata per URL in a class-level dict: start every test clean.
    JwtTokenExtractor.metadataCache.clear()
    bf.reset()
    yield
    JwtTokenExtractor.metadataCache.clear()


@pytest.fixture
def settings(bf: FakeTeamsConnector) -> TeamsSettings:
    return TeamsSettings(
        app_id=APP_ID,
        app_password=APP_PASSWORD,
        app_tenant_id=TENANT,
        app_type="SingleTenant",
        service_url=bf.service_url,
        conversation_id=CONVERSATION,
        openid_metadata_url=bf.openid_metadata_url,
        token_url=bf.token_url,
        development=False,
    )


@pytest.fixture
def review() -> ReviewDouble:
    return ReviewDouble([sample_card(action_id=ACTION_ID)], set(APPROVERS))


@pytest.fixture
def store() -> InMemoryConversationStore:
    return InMemoryConversationStore()


@pytest.fixture
def teams(
    settings: TeamsSettings, review: ReviewDouble, store: InMemoryConversationStore
) -> TeamsApp:
    return build_teams_app(settings, review, store)


@pytest.fixture
async def client(teams: TeamsApp) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.include_router(teams.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://approvals.test") as c:
        yield c
