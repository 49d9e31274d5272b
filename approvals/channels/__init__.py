"""Reviewer platforms (Slack, Teams, web) as adapters over one platform-neutral card."""
