"""Time-ordered identifiers for rows written at a high rate."""

from __future__ import annotations

import os
import time
from typing import Final
from uuid import UUID

__all__ = ["uuid7"]

_VERSION_7: Final = 0x7 << 76
_VARIANT_RFC: Final = 0b10 << 62
_RAND_B_MASK: Final = (1 << 62) - 1


def uuid7() -> UUID:
    """A version 7 UUID (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits.

    Run ids are the leading column of the primary keys of ``dw.runs`` and
    ``dw.step_attempts``. Random (version 4) ids scatter every insert over the whole
    index, so each checkpoint writes a full image of nearly every leaf page again;
    ids that grow with time put new runs at the right edge of the index, a few hot
    pages (bench/README.md, "PostgreSQL's CPU per step"). The random bits keep ids
    unguessable and distinct across engines; within one millisecond they are not
    ordered, which costs nothing here.
    """
    millis = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")  # 80 bits; 74 are used
    rand_a = (rand >> 68) & 0xFFF
    rand_b = rand & _RAND_B_MASK
    return UUID(int=(millis << 80) | _VERSION_7 | (rand_a << 64) | _VARIANT_RFC | rand_b)
