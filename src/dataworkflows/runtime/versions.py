"""What storing a versioned document answers (a workflow's definition, a template's source)."""

from __future__ import annotations

from datetime import datetime

import msgspec

__all__ = ["Registration"]


class Registration(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of storing a version of a document."""

    version: int
    created: bool
    """False when the document equals the latest version (nothing stored)."""
    created_at: datetime
