"""The console as a component of its own: its pages over an engine's REST API.

``serve console`` signs people in with ``DW_API_KEYS`` (the keys the engines accept;
when unset, ``DW_ENGINE_API_KEY`` alone) and asks the engine at ``DW_ENGINE_URL``
with ``DW_ENGINE_API_KEY``. Inside the engine (``serve engine``, ``dev``) the engine
serves the same pages itself (see :mod:`.engine`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar

from dataworkflows.composition.errors import ConfigurationProblem
from dataworkflows.composition.settings import Settings
from dataworkflows.console.backend import BackendError
from dataworkflows.console.remote import ApiBackend
from dataworkflows.console.routes import console_router
from dataworkflows.runtime.app import create_app

__all__ = ["CONSOLE_DEFAULT_PORT", "console_component"]

CONSOLE_DEFAULT_PORT = 8092


def check_console(settings: Settings) -> str:
    """The key the console calls the engine with; :class:`ConfigurationProblem` if unset."""
    key = settings.console.engine_api_key
    if not key:
        raise ConfigurationProblem(
            "DW_ENGINE_API_KEY is not set: the console reads the engine's API with one of "
            "the engine's DW_API_KEYS"
        )
    return key


@asynccontextmanager
async def console_component(settings: Settings) -> AsyncIterator[Litestar]:
    """The standalone console's app; its HTTP client is closed on exit."""
    key = check_console(settings)
    backend = ApiBackend(settings.console.engine_url, key)

    async def engine_check() -> str | None:
        try:
            await backend.workflows()
        except BackendError as exc:
            return str(exc)
        return None

    try:
        yield create_app(
            component="console",
            route_handlers=[
                console_router(backend, settings.engine.api_keys or (key,), api_docs=False)
            ],
            readiness={"engine": engine_check},
        )
    finally:
        await backend.aclose()
