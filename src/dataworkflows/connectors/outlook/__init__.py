"""The Outlook connector (Microsoft Graph): port, msgraph-sdk client, internal API and sandbox.

Only :mod:`.client` and :mod:`.auth` touch msgraph-sdk and azure-identity, and only
when a client is built: importing the component, the service or the sandbox does not
load them (they take a second or more to import).
"""
