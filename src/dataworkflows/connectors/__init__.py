"""Connectors: one package per upstream service (port, client, fake, service, spec).

Each package's ``spec.py`` exports a :class:`~dataworkflows.runtime.plugins.ConnectorSpec`
named by an entry point of the ``dataworkflows.connectors`` group in ``pyproject.toml``;
nothing else lists them. A spec imports its component module only when it builds
the connector, so a process loads only its own SDKs (msgraph is large).
"""
