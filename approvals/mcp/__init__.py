"""Model Context Protocol tools for agents (`approvals mcp`); built on the SDK only."""
