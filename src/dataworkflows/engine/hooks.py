"""Webhooks: another system's event starts a workflow.

A hook names a workflow, how the request maps to the run's inputs (values with
``{{ }}`` over ``body``, ``headers`` and ``query``, like a step's ``with``), how the
sender proves itself, and where the delivery's id is (a repeated delivery starts no
second run: the id is the run's idempotency key).

Senders prove themselves one of two ways:

- ``hmac``: ``X-DW-Timestamp: <unix seconds>`` and
  ``X-DW-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``; the
  timestamp must be within ``tolerance`` of now (a captured request cannot be
  replayed later). Several ``v1=`` values, comma-separated, allow rotating secrets.
- ``bearer``: ``Authorization: Bearer <token>``.
- ``monday``: as monday.com signs deliveries to apps: ``Authorization: <JWT>`` (HS256,
  signed with the app's signing secret, not expired). Such a hook also answers
  monday's URL challenge (``{"challenge": ...}`` echoed back, nothing started), so
  ``create_webhook`` can register it.

The secret is given once (over the API, or from an environment variable named in
``hooks.yaml``), stored sealed, and never shown again.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import warnings
from collections.abc import Mapping
from typing import Any, Final, Literal

import jwt
import msgspec
from jwt.warnings import InsecureKeyLengthWarning

from dataworkflows.engine.definitions import (
    DefinitionError,
    parse_duration,
    validation_problem,
)
from dataworkflows.engine.expressions import CompiledValue, compile_value
from dataworkflows.runtime.credentials import bearer_token
from dataworkflows.runtime.limits import LimitExceeded, check_structure
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.settings import FILE_SUFFIX, SettingsError, read_credential_file

__all__ = [
    "DEFAULT_DELIVERY",
    "DELIVERY_HEADER",
    "HOOK_ROOTS",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "HookSpec",
    "Verify",
    "VerifyFailed",
    "compile_hook",
    "monday_challenge",
    "parse_hook",
    "secret_from_environment",
    "sign",
    "verify_request",
]

SIGNATURE_HEADER: Final = "x-dw-signature"
TIMESTAMP_HEADER: Final = "x-dw-timestamp"
DELIVERY_HEADER: Final = "x-dw-delivery"
DEFAULT_DELIVERY: Final = "{{ headers['" + DELIVERY_HEADER + "'] | default('') }}"
"""A delivery's id by default: its X-DW-Delivery header, or none when it has none."""
_FIRST_DEFAULT_DELIVERY: Final = "{{ headers['" + DELIVERY_HEADER + "'] }}"
"""The first default, which refused a delivery without the header (a 422): hooks
declared with it still carry it, and mean :data:`DEFAULT_DELIVERY`."""
HOOK_ROOTS: Final = frozenset({"body", "headers", "query"})
"""What a hook's expressions may read."""
DEFAULT_TOLERANCE_S: Final = 300.0
MAX_TOLERANCE_S: Final = 3600.0
MIN_SECRET_CHARS: Final = 16
HOOK_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_SIGNATURE_RE: Final = re.compile(r"^v1=([0-9a-f]{64})$")
MONDAY_LEEWAY_S: Final = 300.0
MAX_CHALLENGE_BYTES: Final = 512


class Verify(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """How a hook's sender proves itself."""

    kind: Literal["hmac", "bearer", "monday"]
    secret: str | None = None
    """The shared secret (hmac), token (bearer) or app signing secret (monday), given
    over the API."""
    secret_env: str | None = None
    """In hooks.yaml: the environment variable holding it (secrets stay out of files)."""
    tolerance: float | str = DEFAULT_TOLERANCE_S
    """hmac: how far the sender's timestamp may be from now (default 5m); monday: how
    long past its ``exp`` a token is still taken (clock skew, at most 5m)."""


class HookSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A hook as declared in ``hooks.yaml`` or sent to ``PUT /v1/hooks/{name}``."""

    name: str
    workflow: str
    verify: Verify
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    """The run's inputs: values, or ``{{ }}`` over body, headers and query."""
    delivery: str = DEFAULT_DELIVERY
    """The delivery's id (empty: none, every request starts a run)."""
    description: str = ""


class CompiledHook(msgspec.Struct, frozen=True, kw_only=True):
    """A hook's expressions, compiled."""

    inputs: CompiledValue
    delivery: CompiledValue


class VerifyFailed(Exception):
    """The request is not from the hook's sender; the message says why (no secrets)."""


def parse_hook(
    document: Any, *, name: str | None = None, environ: Mapping[str, str] | None = None
) -> tuple[HookSpec, float]:
    """A hook declaration checked, with its secret resolved (from ``secret_env`` in
    ``environ`` when named there); (the hook, its tolerance in seconds).

    Raises :class:`DefinitionError` naming every bad field.
    """
    try:
        check_structure(document, what="the hook")
    except LimitExceeded as exc:
        raise DefinitionError([FieldError(field="(hook)", message=str(exc))]) from None
    if not isinstance(document, dict):
        raise DefinitionError(
            [FieldError(field="(hook)", message="must be a mapping with workflow and verify")]
        )
    if name is not None:
        if "name" in document and document["name"] != name:
            given = str(document["name"])[:80]
            raise DefinitionError(
                [FieldError(field="name", message=f"is {given!r} but the URL says {name!r}")]
            )
        document = {**document, "name": name}
    try:
        spec = msgspec.convert(document, HookSpec, strict=False)
    except msgspec.ValidationError as exc:
        raise DefinitionError([validation_problem(exc, "", HookSpec)]) from None
    problems: list[FieldError] = []
    if not HOOK_NAME_RE.fullmatch(spec.name):
        problems.append(
            FieldError(
                field="name",
                message="must be 1-63 lower-case letters, digits, '-' or '_', starting with a "
                "letter or digit",
            )
        )
    problems.extend(_resolve_secret(spec.verify, environ))
    tolerance = DEFAULT_TOLERANCE_S
    try:
        tolerance = parse_duration(spec.verify.tolerance, field="tolerance")
        if not 0 < tolerance <= MAX_TOLERANCE_S:
            raise ValueError(f"tolerance must be more than 0 and at most {MAX_TOLERANCE_S:.0f}s")
    except ValueError as exc:
        problems.append(FieldError(field="verify.tolerance", message=str(exc)))
    try:
        compile_hook(spec)
    except DefinitionError as exc:
        problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    return spec, tolerance


def _resolve_secret(verify: Verify, environ: Mapping[str, str] | None) -> list[FieldError]:
    """Fill in ``verify.secret`` from ``secret_env``; the problems with either."""
    problems: list[FieldError] = []
    if verify.secret_env is not None:
        if verify.secret is not None:
            problems.append(
                FieldError(field="verify.secret_env", message="give secret or secret_env, not both")
            )
        elif environ is None:
            problems.append(
                FieldError(
                    field="verify.secret_env",
                    message="is for hooks.yaml; over the API send the secret itself",
                )
            )
        else:
            try:
                verify.secret = secret_from_environment(verify.secret_env, environ)
            except SettingsError as exc:
                problems.append(FieldError(field="verify.secret_env", message=str(exc)))
            else:
                if verify.secret is None:
                    problems.append(
                        FieldError(
                            field="verify.secret_env",
                            message=f"the environment variable {verify.secret_env} (or "
                            f"{verify.secret_env}_FILE, a file holding it) is not set",
                        )
                    )
    elif verify.secret is None:
        problems.append(FieldError(field="verify.secret", message="is required"))
    if verify.secret is not None and len(verify.secret) < MIN_SECRET_CHARS:
        problems.append(
            FieldError(
                field="verify.secret",
                message=f"must be at least {MIN_SECRET_CHARS} characters (a random string)",
            )
        )
    return problems


def secret_from_environment(name: str, environ: Mapping[str, str]) -> str | None:
    """``name``'s value, or else the content of the file ``<name>_FILE`` names, read as
    every credential is (runtime.settings); None when neither is set.

    :class:`SettingsError` names a file that is missing, unreadable, too large or empty.
    """
    value = environ.get(name)
    if value:
        return value
    file_variable = name + FILE_SUFFIX
    values = {file_variable: environ[file_variable]} if file_variable in environ else {}
    read_credential_file(values, name)
    return values.get(name) or None


def compile_hook(spec: HookSpec) -> CompiledHook:
    """The hook's expressions compiled; :class:`DefinitionError` naming a bad one, or a
    name it reads that is not body, headers or query."""
    problems: list[FieldError] = []
    compiled: dict[str, CompiledValue] = {}
    delivery = DEFAULT_DELIVERY if spec.delivery == _FIRST_DEFAULT_DELIVERY else spec.delivery
    for field, raw in (("inputs", spec.inputs), ("delivery", delivery)):
        try:
            value = compile_value(raw)
        except ValueError as exc:
            problems.append(FieldError(field=field, message=str(exc)))
            continue
        unknown = sorted({r.root for r in value.references} - HOOK_ROOTS)
        if unknown:
            problems.append(
                FieldError(
                    field=field,
                    message=f"reads {', '.join(unknown)}; a hook's expressions may read "
                    "body, headers and query",
                )
            )
        compiled[field] = value
    if problems:
        raise DefinitionError(problems)
    return CompiledHook(inputs=compiled["inputs"], delivery=compiled["delivery"])


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The ``X-DW-Signature`` value for ``body`` sent at ``timestamp`` (for senders)."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + digest.hexdigest()


def verify_request(
    kind: str,
    secret: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    tolerance_s: float,
    now: float | None = None,
) -> None:
    """Raise :class:`VerifyFailed` unless the request comes from the hook's sender."""
    if kind == "monday":
        _verify_monday(secret, headers, min(tolerance_s, MONDAY_LEEWAY_S))
        return
    if kind == "bearer":
        token = bearer_token(headers.get("authorization"))
        if token is None:
            raise VerifyFailed("send the hook's token as 'Authorization: Bearer <token>'")
        if not hmac.compare_digest(token.encode(), secret.encode()):
            raise VerifyFailed("the token is not this hook's")
        return
    raw_time = headers.get(TIMESTAMP_HEADER, "")
    raw_signature = headers.get(SIGNATURE_HEADER, "")
    if not raw_time or not raw_signature:
        raise VerifyFailed("send X-DW-Timestamp and X-DW-Signature (see the hook's docs)")
    try:
        stamp = int(raw_time)
    except ValueError:
        raise VerifyFailed("X-DW-Timestamp must be whole seconds since 1970") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > tolerance_s:
        raise VerifyFailed(
            f"X-DW-Timestamp is more than {tolerance_s:.0f}s from now (a replay, or a clock off)"
        )
    expected = sign(secret, body, stamp).encode()
    matched = False
    for candidate in raw_signature.split(","):
        if _SIGNATURE_RE.fullmatch(candidate.strip()):
            matched |= hmac.compare_digest(candidate.strip().encode(), expected)
    if not matched:
        raise VerifyFailed("the signature does not match the body")


def _verify_monday(secret: str, headers: Mapping[str, str], leeway_s: float) -> None:
    raw = headers.get("authorization", "").strip()
    scheme, _, rest = raw.partition(" ")
    token = rest.strip() if scheme.lower() == "bearer" else raw
    if not token:
        raise VerifyFailed("monday signs deliveries with a JWT in Authorization; none was sent")
    try:
        # The key is monday's signing secret, not ours to lengthen: no warning about it.
        with warnings.catch_warnings(action="ignore", category=InsecureKeyLengthWarning):
            jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                options={"require": ["exp"], "verify_aud": False},
                leeway=leeway_s,
            )
    except jwt.ExpiredSignatureError:
        raise VerifyFailed("the Authorization token has expired") from None
    except jwt.MissingRequiredClaimError:
        raise VerifyFailed("the Authorization token has no exp claim") from None
    except jwt.InvalidTokenError:
        raise VerifyFailed(
            "the Authorization token is not a JWT signed with this hook's secret"
        ) from None


def monday_challenge(body: bytes) -> str | None:
    """The challenge of monday's URL verification request (``{"challenge": "..."}``),
    or None when ``body`` is not one."""
    if len(body) > MAX_CHALLENGE_BYTES or b"challenge" not in body:
        return None
    try:
        data = msgspec.json.decode(body)
    except msgspec.DecodeError:
        return None
    if (
        isinstance(data, dict)
        and list(data) == ["challenge"]
        and isinstance(data["challenge"], str)
    ):
        return data["challenge"]
    return None
