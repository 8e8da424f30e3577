"""The core connector's spec: nothing to configure (see runtime.plugins)."""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Final

import msgspec

from dataworkflows.runtime.connector_app import ConnectorParts
from dataworkflows.runtime.plugins import ConnectorSpec

__all__ = ["SPEC", "CoreSettings"]


class CoreSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The core connector has no settings."""


def _parts(settings: CoreSettings) -> AbstractAsyncContextManager[ConnectorParts]:
    from dataworkflows.connectors.core.component import connector_parts

    return connector_parts(settings)


SPEC: Final = ConnectorSpec(
    name="core",
    summary="rendering, transforming and waiting, with no upstream service",
    settings=CoreSettings,
    parts=_parts,
    default_port=8100,
)
