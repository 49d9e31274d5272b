"""Domain-free helpers; nothing here imports another approvals package."""
