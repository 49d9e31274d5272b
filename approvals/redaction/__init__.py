"""PHI redaction: the boundary raw protected health information never crosses.

Pure: no I/O, no database, no logging of inputs. Intake calls `Redactor.redact` on one
document holding every free-text part of a request, before anything is stored or queued.
"""

from approvals.redaction import walker as _walker
from approvals.redaction.types import Finding, Redacted, RedactionConfig, RedactionError
from approvals.redaction.walker import Redactor

# True in a wheel built with APPROVALS_COMPILE=1 (mypyc extensions, see hatch_build.py).
COMPILED: bool = not (_walker.__file__ or "").endswith(".py")

__all__ = ["COMPILED", "Finding", "Redacted", "RedactionConfig", "RedactionError", "Redactor"]
