"""The core connector's spec: nothing to configure (see runtime.plugins)."""

from __future__ import annotations

from typing import Final

import msgspec

from dataworkflows.runtime.plugins import ConnectorSpec

__all__ = ["SPEC", "CoreSettings"]


class CoreSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The core connector has no settings."""


SPEC: Final = ConnectorSpec(
    name="core",
    summary="rendering, transforming and waiting, with no upstream service",
    settings=CoreSettings,
    parts="dataworkflows.connectors.core.component:connector_parts",
    default_port=8100,
)
