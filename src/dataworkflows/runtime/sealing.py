"""Secret run inputs are stored encrypted, never in clear.

A run's inputs are written to ``dw.runs`` so that any engine can resume the run after
a crash. Inputs under secret-looking keys (``api_token``, ``password``... as
:func:`~dataworkflows.runtime.redaction.is_secret_key` decides) are replaced there by
``{"$sealed": "v1:<base64>"}``: AES-256-GCM with the operator's key
(``DW_SECRETS_KEY``), a fresh nonce per value, and the run's id as associated data (a
sealed value copied into another run does not open). The engine running the run
keeps the clear values in memory; an engine resuming it opens them with the key.

Why encrypt rather than mask: a masked secret could not be given back to a resumed
run, which would then run with ``***``; durability is the point of storing inputs.
Without a key, a run with secret inputs is refused (422) rather than stored in clear;
``dev`` makes a key of its own. Values equal to this deployment's own secrets (API
keys, the service token) are refused as inputs altogether: a workflow never needs
them, and they are masked everywhere else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Final
from uuid import UUID

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dataworkflows.runtime.redaction import SEALED, is_secret_key

__all__ = [
    "KEY_BYTES",
    "SEALED",
    "Sealer",
    "SecretsUnavailable",
    "parse_key",
]

KEY_BYTES: Final = 32
_VERSION: Final = "v1:"
_NONCE_BYTES: Final = 12
_encoder: Final = msgspec.json.Encoder(order="sorted")


class SecretsUnavailable(Exception):
    """Sealed inputs cannot be opened: no key, or not the key they were sealed with."""


def parse_key(text: str) -> bytes:
    """A key from its text: 32 bytes in URL-safe or standard base64 (43 or 44
    characters) or in hex (64). ``ValueError`` saying what a key looks like otherwise."""
    text = text.strip()
    decoded: bytes | None = None
    if len(text) == KEY_BYTES * 2:
        try:
            decoded = bytes.fromhex(text)
        except ValueError:
            decoded = None
    if decoded is None:
        try:
            # token_urlsafe() leaves the padding out.
            padded = text.replace("+", "-").replace("/", "_") + "=" * (-len(text) % 4)
            decoded = base64.urlsafe_b64decode(padded)
        except (binascii.Error, ValueError):
            decoded = None
    if decoded is None or len(decoded) != KEY_BYTES:
        raise ValueError(
            f"must be {KEY_BYTES} random bytes in base64 or hex, e.g. from "
            "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    return decoded


class Sealer:
    """Seals and opens the secret values of run inputs with one key (or none)."""

    def __init__(self, key: bytes | None, *, own_secrets: Iterable[str] = ()) -> None:
        self._aead = AESGCM(key) if key is not None else None
        self._key = key
        # Short values would match innocent text; configured secrets are long.
        self._own = tuple(s for s in own_secrets if len(s) >= 8)

    @property
    def has_key(self) -> bool:
        """Whether secret inputs can be stored (sealed) at all."""
        return self._aead is not None

    def problems(self, inputs: Mapping[str, Any]) -> list[tuple[str, str]]:
        """(path, message) for each input that cannot be stored: a secret with no key to
        seal it, or one of this deployment's own secrets."""
        found: list[tuple[str, str]] = []
        for path, value, secret in _walk(inputs, "inputs"):
            if secret and self._aead is None:
                found.append(
                    (
                        path,
                        "is a secret, and this engine has no DW_SECRETS_KEY to store it "
                        "encrypted (secrets are never stored in clear)",
                    )
                )
            elif isinstance(value, str) and any(own in value for own in self._own):
                found.append(
                    (path, "holds one of this deployment's own secrets (an API key or a token)")
                )
        return found

    def seal(self, inputs: dict[str, Any], run_id: UUID) -> dict[str, Any]:
        """``inputs`` with every secret-keyed value sealed (the argument is not changed).

        Raises :class:`SecretsUnavailable` when there is a secret but no key (callers
        check :meth:`problems` first).
        """
        return _replace(inputs, lambda value: self._seal_one(value, run_id))  # type: ignore[no-any-return]

    def unseal(self, inputs: dict[str, Any], run_id: UUID) -> dict[str, Any]:
        """``inputs`` with every sealed value opened. Raises :class:`SecretsUnavailable`."""
        return _open_all(inputs, lambda sealed: self._open_one(sealed, run_id))  # type: ignore[no-any-return]

    def fingerprint(self, value: Any) -> str:
        """A fingerprint of ``value`` (canonical JSON): keyed (HMAC) when there is a key,
        so that stored fingerprints tell nothing about secret values."""
        data = _encoder.encode(value)
        if self._key is not None:
            return "h1:" + hmac.new(self._key, data, hashlib.sha256).hexdigest()
        return "s1:" + hashlib.sha256(data).hexdigest()

    def _seal_one(self, value: Any, run_id: UUID) -> dict[str, str]:
        if self._aead is None:
            raise SecretsUnavailable("a secret input needs DW_SECRETS_KEY to be stored")
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, _encoder.encode(value), run_id.bytes)
        return {SEALED: _VERSION + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")}

    def _open_one(self, sealed: str, run_id: UUID) -> Any:
        if self._aead is None:
            raise SecretsUnavailable(
                "the run's secret inputs are sealed, and this engine has no DW_SECRETS_KEY"
            )
        if not sealed.startswith(_VERSION):
            raise SecretsUnavailable("a sealed input has an unknown format")
        try:
            raw = base64.urlsafe_b64decode(sealed.removeprefix(_VERSION))
            opened = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], run_id.bytes)
        except (InvalidTag, ValueError, binascii.Error):
            raise SecretsUnavailable(
                "the run's secret inputs do not open with this DW_SECRETS_KEY (was it changed?)"
            ) from None
        return msgspec.json.decode(opened)


def _walk(value: Any, path: str, secret: bool = False) -> Iterator[tuple[str, Any, bool]]:
    """(path, value, whether it sits under a secret key) for every leaf or secret value."""
    if secret:
        yield path, value, True
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            under_secret = isinstance(key, str) and bool(item) and is_secret_key(key)
            yield from _walk(item, f"{path}.{key}", under_secret)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    else:
        yield path, value, False


def _replace(value: Any, seal: Any) -> Any:
    if isinstance(value, Mapping):
        return {
            key: (
                seal(item)
                if isinstance(key, str) and item and is_secret_key(key)
                else _replace(item, seal)
            )
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_replace(item, seal) for item in value]
    return value


def _open_all(value: Any, open_: Any) -> Any:
    if isinstance(value, Mapping):
        if len(value) == 1 and isinstance(value.get(SEALED), str):
            return open_(value[SEALED])
        return {key: _open_all(item, open_) for key, item in value.items()}
    if isinstance(value, list):
        return [_open_all(item, open_) for item in value]
    return value
