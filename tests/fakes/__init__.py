"""Loopback test doubles of the services approvals talks to."""
