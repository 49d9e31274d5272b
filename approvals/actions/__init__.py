"""Action requests: the core domain and the only writer of request state."""
