"""The one error tree. Domain code raises these; one handler renders them as
`{"error": code, "detail": message}` with the class's HTTP status.

    ApprovalsError (500 internal)
    ├── InvalidRequest (422 invalid_request)
    │   └── RedactionFailed (422 redaction_failed)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    │   ├── SelfApproval (403 self_approval)
    │   ├── NotEligible (403 not_eligible)
    │   └── StepUpRequired (403 step_up_required)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    │   ├── AlreadyDecided (409 already_decided)
    │   ├── RequestExpired (409 expired)
    │   └── IdempotencyConflict (409 idempotency_conflict)
    ├── PayloadTooLarge (413 payload_too_large)
    ├── RateLimited (429 rate_limited)
    └── Unavailable (503 unavailable, with Retry-After)
        └── DatabaseBusy (503 database_busy): pool, lock or connection failure

Database failures a retry can cure (kit.db.outage) are rendered as DatabaseBusy by the same
handler, whichever layer they surface in; they are never a 500.

Messages are for humans and never contain request values (PHI).
"""

from __future__ import annotations


class ApprovalsError(Exception):
    code = "internal"
    status = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidRequest(ApprovalsError):
    code = "invalid_request"
    status = 422


class RedactionFailed(InvalidRequest):
    code = "redaction_failed"


class Unauthorized(ApprovalsError):
    code = "unauthorized"
    status = 401


class Forbidden(ApprovalsError):
    code = "forbidden"
    status = 403


class SelfApproval(Forbidden):
    code = "self_approval"


class NotEligible(Forbidden):
    code = "not_eligible"


class StepUpRequired(Forbidden):
    """An approval on a request whose policy demands step-up, cast without it."""

    code = "step_up_required"


class NotFound(ApprovalsError):
    code = "not_found"
    status = 404


class Conflict(ApprovalsError):
    code = "conflict"
    status = 409


class AlreadyDecided(Conflict):
    code = "already_decided"


class RequestExpired(Conflict):
    code = "expired"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class PayloadTooLarge(ApprovalsError):
    code = "payload_too_large"
    status = 413


class RateLimited(ApprovalsError):
    code = "rate_limited"
    status = 429

    def __init__(self, detail: str, retry_after: float = 1.0) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ApprovalsError):
    code = "unavailable"
    status = 503

    def __init__(self, detail: str, retry_after: float = 5.0) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class DatabaseBusy(Unavailable):
    code = "database_busy"
