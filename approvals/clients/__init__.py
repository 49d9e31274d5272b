"""API clients: identities, scopes and hashed keys."""
