"""The Confluence Cloud connector: port, REST client, internal API and sandbox."""
