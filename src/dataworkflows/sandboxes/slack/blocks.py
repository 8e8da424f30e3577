"""Block Kit checks of the Slack sandbox: the ``invalid_blocks`` messages Slack gives
for a message's ``blocks`` (block and element types, text object lengths, duplicate
``block_id``/``action_id``), as chat.postMessage, chat.update, chat.postEphemeral and
response_urls check them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from dataworkflows.sandboxes.slack.api_base import ApiError

__all__ = ["block_errors", "invalid_blocks"]


_BLOCK_TYPES: Final = frozenset(
    {
        "section",
        "divider",
        "image",
        "actions",
        "context",
        "header",
        "input",
        "rich_text",
        "file",
        "video",
        "markdown",
        "table",
        "context_actions",
    }
)


def _text_object_errors(value: object, pointer: str, *, max_len: int, plain: bool) -> list[str]:
    if not isinstance(value, Mapping):
        return [f"must be an object [json-pointer:{pointer}]"]
    kinds = ("plain_text",) if plain else ("plain_text", "mrkdwn")
    if value.get("type") not in kinds:
        return [f"must be one of {', '.join(kinds)} [json-pointer:{pointer}/type]"]
    text = value.get("text")
    if not isinstance(text, str) or not text:
        return [f"must be more than 0 characters [json-pointer:{pointer}/text]"]
    if len(text) > max_len:
        return [f"must be less than {max_len + 1} characters [json-pointer:{pointer}/text]"]
    return []


def _element_errors(element: object, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(element, Mapping) or not isinstance(element.get("type"), str):
        return [f"missing required field: type [json-pointer:{pointer}]"]
    errors: list[str] = []
    action_id = element.get("action_id")
    if isinstance(action_id, str):
        if len(action_id) > 255:
            errors.append(f"must be less than 256 characters [json-pointer:{pointer}/action_id]")
        if action_id in action_ids:
            errors.append(f"action_id already exists [json-pointer:{pointer}/action_id]")
        action_ids.add(action_id)
    if element["type"] == "button":
        errors += _text_object_errors(
            element.get("text"), f"{pointer}/text", max_len=75, plain=True
        )
        value = element.get("value")
        if isinstance(value, str) and len(value) > 2000:
            errors.append(f"must be less than 2001 characters [json-pointer:{pointer}/value]")
    return errors


def _section_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    errors: list[str] = []
    text, fields = block.get("text"), block.get("fields")
    if text is None and not fields:
        errors.append(f"must provide either text or fields [json-pointer:{pointer}]")
    if text is not None:
        errors += _text_object_errors(text, f"{pointer}/text", max_len=3000, plain=False)
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            errors.append(f"must contain at most 10 items [json-pointer:{pointer}/fields]")
        else:
            for n, item in enumerate(fields):
                errors += _text_object_errors(
                    item, f"{pointer}/fields/{n}", max_len=2000, plain=False
                )
    accessory = block.get("accessory")
    if accessory is not None:
        errors += _element_errors(accessory, f"{pointer}/accessory", action_ids)
    return errors


def _elements_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    most = 25 if block["type"] == "actions" else 10
    elements = block.get("elements")
    if not isinstance(elements, list) or not elements or len(elements) > most:
        return [f"must contain between 1 and {most} items [json-pointer:{pointer}/elements]"]
    errors: list[str] = []
    if block["type"] == "actions":
        for n, element in enumerate(elements):
            errors += _element_errors(element, f"{pointer}/elements/{n}", action_ids)
    return errors


def _header_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    return _text_object_errors(block.get("text"), f"{pointer}/text", max_len=150, plain=True)


def _markdown_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    text = block.get("text")
    if not isinstance(text, str) or not text or len(text) > 12_000:
        return [f"must be 1 to 12000 characters [json-pointer:{pointer}/text]"]
    return []


def _image_errors(block: Mapping[str, Any], pointer: str, action_ids: set[str]) -> list[str]:
    errors: list[str] = []
    if not isinstance(block.get("image_url"), str) and not isinstance(
        block.get("slack_file"), dict
    ):
        errors.append(f"missing required field: image_url [json-pointer:{pointer}]")
    if not isinstance(block.get("alt_text"), str):
        errors.append(f"missing required field: alt_text [json-pointer:{pointer}]")
    return errors


_BLOCK_CHECKS: Final[Mapping[str, Callable[[Mapping[str, Any], str, set[str]], list[str]]]] = {
    "section": _section_errors,
    "actions": _elements_errors,
    "context": _elements_errors,
    "header": _header_errors,
    "markdown": _markdown_errors,
    "image": _image_errors,
}


def _block_errors(block: object, pointer: str, action_ids: set[str]) -> list[str]:
    if not isinstance(block, Mapping):
        return [f"must be an object [json-pointer:{pointer}]"]
    kind = block.get("type")
    if kind not in _BLOCK_TYPES:
        return [f"unsupported type: {kind} [json-pointer:{pointer}/type]"]
    errors: list[str] = []
    block_id = block.get("block_id")
    if block_id is not None and (not isinstance(block_id, str) or len(block_id) > 255):
        errors.append(f"must be less than 256 characters [json-pointer:{pointer}/block_id]")
    check = _BLOCK_CHECKS.get(str(kind))
    if check is not None:
        errors += check(block, pointer, action_ids)
    return errors


def block_errors(blocks: Sequence[object]) -> list[str]:
    """Slack-style ``invalid_blocks`` messages for ``blocks`` (empty when they are valid)."""
    if len(blocks) > 50:
        return ["no more than 50 items allowed [json-pointer:/blocks]"]
    errors: list[str] = []
    block_ids: set[str] = set()
    action_ids: set[str] = set()
    for index, block in enumerate(blocks):
        errors += _block_errors(block, f"/blocks/{index}", action_ids)
        if isinstance(block, Mapping) and isinstance(block.get("block_id"), str):
            if block["block_id"] in block_ids:
                errors.append(f"block_id already exists [json-pointer:/blocks/{index}/block_id]")
            block_ids.add(block["block_id"])
    return errors


def invalid_blocks(errors: list[str]) -> ApiError:
    """The ``invalid_blocks`` error for ``errors`` from :func:`block_errors`."""
    return ApiError(
        "invalid_blocks",
        errors=errors,
        response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
    )
