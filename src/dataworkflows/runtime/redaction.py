"""Keep secrets out of logs, recorded step data and error messages.

A value is treated as secret when its key names a secret (``token``, ``password``,
``authorization``, ...); a :class:`Redactor` also masks the configured secret values
(API keys, service tokens) wherever they appear in a string. Passwords inside URLs
are removed too. The functions return new values and never mutate their argument.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["REDACTED", "Redactor", "is_secret_key", "redact", "redact_url"]

REDACTED: Final = "***"

_SECRET_KEY_RE: Final = re.compile(
    r"(pass(word|wd)?|secret|token|authorization|api[_-]?key|credential|private[_-]?key|cookie"
    r"|signature|session)",
    re.IGNORECASE,
)
# Keys that contain a secret-looking word but hold no secret.
_SAFE_KEYS: Final = frozenset({"idempotency_key", "token_type", "tokens_used", "next_token"})


def is_secret_key(key: str) -> bool:
    """Whether a mapping key names a secret value."""
    return key.lower() not in _SAFE_KEYS and _SECRET_KEY_RE.search(key) is not None


def redact(value: Any) -> Any:
    """A copy of a JSON-like ``value`` with every secret-keyed value replaced."""
    if isinstance(value, Mapping):
        return {
            k: (REDACTED if isinstance(k, str) and is_secret_key(k) and v else redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str) and "://" in value and "@" in value:
        return redact_url(value)
    return value


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
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, value: Any) -> Any:
        """A copy of ``value`` with secret-keyed values and known secrets masked."""
        if not self._secrets:
            return redact(value)
        return self._mask(redact(value))

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            for secret in self._secrets:
                if secret in value:
                    value = value.replace(secret, REDACTED)
            return value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v) for v in value]
        return value
