"""The Runtime: every long-lived resource of a process, built once and passed in.

The API server, the worker and each CLI command build one; nothing is created at import.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Mapping, Sequence
from functools import cached_property

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from approvals import telemetry
from approvals.actions import notices
from approvals.actions.models import ActionRequest
from approvals.actions.ports import IssuedRelease
from approvals.actions.waiting import Notifier
from approvals.api.ratelimit import SubmitBudget, submit_budget
from approvals.audit import sequencer
from approvals.channels.base import Channel
from approvals.channels.registry import build_platforms
from approvals.channels.review import CoreReview
from approvals.config import SECRET_KEY_FILE, Settings, comma_list
from approvals.identity.oidc import SingleSignOn
from approvals.jobs import notify, reconciler, tasks
from approvals.jobs.queue import InProcessQueue, JobQueue, RQQueue
from approvals.jobs.relay import Relay, hand_over
from approvals.kit.changes import ChangeFeed, feed_for
from approvals.kit.clock import utc_now
from approvals.kit.db import DatabaseLimits, create_engine, session_factory
from approvals.kit.http import Guard
from approvals.kit.loops import finish
from approvals.kit.private_files import load_or_create_secret, private_dir
from approvals.kit.secretbox import SecretBox
from approvals.outbox.handover import HANDOVER, Handover
from approvals.policy.engine import LoadedPolicy, RedactionSettings
from approvals.policy.loader import PolicyStore
from approvals.redaction import RedactionConfig, Redactor
from approvals.release import callbacks
from approvals.release import service as release_service
from approvals.release.keys import Keyring

log = structlog.get_logger(__name__)


def secret_box(settings: Settings) -> SecretBox:
    """Seals stored secrets with APPROVALS_SECRET_KEY (required in production); in development
    without one, with a key generated once under the data directory (0600)."""
    if settings.secret_key is not None and settings.secret_key.get_secret_value().strip():
        current = settings.secret_key.get_secret_value().strip()
    else:
        current = load_or_create_secret(settings.data_dir / SECRET_KEY_FILE)
    raw = settings.previous_secret_keys
    previous = comma_list(raw.get_secret_value() if raw else "")
    return SecretBox(current, previous)


def redaction_config(settings: RedactionSettings) -> RedactionConfig:
    """The policy's `redaction:` section in the redaction engine's terms."""
    return RedactionConfig(
        extra_keys=frozenset(settings.extra_keys),
        custom_patterns=tuple((p.type, p.pattern) for p in settings.custom_patterns),
        keep_keys=frozenset(settings.keep_keys),
    )


class Policies:
    """The policy store plus the redactor built from its current version.

    Shareable between Runtimes: a worker process keeps one Runtime for its jobs, but a forking
    worker's horse builds one per job, and parsing the
    policy (YAML and validation, about 2.4 ms) and compiling its redactor on every job was
    most of the cost of building one. The store still reloads the file when it changes, and
    the redactor is rebuilt whenever the policy version it was built for is replaced.
    """

    def __init__(self, store: PolicyStore) -> None:
        self.store = store
        self._redactor: tuple[str, Redactor] | None = None

    def redactor_for(self, policy: LoadedPolicy) -> Redactor:
        cached = self._redactor  # one read: another thread may replace it meanwhile
        if cached is None or cached[0] != policy.version:
            cached = (policy.version, Redactor(redaction_config(policy.redaction)))
            self._redactor = cached
        return cached[1]


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        engine: AsyncEngine | None = None,
        policies: Policies | None = None,
    ) -> None:
        """`engine` and `policies` may be passed in to share them (a worker's job Runtime uses
        its process's policies); otherwise they are built from `settings`."""
        self.settings = settings
        if settings.is_embedded:
            private_dir(settings.data_dir)
        telemetry.configure(settings)
        self.engine = engine or create_engine(
            settings.resolved_database_url,
            limits=DatabaseLimits(
                pool_size=settings.database_pool_size,
                pool_overflow=settings.database_pool_overflow,
                pool_timeout_seconds=settings.database_pool_timeout_seconds,
                lock_timeout_seconds=settings.database_lock_timeout_seconds,
            ),
        )
        if engine is None:
            telemetry.instrument_engine(self.engine)
        self.secrets = secret_box(settings)
        self.handover = Handover(settings.job_lease_seconds)
        reach = notices.Reach(
            posts_cards=lambda: bool(self._channels),
            notice_skip_reason=lambda: notify.why_nobody_is_told(
                self.policies, self._messages_people
            ),
        )
        self._db = session_factory(
            self.engine,
            secrets=self.secrets,
            shared={HANDOVER: self.handover, notices.REACH: reach},
        )
        self._policies = policies or Policies(PolicyStore(settings.policy_file))
        self.keyring = Keyring.load_or_create(settings.keys_dir)
        self._callback_guard = Guard(allowed_addresses=settings.callback_allowed_networks)
        self.notifier = Notifier()
        self.submit_limiter: SubmitBudget = submit_budget(
            settings.redis_url, settings.submit_rate_per_minute, settings.submit_burst
        )
        self.changes: ChangeFeed = feed_for(settings.redis_url, self.engine)
        self.platforms = build_platforms(settings, CoreReview(self, settings.base_url), self._db)
        self._channels: dict[str, Channel] = self.platforms.channels
        self._messages_people = notify.messages_people(self._channels)
        self.queue: JobQueue = (
            RQQueue(settings.redis_url) if settings.redis_url else InProcessQueue(self.run_job)
        )
        self.relay = Relay(self.handover, self.queue)
        self._background: list[asyncio.Task[None]] = []
        self._stop_background = asyncio.Event()
        # Web single sign-on, when configured; its provider metadata is fetched on first use.
        self.sso: SingleSignOn | None = SingleSignOn(settings) if settings.oidc_enabled else None

    @property
    def db(self) -> async_sessionmaker[AsyncSession]:
        return self._db

    @property
    def policies(self) -> PolicyStore:
        return self._policies.store

    def redactor_for(self, policy: LoadedPolicy) -> Redactor:
        return self._policies.redactor_for(policy)

    @property
    def callback_guard(self) -> Guard:
        return self._callback_guard

    def issue_release(
        self, session: AsyncSession, action: ActionRequest, approvers: Sequence[str]
    ) -> IssuedRelease:
        """The actions port to the release domain (`actions` does not import `release`): the
        token of a request policy auto-approved, minted in the submit's own transaction."""
        row = release_service.issue(
            self, session, action, approvers, action.decided_at or utc_now()
        )
        return IssuedRelease(row.token, row.jti, row.kid, row.issued_at, row.expires_at)

    @cached_property
    def callback_tls(self) -> ssl.SSLContext:
        """Built at the first callback, then shared by every delivery of this Runtime."""
        return callbacks.tls_context()

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self._channels

    async def committed(self, action_id: str, *, created: bool = False) -> None:
        if not created:  # a new id has no waiters anywhere: no broadcast (a Redis round trip)
            self.notifier.publish(action_id)
            await self.changes.publish(action_id)
        if self.relay.running:
            self.relay.kick()
            return
        # A CLI command or a job has no relay loop: hand the work over now. The change is
        # committed already, so a queue outage must not fail the caller; the leased rows are
        # offered again by the reconciler.
        try:
            await hand_over(self.handover, self.queue)
        except Exception as exc:
            log.warning("relay.failed", error=type(exc).__name__)

    async def listen_for_changes(self) -> None:
        """Wake this process's /wait long-polls when another process changes a request."""
        await self.changes.start(self.notifier.publish)

    async def run_job(self, outbox_id: str) -> None:
        await tasks.run(self, outbox_id)

    def start_background(self) -> None:
        """Relay, reconciler and audit sequencer loops: only the serving process (or a worker)
        runs them."""
        self.relay.start()
        self._background.append(
            asyncio.create_task(
                reconciler.run_forever(
                    self,
                    self.queue,
                    interval=self.settings.reconcile_interval_seconds,
                    lease_seconds=self.settings.job_lease_seconds,
                    stop=self._stop_background,
                ),
                name="reconciler",
            )
        )
        self._background.append(
            asyncio.create_task(
                sequencer.run_forever(
                    self.db, self.settings.audit_seal_interval_seconds, self._stop_background
                ),
                name="audit-sequencer",
            )
        )

    async def close(self) -> None:
        """Stop the loops between rounds (docs/operations.md, "Stopping"): the sequencer seals
        what was committed, then the relay hands over what the last rounds wrote."""
        self._stop_background.set()
        await finish(self._background)
        await self.relay.stop()
        await self.changes.close()
        await self.submit_limiter.close()
        await self.queue.close()
        await self.engine.dispose()
