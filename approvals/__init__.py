"""Action-level approvals for automation that touches regulated data."""

__version__ = "0.1.0"
