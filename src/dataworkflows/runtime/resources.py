"""Where shipped non-Python files (SQL migrations, workflow definitions) live.

A wheel (the container image) carries them inside the package under ``_bundled/``;
a source checkout (``uv sync``'s editable install) reads them from the repository.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["bundled_dir"]

_PACKAGE_DIR = Path(__file__).resolve().parent.parent


def bundled_dir(name: str) -> Path:
    """The directory of shipped ``name`` files (``migrations`` or ``workflows``)."""
    packaged = _PACKAGE_DIR / "_bundled" / name
    if packaged.is_dir():
        return packaged
    return _PACKAGE_DIR.parent.parent / name
