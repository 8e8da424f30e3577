"""The Slack connector: port, Web API client, internal API and sandbox."""
