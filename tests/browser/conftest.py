"""The browser tests drive Debian's Chromium (DW_CHROMIUM: its path) with Playwright;
without it they are skipped (.ci/browser installs it and runs them)."""

from __future__ import annotations

import os

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests here ``browser``; skip them without a browser to drive."""
    for item in items:
        if "tests/browser/" not in str(item.fspath).replace(os.sep, "/"):
            continue
        item.add_marker(pytest.mark.browser)
        if not os.environ.get("DW_CHROMIUM"):
            item.add_marker(
                pytest.mark.skip(reason="set DW_CHROMIUM=/usr/bin/chromium (.ci/browser does)")
            )
