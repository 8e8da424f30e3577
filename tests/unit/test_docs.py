"""The engine's API documentation works offline: every asset is served by the app."""

from __future__ import annotations

from html.parser import HTMLParser

from litestar.testing import TestClient

from dataworkflows.engine.app import create_engine_app


class _AssetCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "script" and attributes.get("src"):
            self.assets.append(str(attributes["src"]))
        if tag == "link" and attributes.get("href"):
            self.assets.append(str(attributes["href"]))


def test_docs_page_and_every_asset_it_references_answer_200() -> None:
    """/docs references only local assets, and each of them is served."""
    with TestClient(create_engine_app(readiness={}, api=None)) as client:
        page = client.get("/docs")
        assert page.status_code == 200
        assert "text/html" in page.headers["content-type"]
        collector = _AssetCollector()
        collector.feed(page.text)
        assert len(collector.assets) >= 3  # css, bundle, preset (and the icon)
        for asset in collector.assets:
            assert asset.startswith("/"), f"{asset} would be fetched from the internet"
            response = client.get(asset)
            assert response.status_code == 200, asset
            assert len(response.content) > 0, asset


def test_openapi_document_is_served_as_json() -> None:
    """/docs/openapi.json is the OpenAPI 3.1 document of the engine."""
    with TestClient(create_engine_app(readiness={}, api=None)) as client:
        response = client.get("/docs/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "Data Workflows engine"
    assert "/readyz" in document["paths"]
