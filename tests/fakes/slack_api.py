"""A loopback Slack Web API double: a real HTTP server on 127.0.0.1, in a background thread.

Answers the methods the Slack adapter uses (users.lookupByEmail too, `users_not_found` for
strangers) with Slack's response shapes (`{"ok": true, ...}`), records every call (method,
parsed body, headers, time), keeps posted messages so `chat.update` of an unknown ts answers
`message_not_found`, and can answer the next N calls of a method with 429 + Retry-After or
with an `{"ok": false, "error": ...}`.

    with FakeSlackApi(team_id="T0001") as slack:
        slack.add_user("U1", "ana@example.org")
        client = AsyncWebClient(token="xoxb-test", base_url=slack.base_url)
"""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

Json = dict[str, Any]


@dataclass(frozen=True)
class RecordedCall:
    method: str
    body: Json  # query parameters, form fields or JSON body, merged
    headers: dict[str, str]  # lower-cased names
    status: int  # the HTTP status the double answered
    at: float  # time.monotonic() when the call arrived


@dataclass(frozen=True)
class FakeUser:
    id: str
    email: str | None
    team_id: str
    name: str = "reviewer"
    is_bot: bool = False
    deleted: bool = False


@dataclass
class _Failure:
    times: int
    status: int
    error: str
    retry_after: int | None


@dataclass
class FakeSlackApi:
    team_id: str = "T0APPROVALS"
    bot_user_id: str = "U0APPBOT"
    bot_id: str = "B0APPBOT"
    token_prefix: str = "xoxb-"
    users: dict[str, FakeUser] = field(default_factory=dict)
    missing_channels: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[RecordedCall] = []
        self._failures: dict[str, _Failure] = {}
        self._channel_failures: dict[str, _Failure] = {}
        self.messages: dict[tuple[str, str], Json] = {}
        self._ts = itertools.count(100)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._port = 0
        self._handlers: dict[str, Callable[[Json], Json]] = {
            "auth.test": self._auth_test,
            "api.test": lambda body: {"ok": True, "args": body},
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "users.info": self._users_info,
            "users.lookupByEmail": self._users_lookup_by_email,
            "views.open": self._views_open,
            "views.publish": self._views_publish,
        }
        self.home_views: dict[str, Json] = {}

    # ---- lifecycle -------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._port}/api/"

    def response_url(self, hook: str = "1") -> str:
        """Where a slash command's `respond()` posts (Slack's hooks.slack.com/commands/…)."""
        return f"http://127.0.0.1:{self._port}/commands/{self.team_id}/{hook}/B0RESPONSE"

    def start(self) -> FakeSlackApi:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port; no race with other workers
        self._port = sock.getsockname()[1]
        app = Starlette(
            routes=[
                Route("/api/{method}", self._endpoint, methods=["GET", "POST"]),
                Route("/commands/{team}/{hook}/{secret}", self._response_url, methods=["POST"]),
            ]
        )
        config = uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake Slack API did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeSlackApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reset(self) -> None:
        with self._lock:
            self._calls.clear()
            self._failures.clear()
            self._channel_failures.clear()
            self.messages.clear()
            self.home_views.clear()

    # ---- configuration ---------------------------------------------------------------
    def add_user(
        self,
        user_id: str,
        email: str | None,
        *,
        team_id: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
    ) -> FakeUser:
        user = FakeUser(user_id, email, team_id or self.team_id, user_id.lower(), is_bot, deleted)
        self.users[user_id] = user
        return user

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 429,
        error: str = "ratelimited",
        retry_after: int | None = 1,
    ) -> None:
        """The next `times` calls of `method` fail; default: HTTP 429 with Retry-After."""
        with self._lock:
            self._failures[method] = _Failure(times, status, error, retry_after)

    def fail_posts_to(
        self, channel: str, times: int = 1, *, status: int = 429, retry_after: int | None = 1
    ) -> None:
        """The next `times` chat.postMessage calls to `channel` fail (default: 429 +
        Retry-After); posts to other channels succeed, as when one channel's copy hits a limit."""
        with self._lock:
            self._channel_failures[channel] = _Failure(times, status, "ratelimited", retry_after)

    def error_next(self, method: str, error: str, times: int = 1) -> None:
        """The next calls answer HTTP 200 `{"ok": false, "error": error}` (e.g. invalid_auth)."""
        self.fail_next(method, times, status=200, error=error, retry_after=None)

    # ---- assertions ------------------------------------------------------------------
    def calls(self, method: str | None = None) -> list[RecordedCall]:
        with self._lock:
            return [c for c in self._calls if method is None or c.method == method]

    def message(self, channel: str, ts: str) -> Json | None:
        with self._lock:
            return self.messages.get((channel, ts))

    async def wait_for(
        self, method: str, count: int = 1, timeout: float = 5.0
    ) -> list[RecordedCall]:
        """Poll without blocking the caller's event loop: the adapter works after its ack."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.calls(method)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"expected {count} {method} call(s), saw {len(found)}")
            await asyncio.sleep(0.01)

    # ---- HTTP ------------------------------------------------------------------------
    async def _endpoint(self, request: Request) -> JSONResponse:
        method = request.path_params["method"]
        body: Json = dict(request.query_params)
        raw = await request.body()
        if raw:
            if request.headers.get("content-type", "").startswith("application/json"):
                body.update(json.loads(raw))
            else:
                body.update(parse_qsl(raw.decode()))
        headers = {k.lower(): v for k, v in request.headers.items()}
        status, payload, extra = self._answer(method, body, headers)
        with self._lock:
            self._calls.append(RecordedCall(method, body, headers, status, time.monotonic()))
        return JSONResponse(payload, status_code=status, headers=extra)

    async def _response_url(self, request: Request) -> PlainTextResponse:
        """Slack answers a response_url POST with a bare `ok`; recorded as "response_url"."""
        body: Json = json.loads(await request.body() or b"{}")
        headers = {k.lower(): v for k, v in request.headers.items()}
        with self._lock:
            self._calls.append(RecordedCall("response_url", body, headers, 200, time.monotonic()))
        return PlainTextResponse("ok")

    def _answer(
        self, method: str, body: Json, headers: dict[str, str]
    ) -> tuple[int, Json, dict[str, str]]:
        with self._lock:
            failure = self._failures.get(method)
            if method == "chat.postMessage" and (failure is None or failure.times <= 0):
                failure = self._channel_failures.get(str(body.get("channel", "")))
            if failure is not None and failure.times > 0:
                failure.times -= 1
                extra = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
                return failure.status, {"ok": False, "error": failure.error}, extra
        auth = headers.get("authorization", "")
        if not auth:
            return 200, {"ok": False, "error": "not_authed"}, {}
        if not auth.startswith(f"Bearer {self.token_prefix}"):
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = self._handlers.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method"}, {}
        with self._lock:
            return 200, handler(body), {"x-oauth-scopes": "chat:write,users:read,users:read.email"}

    # ---- methods (called under the lock) ---------------------------------------------
    def _next_ts(self) -> str:
        return f"{int(time.time())}.{next(self._ts):06d}"

    def _auth_test(self, body: Json) -> Json:
        return {
            "ok": True,
            "url": "https://approvals-test.slack.com/",
            "team": "Approvals Test",
            "user": "approvals",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _message(self, body: Json, ts: str) -> Json:
        message = {
            "type": "message",
            "subtype": "bot_message",
            "text": body.get("text", ""),
            "ts": ts,
            "username": "approvals",
            "bot_id": self.bot_id,
            "blocks": body.get("blocks", []),
        }
        if body.get("thread_ts"):
            message["thread_ts"] = body["thread_ts"]
        return message

    def _post_message(self, body: Json) -> Json:
        channel = body.get("channel")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if not body.get("text") and not body.get("blocks"):
            return {"ok": False, "error": "no_text"}
        ts = self._next_ts()
        message = self._message(body, ts)
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, body: Json) -> Json:
        channel, ts = body.get("channel", ""), body.get("ts", "")
        if channel in self.missing_channels:
            return {"ok": False, "error": "channel_not_found"}
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        message = self._message(body, ts)
        self.messages[(channel, ts)] = message
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": message,
        }

    def _post_ephemeral(self, body: Json) -> Json:
        if not body.get("channel") or not body.get("user"):
            return {"ok": False, "error": "invalid_arguments"}
        if body.get("user") not in self.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "message_ts": self._next_ts()}

    def _users_info(self, body: Json) -> Json:
        user = self.users.get(body.get("user", ""))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": self._user_json(user)}

    def _users_lookup_by_email(self, body: Json) -> Json:
        """Slack matches the address case-insensitively; unknown → `users_not_found`."""
        email = str(body.get("email", "")).lower()
        if not email:
            return {"ok": False, "error": "invalid_arguments"}
        for user in self.users.values():
            if user.email is not None and user.email.lower() == email:
                return {"ok": True, "user": self._user_json(user)}
        return {"ok": False, "error": "users_not_found"}

    def _user_json(self, user: FakeUser) -> Json:
        profile: Json = {
            "real_name": user.name.title(),
            "display_name": user.name,
            "team": user.team_id,
        }
        if user.email is not None:
            profile["email"] = user.email
        return {
            "id": user.id,
            "team_id": user.team_id,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.name.title(),
            "tz": "America/New_York",
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "updated": 1700000000,
            "profile": profile,
        }

    def _views_open(self, body: Json) -> Json:
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        if not body.get("trigger_id"):
            return {"ok": False, "error": "invalid_trigger_id"}
        if not isinstance(view, dict):
            return {"ok": False, "error": "invalid_arguments"}
        return {
            "ok": True,
            "view": {
                "id": f"V{next(self._ts):08d}",
                "team_id": self.team_id,
                "type": view.get("type", "modal"),
                "title": view.get("title"),
                "submit": view.get("submit"),
                "close": view.get("close"),
                "blocks": view.get("blocks", []),
                "private_metadata": view.get("private_metadata", ""),
                "callback_id": view.get("callback_id", ""),
                "state": {"values": {}},
                "hash": f"{int(time.time())}.abcdef12",
                "clear_on_close": False,
                "notify_on_close": False,
                "root_view_id": None,
                "app_id": "A0APPROVALS",
                "bot_id": self.bot_id,
            },
        }

    def _views_publish(self, body: Json) -> Json:
        """Replaces the user's Home tab; `user_not_found` for users the double does not know."""
        view = body.get("view")
        if isinstance(view, str):
            view = json.loads(view)
        user_id = body.get("user_id", "")
        if user_id not in self.users:
            return {"ok": False, "error": "user_not_found"}
        if not isinstance(view, dict) or view.get("type") != "home":
            return {"ok": False, "error": "invalid_arguments"}
        if len(view.get("blocks", [])) > 100:
            return {"ok": False, "error": "invalid_blocks"}
        self.home_views[user_id] = view
        return {
            "ok": True,
            "view": {
                "id": f"V{next(self._ts):08d}",
                "team_id": self.team_id,
                "type": "home",
                "blocks": view.get("blocks", []),
                "private_metadata": "",
                "callback_id": "",
                "hash": f"{int(time.time())}.home",
                "app_id": "A0APPROVALS",
                "bot_id": self.bot_id,
            },
        }
