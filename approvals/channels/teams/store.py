"""Where the Teams adapter keeps the conversation references it learns from installation events.

A reference (botbuilder's `ConversationReference`, serialised to a plain dict) is what a bot needs
to post proactively into a team channel, group chat or personal chat: the service URL, the
conversation id and tenant, and the bot's own account. The core provides the database-backed
store the service uses (`approvals.channels.conversations.store.DatabaseConversationStore`, table
`teams_conversations`); `InMemoryConversationStore` serves this package's tests.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

ConversationRef = dict[str, Any]


class ConversationStore(Protocol):
    async def save(self, ref: ConversationRef) -> None:
        """Insert or replace the reference for `ref["conversation"]["id"]`."""
        ...

    async def all(self) -> list[ConversationRef]: ...


def conversation_id_of(ref: ConversationRef) -> str:
    conversation = ref.get("conversation") or {}
    return str(conversation.get("id") or "")


class InMemoryConversationStore:
    """One reference per conversation id, newest wins; safe across concurrent turns."""

    def __init__(self) -> None:
        self._refs: dict[str, ConversationRef] = {}
        self._lock = asyncio.Lock()

    async def save(self, ref: ConversationRef) -> None:
        key = conversation_id_of(ref)
        if not key:
            raise ValueError("conversation reference without a conversation id")
        async with self._lock:
            self._refs[key] = dict(ref)

    async def all(self) -> list[ConversationRef]:
        async with self._lock:
            return [dict(ref) for ref in self._refs.values()]
