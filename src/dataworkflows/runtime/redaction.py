"""Keep secrets out of logs, recorded step data and error messages.

A value is treated as secret when its key names a secret (``token``, ``password``,
``authorization``, ...); a :class:`Redactor` also masks the configured secret values
(API keys, service tokens) wherever they appear in a string. Passwords inside URLs
are removed too. The functions never mutate their argument: they return it as it is
when nothing needed masking, else a copy of the parts that changed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["REDACTED", "SEALED", "Redactor", "is_secret_key", "redact", "redact_url"]

REDACTED: Final = "***"
SEALED: Final = "$sealed"
"""The one key of a sealed (encrypted) value, ``{"$sealed": "v1:..."}``: shown as
:data:`REDACTED` (see :mod:`~dataworkflows.runtime.sealing`)."""

_SECRET_KEY_RE: Final = re.compile(
    r"(pass(word|wd)?|secret|token|authorization|api[_-]?key|credential|private[_-]?key|cookie"
    r"|signature|session)",
    re.IGNORECASE,
)
# Keys that contain a secret-looking word but hold no secret.
_SAFE_KEYS: Final = frozenset({"idempotency_key", "token_type", "tokens_used", "next_token"})


@functools.lru_cache(maxsize=4096)
def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret value."""
    return key.lower() not in _SAFE_KEYS and _SECRET_KEY_RE.search(key) is not None


_UNCHANGED: Final = object()
# user:password@ in a URL anywhere in a text ("connect to postgresql://u:pw@db failed").
_URL_PASSWORD_RE: Final = re.compile(r"([a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]*:)([^@\s/]+)(@)")
# Secret-named query parameters (?api_key=..., &token=..., &sig=...).
_QUERY_SECRET_RE: Final = re.compile(
    r"([?&;](?:[a-z_]*(?:pass(?:word|wd)?|secret|token|api[_-]?key|signature|sig|key))=)"
    r"([^&;\s#\"']+)",
    re.IGNORECASE,
)


def _redact(value: Any, secrets: Sequence[str]) -> Any:
    """``value`` redacted, or ``_UNCHANGED``: copies only what changes (most data has no
    secret, and this runs on every recorded step)."""
    # Exact types first: JSON data is plain str, dict, list and scalars, and an ABC
    # isinstance check costs several times a type comparison.
    kind = type(value)
    if kind is str:
        return _redact_text(value, secrets)
    if kind is dict:
        return _redact_mapping(value, secrets)
    if kind is list or kind is tuple:
        return _redact_items(value, secrets)
    if kind is int or kind is float or kind is bool or value is None:
        return _UNCHANGED
    if isinstance(value, Mapping):
        return _redact_mapping(value, secrets)
    if isinstance(value, list | tuple):
        return _redact_items(value, secrets)
    if isinstance(value, str):
        return _redact_text(value, secrets)
    return _UNCHANGED


def _redact_items(value: list[Any] | tuple[Any, ...], secrets: Sequence[str]) -> Any:
    items: list[Any] | None = None
    for index, item in enumerate(value):
        new = _redact(item, secrets)
        if new is _UNCHANGED:
            continue
        if items is None:
            items = list(value)
        items[index] = new
    return _UNCHANGED if items is None else items


def _redact_text(value: str, secrets: Sequence[str]) -> Any:
    text = value
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if "://" in text and "@" in text:
        text = _URL_PASSWORD_RE.sub(r"\1***\3", text)
    if "=" in text:
        text = _QUERY_SECRET_RE.sub(r"\1***", text)
    return _UNCHANGED if text == value else text


def _redact_mapping(value: Mapping[Any, Any], secrets: Sequence[str]) -> Any:
    if len(value) == 1 and SEALED in value:
        return REDACTED  # an encrypted secret: shown as one
    copy: dict[Any, Any] | None = None
    for key, item in value.items():
        if isinstance(key, str) and item and is_secret_key(key):
            new: Any = REDACTED
        else:
            new = _redact(item, secrets)
            if new is _UNCHANGED:
                continue
        if copy is None:
            copy = dict(value)
        copy[key] = new
    return _UNCHANGED if copy is None else copy


def redact(value: Any) -> Any:
    """``value`` with every secret-keyed value replaced (a copy where anything changed)."""
    result = _redact(value, ())
    return value if result is _UNCHANGED else result


def redact_url(url: str) -> str:
    """``url`` without the password of its user-info part (``postgresql://u:***@h/db``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[-1]}"))


class Redactor:
    """:func:`redact`, plus masking of known secret values inside any string."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values would mask innocent text; configured secrets are long.
        self._secrets = tuple(sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True))

    def __call__(self, value: Any) -> Any:
        """``value`` with secret-keyed values and known secrets masked."""
        result = _redact(value, self._secrets)
        return value if result is _UNCHANGED else result
