"""Named SQL blocks load once, and a broken file fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from dataworkflows.runtime import queries
from dataworkflows.runtime.queries import load_queries


def test_runtime_queries_load_by_name() -> None:
    """The migration runner's queries are found under their headers."""
    loaded = load_queries("dataworkflows.runtime.sql", "runtime.sql")
    assert {"lock", "unlock", "applied", "record", "ping"} <= loaded.keys()
    assert loaded["ping"] == "SELECT 1"


def test_duplicate_and_empty_blocks_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name used twice, or a header with no SQL, raises at load time."""
    (tmp_path / "dup.sql").write_text("-- a --\nSELECT 1\n-- a --\nSELECT 2\n")
    (tmp_path / "empty.sql").write_text("-- a --\n\n-- b --\nSELECT 2\n")
    monkeypatch.setattr(queries, "files", lambda package: tmp_path)
    with pytest.raises(ValueError, match="defined twice"):
        load_queries("x", "dup.sql")
    with pytest.raises(ValueError, match="is empty"):
        load_queries("x", "empty.sql")
