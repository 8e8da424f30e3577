"""Checks of a message against Slack's documented size limits, before sending it.

Slack answers ``invalid_blocks`` or ``msg_too_long`` for a message over its limits,
with a JSON pointer that is hard to trace back to a workflow's template. Checking
here names the problem in the step's own terms and spares a call. Only the
documented limits are checked (Block Kit reference: 50 blocks per message, section
text 3,000 characters, at most 10 fields of 2,000, ``block_id`` 255, header text
150; message text 40,000): Slack stays the judge of everything else, and the
sandbox models the schema independently, so that client and sandbox keep each other
honest rather than share a mistake.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "MAX_BLOCKS",
    "MAX_BLOCK_ID",
    "MAX_FIELDS",
    "MAX_FIELD_TEXT",
    "MAX_HEADER_TEXT",
    "MAX_SECTION_TEXT",
    "MAX_TEXT",
    "message_problem",
]

MAX_BLOCKS: Final = 50
MAX_SECTION_TEXT: Final = 3000
MAX_FIELDS: Final = 10
MAX_FIELD_TEXT: Final = 2000
MAX_BLOCK_ID: Final = 255
MAX_HEADER_TEXT: Final = 150
MAX_TEXT: Final = 40_000


def _text_of(value: object) -> str | None:
    if isinstance(value, Mapping):
        text = value.get("text")
        return text if isinstance(text, str) else None
    return None


def _block_problem(index: int, block: object) -> str | None:
    where = f"blocks[{index}]"
    if not isinstance(block, Mapping) or not isinstance(block.get("type"), str):
        return f"{where}: each block must be an object with a string 'type'"
    block_id = block.get("block_id")
    if isinstance(block_id, str) and len(block_id) > MAX_BLOCK_ID:
        return f"{where}.block_id: {len(block_id):,} characters; at most {MAX_BLOCK_ID}"
    kind = block["type"]
    if kind == "section":
        text = _text_of(block.get("text"))
        if text is not None and len(text) > MAX_SECTION_TEXT:
            return (
                f"{where}.text.text: {len(text):,} characters; a section's text may have "
                f"at most {MAX_SECTION_TEXT:,}"
            )
        fields = block.get("fields")
        if isinstance(fields, Sequence) and not isinstance(fields, str):
            if len(fields) > MAX_FIELDS:
                return (
                    f"{where}.fields: {len(fields)} fields; a section may have at most {MAX_FIELDS}"
                )
            for n, field in enumerate(fields):
                field_text = _text_of(field)
                if field_text is not None and len(field_text) > MAX_FIELD_TEXT:
                    return (
                        f"{where}.fields[{n}].text: {len(field_text):,} characters; "
                        f"at most {MAX_FIELD_TEXT:,}"
                    )
        if text is None and not fields:
            return f"{where}: a section needs 'text' or 'fields'"
    elif kind == "header":
        text = _text_of(block.get("text"))
        if text is not None and len(text) > MAX_HEADER_TEXT:
            return (
                f"{where}.text.text: {len(text):,} characters; a header may have at most "
                f"{MAX_HEADER_TEXT}"
            )
    return None


def message_problem(
    text: str | None, blocks: Sequence[Any] | None, *, content_required: bool = True
) -> str | None:
    """What is wrong with a message of ``text`` and ``blocks``, naming the field; or None.

    ``content_required``: at least one of ``text`` and ``blocks`` must say something
    (not for a response that only deletes the original).
    """
    if content_required and not (text and text.strip()) and not blocks:
        return "text or blocks: a message needs at least one of them (non-empty)"
    if text is not None and len(text) > MAX_TEXT:
        return f"text: {len(text):,} characters; Slack takes at most {MAX_TEXT:,}"
    if blocks is None:
        return None
    if len(blocks) > MAX_BLOCKS:
        return f"blocks: {len(blocks)} blocks; Slack takes at most {MAX_BLOCKS} per message"
    seen: set[str] = set()
    for index, block in enumerate(blocks):
        problem = _block_problem(index, block)
        if problem is not None:
            return problem
        block_id = block.get("block_id")
        if isinstance(block_id, str):
            if block_id in seen:
                return f"blocks[{index}].block_id: {block_id!r} is used twice; ids must be unique"
            seen.add(block_id)
    return None
