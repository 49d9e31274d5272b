"""Policy texts shared by the policy tests."""

from __future__ import annotations

BASE = """\
version: 1
groups:
  dba-oncall: {members: [Bob@Example.org, carol@example.org]}
  privacy: {members: [dana@example.org, erin@example.org], slack_usergroup: S012}
defaults:
  ttl: 1h
  max_ttl: 4h
  channels: [web]
  decision:
    require: {approvals: 1, from: [dba-oncall]}
rules:
  - id: block-drops
    match: {guardrails: ["sql.drop_*"], environment: prod}
    decision: {block: "No drops in prod."}
  - id: exports
    match: {action: "*.export", environment: [prod, staging]}
    decision:
      require:
        approvals: 2
        from: [privacy, dba-oncall]
        channels: [web, "slack:C0123"]
        ttl: 8h
        remind_after: 30m
        escalate_after: 1h
        escalate_to: ["teams:oncall"]
        deny_ends: false
        step_up: true
  - id: regex-action
    match: {action: "re:sql\\\\.(select|explain)", risk_at_most: low}
    decision: {auto_approve: true}
  - id: bots-for-dbas
    match: {requester: "svc:*", on_behalf_of: "group:dba-oncall"}
    decision: {auto_approve: true}
  - id: tagged
    match: {tags: [phi, bulk]}
    decision:
      require: {approvals: 1, from: [privacy]}
  - id: high-risk
    match: {risk_at_least: high}
    decision:
      require: {approvals: 2, from: [dba-oncall]}
"""
