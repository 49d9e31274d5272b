"""`approvals mcp`: the approval tools for agents that speak the Model Context Protocol."""

from __future__ import annotations

from approvals.cli.common import (
    DEFAULT_SERVER,
    ClientIdOption,
    IssuerOption,
    KeyOption,
    ServerOption,
    fail,
)

# Rendered as Markdown (the CLI's rich_markup_mode): paragraphs reflow, the JSON is a code block.
HELP = "\n\n".join(
    [
        "Serve approvals as MCP tools over stdio, for AI agents that speak MCP.",
        "Tools: request_approval (submit an action with its exact params; optionally wait for "
        "the verdict), approval_status (check, or wait again), report_executed (report the "
        "outcome). A release token is returned only once it has been verified offline for "
        "exactly the submitted payload (release_verified: true).",
        "The agent's MCP client starts this command. It reads the same settings as `approvals "
        "request` (APPROVALS_URL, APPROVALS_KEY) and optionally APPROVALS_CLIENT_ID, which pins "
        "the tokens' audience. Create a key with `approvals clients create my-agent --scopes "
        "submit --json`, then add this to the client's MCP configuration (Claude Desktop, "
        "Cursor, VS Code, ...):",
        """```json
{
  "mcpServers": {
    "approvals": {
      "command": "approvals",
      "args": ["mcp"],
      "env": {
        "APPROVALS_URL": "https://approvals.example.org",
        "APPROVALS_KEY": "apk_...",
        "APPROVALS_CLIENT_ID": "..."
      }
    }
  }
}
```""",
        "Stdout carries the protocol; logs go to stderr.",
    ]
)


def mcp(
    server: ServerOption = DEFAULT_SERVER,
    key: KeyOption = None,
    client_id: ClientIdOption = None,
    issuer: IssuerOption = None,
) -> None:
    if not key:
        fail(
            "no API key: pass --key or set APPROVALS_KEY (create one with "
            "`approvals clients create my-agent --scopes submit --json`)"
        )
    from approvals.kit.extras import missing_extra

    if message := missing_extra("mcp", extra="mcp", feature="`approvals mcp`"):
        fail(message, 2)
    import anyio

    from approvals.client import AsyncApprovalsClient
    from approvals.mcp.server import build_server

    async def run() -> None:
        async with AsyncApprovalsClient(server, key, client_id=client_id, issuer=issuer) as client:
            await build_server(client).run_stdio_async()

    anyio.run(run)


mcp.__doc__ = HELP
