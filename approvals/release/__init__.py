"""Release: payload-bound tokens, signing keys and signed callbacks."""
