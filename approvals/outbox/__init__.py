"""Work that must follow a commit, written in the same transaction (low layer)."""
