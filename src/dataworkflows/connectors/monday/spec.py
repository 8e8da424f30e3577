"""The Monday connector's spec: its settings and how to build it (see runtime.plugins)."""

from __future__ import annotations

import re
from typing import Annotated, Final

import msgspec

from dataworkflows.runtime.plugins import ConnectorSpec
from dataworkflows.runtime.settings import (
    SECRET,
    SettingsError,
    env,
    parse_http_url,
    parse_secret,
)

__all__ = ["SPEC", "MondaySettings"]

_API_VERSION_RE: Final = re.compile(r"^\d{4}-(01|04|07|10)$")


def _parse_api_version(name: str, raw: str) -> str:
    if not _API_VERSION_RE.match(raw):
        raise SettingsError(name, f"must be yyyy-mm with month 01, 04, 07 or 10, got {raw!r}")
    return raw


class MondaySettings(msgspec.Struct, frozen=True, kw_only=True):
    """The monday.com account the connector works as."""

    api_token: Annotated[
        str | None,
        env("MONDAY_API_TOKEN", parse_secret, "a monday.com API token (or a sandbox's)"),
        SECRET,
    ] = None
    api_url: Annotated[
        str | None,
        env("MONDAY_API_URL", parse_http_url, "the GraphQL endpoint (default monday.com's)"),
    ] = None
    api_version: Annotated[
        str, env("MONDAY_API_VERSION", _parse_api_version, "the pinned API-Version (yyyy-mm)")
    ] = "2025-07"


SPEC: Final = ConnectorSpec(
    name="monday",
    summary="monday.com boards, items and updates",
    settings=MondaySettings,
    parts="dataworkflows.connectors.monday.component:connector_parts",
    default_port=8101,
    configured_by=("api_token",),
    sandbox="dataworkflows.sandboxes.monday.spec:SANDBOX",
)
