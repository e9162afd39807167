"""The agent desk: preview mode, callbacks promised by one agent, the agent page's API."""
