"""Interactive API documentation that works with no internet access.

The OpenAPI document is at ``/docs/openapi.json`` and Swagger UI at ``/docs``. Swagger
UI's JavaScript, CSS and icon come from the ``swagger-ui-py`` wheel and are served by
the app itself under ``/docs/assets``; nothing is fetched from a CDN.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from litestar import Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme, Tag
from litestar.static_files import create_static_files_router

__all__ = ["DOCS_PATH", "docs_assets_router", "openapi_config"]

DOCS_PATH: Final = "/docs"
ASSETS_PATH: Final = "/docs/assets"
_ICON: Final = "favicon-32x32.png"


def _swagger_static_dir() -> Path:
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


def docs_assets_router() -> Router:
    """Serves Swagger UI's static files at ``/docs/assets``."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[_swagger_static_dir()],
        include_in_schema=False,
        name="docs-assets",
    )


def openapi_config(
    *,
    title: str,
    version: str,
    description: str,
    tags: list[Tag] | None = None,
    bearer_auth: bool = False,
) -> OpenAPIConfig:
    """OpenAPI settings for a component: JSON at ``/docs/openapi.json``, Swagger UI at ``/docs``.

    With ``bearer_auth`` the document declares the ``Authorization: Bearer`` scheme
    ``apiKey`` (routes that need it say so), so the UI offers an "Authorize" button.
    """
    components = Components()
    if bearer_auth:
        components = Components(
            security_schemes={
                "apiKey": SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An API key from DW_API_KEYS (dev prints its key on start).",
                )
            }
        )
    return OpenAPIConfig(
        title=title,
        version=version,
        description=description,
        path=DOCS_PATH,
        tags=tags,
        components=components,
        render_plugins=[
            SwaggerRenderPlugin(
                path="/",
                js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
                favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/{_ICON}'>",
            ),
            JsonRenderPlugin(path="/openapi.json"),
        ],
    )
