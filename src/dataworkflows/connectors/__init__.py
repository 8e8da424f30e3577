"""Connectors: one package per upstream service (port, client, fake, sandbox, service)."""
