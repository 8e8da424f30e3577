"""The Monday.com connector: port, GraphQL client, internal API and sandbox."""
