"""What every connector is built from, so that none keeps its own copy.

- :mod:`upstream <dataworkflows.contracts.upstream>`: the error family a port's errors
  derive from, so that they carry the connector API's code, retryability and the
  vendor's wait; the action runner maps them, once, for every connector.
- :class:`Upstream`: the resilient transport (circuit breaker + stamina, honouring
  ``Retry-After``) every client sends its requests through.
- :class:`RecentResults`: the idempotent-write cache for vendors without idempotency
  keys of their own.

The sandboxes, apart from the connectors in :mod:`dataworkflows.sandboxes`, share
their test controls through :func:`dataworkflows.sandboxes.controls.sandbox_controls`.
"""

from dataworkflows.connectors.toolkit.idempotency import RecentResults
from dataworkflows.connectors.toolkit.transport import Upstream
from dataworkflows.contracts import upstream

__all__ = ["RecentResults", "Upstream", "upstream"]
