"""PHI redaction: the boundary raw protected health information never crosses.

Pure: no I/O, no database, no logging of inputs. Intake calls `Redactor.redact` on one
document holding every free-text part of a request, before anything is stored or queued.
"""

from approvals.redaction.types import Finding, Redacted, RedactionConfig, RedactionError
from approvals.redaction.walker import Redactor

__all__ = ["Finding", "Redacted", "RedactionConfig", "RedactionError", "Redactor"]
