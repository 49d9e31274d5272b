"""Loopback doubles of Bot Framework for the Teams adapter: one real HTTP server on 127.0.0.1.

Serves, from a background thread:
- the OpenID metadata document and its JWKS (an RSA key generated at start, with the
  `endorsements` Bot Framework publishes), so botbuilder's own `JwtTokenExtractor` validates
  tokens minted here;
- an AAD-style token endpoint (client credentials → bearer token; wrong secret → 401);
- the connector: send activity, update activity, get conversation member. Connector calls
  without a bearer token this double issued answer 401, like the real service.
Every request is recorded (`calls`), with the Authorization header kept for assertions.

    with FakeTeamsConnector(app_id="app", app_password="pw", tenant_id="t1") as bf:
        bf.add_member("conv", aad_object_id="aad-1", email="ana@example.org")
        token = bf.mint_token(service_url=bf.service_url)
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

Json = dict[str, Any]
BOT_FRAMEWORK_ISSUER = "https://api.botframework.com"
OPENID_PATH = "/v1/.well-known/openidconfiguration"
JWKS_PATH = "/v1/.well-known/keys"
TOKEN_PATH = "/botframework.com/oauth2/v2.0/token"


@dataclass(frozen=True)
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # parsed JSON or form fields; None when empty
    status: int


@dataclass
class _State:
    members: dict[tuple[str, str], Json] = field(default_factory=dict)
    activities: dict[tuple[str, str], Json] = field(default_factory=dict)
    issued_tokens: set[str] = field(default_factory=set)
    calls: list[RecordedCall] = field(default_factory=list)
    fail_next: dict[str, list[int]] = field(default_factory=dict)  # "PUT" → next statuses
    broken: dict[str, int] = field(default_factory=dict)  # activity id → status of every PUT


def new_rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeTeamsConnector:
    """OpenID metadata + JWKS, token endpoint and connector on one loopback port."""

    def __init__(
        self,
        *,
        app_id: str,
        app_password: str,
        tenant_id: str,
        endorsements: tuple[str, ...] = ("msteams",),
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.tenant_id = tenant_id
        self.key = new_rsa_key()
        self.kid = f"test-{uuid.uuid4().hex[:8]}"
        self.endorsements = list(endorsements)
        self._state = _State()
        self._lock = threading.Lock()
        self._ids = itertools.count(1_700_000_000_001)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> FakeTeamsConnector:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def service_url(self) -> str:
        return self.base_url + "/teams/"

    @property
    def openid_metadata_url(self) -> str:
        return self.base_url + OPENID_PATH

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    # -- test set-up and inspection --------------------------------------------------------
    def add_member(
        self,
        conversation_id: str,
        *,
        aad_object_id: str,
        email: str,
        name: str = "Reviewer",
        tenant_id: str | None = None,
    ) -> Json:
        """A roster entry, reachable by its AAD object id or its Teams `29:` id."""
        member = {
            "id": f"29:1{aad_object_id}",
            "name": name,
            "aadObjectId": aad_object_id,
            "givenName": name.split()[0],
            "surname": name.split()[-1],
            "email": email,
            "userPrincipalName": email,
            "tenantId": tenant_id or self.tenant_id,
            "userRole": "user",
        }
        with self._lock:
            self._state.members[(conversation_id, aad_object_id)] = member
            self._state.members[(conversation_id, member["id"])] = member
        return member

    def reset(self) -> None:
        """Forget calls, posted activities and pending failures; keep the roster and tokens."""
        with self._lock:
            self._state.calls.clear()
            self._state.activities.clear()
            self._state.fail_next.clear()
            self._state.broken.clear()

    def break_activity(self, activity_id: str, status: int | None) -> None:
        """Every update of this activity answers `status` until called again with None."""
        with self._lock:
            if status is None:
                self._state.broken.pop(activity_id, None)
            else:
                self._state.broken[activity_id] = status

    def fail_next(self, method: str, status: int, times: int = 1) -> None:
        """Answer the next `times` connector calls of `method` with `status`."""
        with self._lock:
            self._state.fail_next[method] = [status] * times

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._state.calls)

    def member_lookups(self) -> list[RecordedCall]:
        """Roster lookups of one member (who clicked), not the paged roster of a whole chat."""
        return [c for c in self.connector_calls("GET") if "/members/" in c.path]

    def connector_calls(self, method: str | None = None) -> list[RecordedCall]:
        return [
            c
            for c in self.calls
            if c.path.startswith("/teams/v3/") and (method is None or c.method == method)
        ]

    @property
    def issued_tokens(self) -> set[str]:
        with self._lock:
            return set(self._state.issued_tokens)

    def activity(self, conversation_id: str, activity_id: str) -> Json | None:
        with self._lock:
            return self._state.activities.get((conversation_id, activity_id))

    def jwks(self) -> Json:
        jwk = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        jwk.update(kid=self.kid, use="sig", x5t=self.kid, endorsements=self.endorsements)
        return {"keys": [jwk]}

    def mint_token(
        self,
        *,
        service_url: str,
        audience: str | None = None,
        issuer: str = BOT_FRAMEWORK_ISSUER,
        expires_in: int = 3600,
        kid: str | None = None,
        key: rsa.RSAPrivateKey | None = None,
        extra: Json | None = None,
    ) -> str:
        """A JWT shaped like the one Bot Framework sends to a bot (RS256, kid in our JWKS)."""
        now = datetime.now(UTC)
        claims: Json = {
            "serviceurl": service_url,
            "nbf": int((now - timedelta(minutes=5)).timestamp()),
            "exp": int((now + timedelta(seconds=expires_in)).timestamp()),
            "iss": issuer,
            "aud": self.app_id if audience is None else audience,
        }
        claims.update(extra or {})
        return jwt.encode(
            claims,
            key or self.key,
            algorithm="RS256",
            headers={"kid": kid or self.kid, "x5t": kid or self.kid},
        )

    # -- request handling (called on the server thread) ------------------------------------
    def _handle(
        self, method: str, path: str, headers: dict[str, str], body: Any
    ) -> tuple[int, Any]:
        forced = None
        if path.startswith("/teams/v3/"):
            with self._lock:
                pending = self._state.fail_next.get(method)
                if pending:
                    forced = pending.pop(0)
        if forced is not None:
            return forced, {"error": {"code": "ServiceError", "message": "forced failure"}}
        if method == "GET" and path == OPENID_PATH:
            return 200, {
                "issuer": BOT_FRAMEWORK_ISSUER,
                "jwks_uri": self.base_url + JWKS_PATH,
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            }
        if method == "GET" and path == JWKS_PATH:
            return 200, self.jwks()
        if method == "POST" and path == TOKEN_PATH:
            return self._token(body if isinstance(body, dict) else {})
        if path.startswith("/teams/v3/"):
            token = headers.get("authorization", "").removeprefix("Bearer ")
            with self._lock:
                known = token in self._state.issued_tokens
            if not known:
                return 401, {"message": "Authorization has been denied for this request."}
            # The connector URL-quotes ids ("19:x@thread.tacv2" → "19%3Ax%40thread.tacv2").
            return self._connector(method, unquote(path.removeprefix("/teams")), body)
        return 404, {"error": {"code": "NotFound", "message": path}}

    def _token(self, form: dict[str, str]) -> tuple[int, Json]:
        if form.get("grant_type") != "client_credentials" or (
            form.get("client_id"),
            form.get("client_secret"),
        ) != (self.app_id, self.app_password):
            return 401, {"error": "invalid_client", "error_description": "bad client secret"}
        token = f"fake-access-{uuid.uuid4().hex}"
        with self._lock:
            self._state.issued_tokens.add(token)
        return 200, {
            "token_type": "Bearer",
            "expires_in": 3599,
            "ext_expires_in": 3599,
            "access_token": token,
        }

    def _connector(self, method: str, path: str, body: Any) -> tuple[int, Json]:
        post = re.fullmatch(r"/v3/conversations/([^/]+)/activities", path)
        if post and method == "POST":
            activity_id = str(next(self._ids))
            with self._lock:
                self._state.activities[(post[1], activity_id)] = body
            return 201, {"id": activity_id}
        reply = re.fullmatch(r"/v3/conversations/([^/]+)/activities/([^/]+)", path)
        if reply and method == "POST":  # a reply to an incoming activity (TurnContext.send)
            activity_id = str(next(self._ids))
            with self._lock:
                self._state.activities[(reply[1], activity_id)] = body
            return 201, {"id": activity_id}
        put = re.fullmatch(r"/v3/conversations/([^/]+)/activities/([^/]+)", path)
        if put and method == "PUT":
            with self._lock:
                broken = self._state.broken.get(put[2])
                if broken is not None:
                    return broken, {"error": {"code": "ServiceError", "message": "unavailable"}}
                if (put[1], put[2]) not in self._state.activities:
                    return 404, {
                        "error": {
                            "code": "ActivityNotFoundInConversation",
                            "message": "Unknown activity",
                        }
                    }
                self._state.activities[(put[1], put[2])] = body
            return 200, {"id": put[2]}
        if path == "/v3/conversations" and method == "POST":
            # A 1:1 chat with the bot: Teams answers with the same id for the same person.
            members = (body or {}).get("members") or []
            if (body or {}).get("isGroup") or len(members) != 1 or not members[0].get("id"):
                return 400, {"error": {"code": "BadArgument", "message": "one member"}}
            return 201, {"id": f"a:1personal-{members[0]['id']}"}
        paged = re.fullmatch(r"/v3/conversations/([^/]+)/pagedmembers", path)
        if paged and method == "GET":
            with self._lock:
                roster = {
                    m["aadObjectId"]: m
                    for (conv, _), m in self._state.members.items()
                    if conv == paged[1]
                }
            # One page: the double never has more members than Teams' page size.
            return 200, {"members": list(roster.values()), "continuationToken": None}
        member_path = re.fullmatch(r"/v3/conversations/([^/]+)/members/([^/]+)", path)
        if member_path and method == "GET":
            with self._lock:
                member = self._state.members.get((member_path[1], member_path[2]))
            if member is None:
                return 404, {
                    "error": {
                        "code": "MemberNotFoundInConversation",
                        "message": "The member could not be found",
                    }
                }
            return 200, member
        return 404, {"error": {"code": "NotFound", "message": path}}

    def _record(self, call: RecordedCall) -> None:
        with self._lock:
            self._state.calls.append(call)


def _handler_for(fake: FakeTeamsConnector) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            return

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            body: Any = None
            if raw:
                if "json" in headers.get("content-type", ""):
                    body = json.loads(raw)
                else:
                    body = dict(parse_qsl(raw.decode()))
            path = self.path.split("?", 1)[0]
            status, answer = fake._handle(self.command, path, headers, body)
            fake._record(RecordedCall(self.command, path, headers, body, status))
            payload = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _serve

    return Handler
