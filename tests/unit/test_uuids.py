"""Run ids: version 7 UUIDs, ordered by the time they were made."""

from __future__ import annotations

import time
from uuid import UUID

from dataworkflows.runtime.uuids import uuid7


def test_ids_are_rfc_9562_version_7() -> None:
    """Every id carries version 7 and the RFC variant, so any UUID parser accepts it."""
    for _ in range(1000):
        made = uuid7()
        assert made.version == 7
        assert made.variant == "specified in RFC 4122"
        assert UUID(str(made)) == made


def test_ids_carry_the_millisecond_they_were_made() -> None:
    """The first 48 bits are the Unix time in milliseconds, as other tools decode them."""
    before = time.time_ns() // 1_000_000
    made = uuid7()
    after = time.time_ns() // 1_000_000
    assert before <= made.int >> 80 <= after


def test_later_ids_sort_after_earlier_ones() -> None:
    """An id made a millisecond later sorts after, as bytes (PostgreSQL's uuid order)."""
    earlier = [uuid7() for _ in range(100)]
    time.sleep(0.002)
    later = uuid7()
    assert all(e.bytes < later.bytes for e in earlier)


def test_ids_made_together_are_distinct() -> None:
    """Ids made in the same millisecond differ: 74 of their bits are random."""
    made = {uuid7() for _ in range(100_000)}
    assert len(made) == 100_000
