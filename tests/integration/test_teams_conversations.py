"""The database-backed Teams conversation store: newest reference wins, survives a restart."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from approvals.channels.conversations.store import DatabaseConversationStore
from approvals.runtime import Runtime

TENANT = "11111111-2222-3333-4444-555555555555"


def reference(conversation_id: str, service_url: str = "https://smba.example/amer/") -> Any:
    """Shaped like botbuilder's serialised ConversationReference (the user already dropped)."""
    return {
        "bot": {"id": "28:app", "name": "Approvals"},
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "id": conversation_id,
            "tenantId": TENANT,
        },
        "channelId": "msteams",
        "locale": "en-US",
        "serviceUrl": service_url,
        "tenantId": TENANT,
    }


async def test_saved_references_survive_a_restart_and_newest_wins(runtime: Runtime) -> None:
    store = DatabaseConversationStore(runtime.db)
    await store.save(reference("19:a@thread.tacv2"))
    await store.save(reference("19:b@thread.tacv2"))
    await store.save(reference("19:a@thread.tacv2", "https://smba.example/emea/"))

    restarted = Runtime(runtime.settings)  # a new process: new engine, new store
    try:
        refs = await DatabaseConversationStore(restarted.db).all()
    finally:
        await restarted.close()
    by_id = {ref["conversation"]["id"]: ref for ref in refs}
    assert sorted(by_id) == ["19:a@thread.tacv2", "19:b@thread.tacv2"]
    assert by_id["19:a@thread.tacv2"]["serviceUrl"] == "https://smba.example/emea/"
    assert by_id["19:b@thread.tacv2"] == reference("19:b@thread.tacv2")


async def test_concurrent_first_saves_of_one_conversation_keep_one_row(runtime: Runtime) -> None:
    stores = [DatabaseConversationStore(runtime.db) for _ in range(2)]
    await asyncio.gather(
        *(
            store.save(reference("19:race@thread.tacv2", f"https://smba.example/{n}/"))
            for n, store in enumerate(stores)
        )
    )
    refs = await stores[0].all()
    assert [ref["conversation"]["id"] for ref in refs] == ["19:race@thread.tacv2"]


@pytest.mark.parametrize("conversation", [{}, {"id": ""}, {"id": "x" * 513}])
async def test_a_reference_without_a_usable_id_is_refused(
    runtime: Runtime, conversation: dict[str, str]
) -> None:
    store = DatabaseConversationStore(runtime.db)
    with pytest.raises(ValueError, match="conversation"):
        await store.save({"conversation": conversation, "serviceUrl": "https://smba.example/"})
    assert await store.all() == []
