"""Keyset cursors for the REST API's lists (newest first by creation time, then id)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol
from uuid import UUID

from dataworkflows.runtime.problems import FieldError, Problem

__all__ = ["Keyed", "decode_cursor", "encode_cursor", "next_cursor"]


def encode_cursor(created_at: datetime, id: UUID) -> str:
    """An opaque cursor for the position after the entry created at ``created_at``
    with ``id``."""
    raw = f"{created_at.isoformat()}|{id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class Keyed(Protocol):
    """An entry of a keyset-paged list."""

    @property
    def created_at(self) -> datetime: ...

    @property
    def id(self) -> UUID: ...


def next_cursor(page: Sequence[Keyed], limit: int) -> str | None:
    """The cursor of the page after ``page`` (asked for ``limit`` entries); None when
    ``page`` is not full, so there is none."""
    if len(page) < limit or not page:
        return None
    return encode_cursor(page[-1].created_at, page[-1].id)


def decode_cursor(cursor: str) -> tuple[datetime, UUID]:
    """The position a cursor stands for; 400 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, _, id = raw.partition("|")
        return datetime.fromisoformat(created), UUID(id)
    except (ValueError, UnicodeDecodeError):
        raise Problem(
            400,
            "The cursor is not valid.",
            errors=[FieldError(field="cursor", message="unknown cursor")],
        ) from None
