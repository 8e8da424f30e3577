"""Webhook verification: only the hook's sender, only now, starts a run."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.expressions import evaluate
from dataworkflows.engine.hooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VerifyFailed,
    compile_hook,
    monday_challenge,
    parse_hook,
    sign,
    verify_request,
)

SECRET = "whsec-0123456789abcdef"
BODY = b'{"event": {"pulseId": 42}}'
NOW = 1_800_000_000


def signed(body: bytes = BODY, *, at: int = NOW, secret: str = SECRET) -> dict[str, str]:
    return {TIMESTAMP_HEADER: str(at), SIGNATURE_HEADER: sign(secret, body, at)}


def check(headers: dict[str, str], body: bytes = BODY, kind: str = "hmac") -> None:
    verify_request(kind, SECRET, headers=headers, body=body, tolerance_s=300, now=NOW)


def test_a_signed_delivery_within_the_window_is_accepted() -> None:
    """The sender's signature over timestamp and body, a minute old, passes."""
    check(signed(at=NOW - 60))


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (signed(), b'{"event": {"pulseId": 43}}', "does not match"),
        (signed(secret="another-secret-0000"), BODY, "does not match"),
        (signed(at=NOW - 301), BODY, "from now"),
        (signed(at=NOW + 301), BODY, "from now"),
        ({TIMESTAMP_HEADER: str(NOW)}, BODY, "send X-DW-Timestamp"),
        ({**signed(), TIMESTAMP_HEADER: "yesterday"}, BODY, "whole seconds"),
        ({**signed(), SIGNATURE_HEADER: "v1=" + "0" * 64}, BODY, "does not match"),
    ],
)
def test_forged_stale_or_unsigned_deliveries_are_refused(
    headers: dict[str, str], body: bytes, reason: str
) -> None:
    """A changed body, another secret, an old or future timestamp, or no signature."""
    with pytest.raises(VerifyFailed, match=reason):
        check(headers, body)


def test_a_second_signature_allows_rotating_the_secret() -> None:
    """A sender moving to a new secret can send both signatures, comma-separated."""
    old = sign("the-old-secret-000000", BODY, NOW)
    check({TIMESTAMP_HEADER: str(NOW), SIGNATURE_HEADER: f"{old},{sign(SECRET, BODY, NOW)}"})


def test_bearer_hooks_compare_the_token() -> None:
    """A bearer hook takes its token and nothing else."""
    check({"authorization": f"Bearer {SECRET}"}, kind="bearer")
    for headers in ({"authorization": "Bearer wrong-token-000000"}, {}):
        with pytest.raises(VerifyFailed):
            check(headers, kind="bearer")


def hook(**fields: Any) -> dict[str, Any]:
    return {
        "name": "h",
        "workflow": "w",
        "verify": {"kind": "hmac", "secret": SECRET},
        **fields,
    }


@pytest.mark.parametrize(
    ("document", "environ", "field", "message"),
    [
        (hook(verify={"kind": "hmac", "secret": "short"}), None, "verify.secret", "at least"),
        (hook(verify={"kind": "hmac"}), None, "verify.secret", "required"),
        (hook(verify={"kind": "hmac", "secret_env": "HOOK_S"}), {}, "verify.secret_env", "not set"),
        (hook(verify={"kind": "hmac", "secret_env": "HOOK_S"}), None, "verify.secret_env", "API"),
        (
            hook(verify={"kind": "hmac", "secret": SECRET, "tolerance": "3h"}),
            None,
            "verify.tolerance",
            "at most",
        ),
        (hook(inputs={"x": "{{ inputs.y }}"}), None, "inputs", "body, headers and query"),
        (hook(inputs={"x": "{{ body. }}"}), None, "inputs", ""),
        (hook(verify={"kind": "token", "secret": SECRET}), None, "verify.kind", ""),
    ],
)
def test_bad_hooks_are_refused_naming_the_field(
    document: dict[str, Any], environ: dict[str, str] | None, field: str, message: str
) -> None:
    """Each problem with a hook names its field."""
    with pytest.raises(DefinitionError) as error:
        parse_hook(document, environ=environ)
    problems = {p.field: p.message for p in error.value.problems}
    assert field in problems, problems
    assert message in problems[field]


def test_a_file_hook_reads_its_secret_from_the_environment() -> None:
    """hooks.yaml names an environment variable; the secret never sits in the file."""
    spec, tolerance = parse_hook(
        hook(verify={"kind": "bearer", "secret_env": "HOOK_S", "tolerance": "2m"}),
        environ={"HOOK_S": SECRET},
    )
    assert spec.verify.secret == SECRET
    assert tolerance == 120


def test_a_file_hook_reads_its_secret_from_a_mounted_file(tmp_path: Path) -> None:
    """<NAME>_FILE works for a hook's secret as for every other credential."""
    (tmp_path / "secret").write_text(SECRET + "\n")
    spec, _ = parse_hook(
        hook(verify={"kind": "monday", "secret_env": "HOOK_S"}),
        environ={"HOOK_S_FILE": str(tmp_path / "secret")},
    )
    assert spec.verify.secret == SECRET
    with pytest.raises(DefinitionError, match="HOOK_S_FILE"):
        parse_hook(hook(verify={"kind": "monday", "secret_env": "HOOK_S"}), environ={})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(DefinitionError, match="is empty"):
        parse_hook(
            hook(verify={"kind": "monday", "secret_env": "HOOK_S"}),
            environ={"HOOK_S_FILE": str(tmp_path / "empty")},
        )


MONDAY_SECRET = "monday-app-signing-secret-0123456789abcdef"


def monday_token(secret: str = MONDAY_SECRET, **claims: Any) -> str:
    now = int(time.time())
    return jwt.encode(
        {"accountId": 1, "userId": 2, "aud": "https://x/v1/hooks/m", "exp": now + 60, **claims},
        secret,
        algorithm="HS256",
    )


def test_a_monday_delivery_signed_with_the_app_secret_is_accepted() -> None:
    """monday's JWT in Authorization, raw or as a bearer token, passes."""
    verify_request(
        "monday",
        MONDAY_SECRET,
        headers={"authorization": monday_token()},
        body=BODY,
        tolerance_s=300,
    )
    verify_request(
        "monday",
        MONDAY_SECRET,
        headers={"authorization": f"Bearer {monday_token()}"},
        body=BODY,
        tolerance_s=300,
    )


@pytest.mark.parametrize(
    ("authorization", "reason"),
    [
        ("", "none was sent"),
        ("not-a-jwt", "not a JWT signed"),
        (monday_token(secret="another-signing-secret-0123456789ab"), "not a JWT signed"),
        (monday_token(exp=int(time.time()) - 3600), "expired"),
        (jwt.encode({"userId": 2}, MONDAY_SECRET, algorithm="HS256"), "no exp"),
        (
            jwt.encode({"exp": int(time.time()) + 60}, MONDAY_SECRET * 2, algorithm="HS384"),
            "not a JWT",
        ),
    ],
)
def test_forged_or_expired_monday_deliveries_are_refused(authorization: str, reason: str) -> None:
    """No token, another secret, another algorithm, an expired or exp-less token."""
    with pytest.raises(VerifyFailed, match=reason):
        verify_request(
            "monday",
            MONDAY_SECRET,
            headers={"authorization": authorization},
            body=BODY,
            tolerance_s=60,
        )


@pytest.mark.parametrize(
    ("body", "challenge"),
    [
        (
            b'{"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
            "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
        ),
        (b'{"challenge": "a", "event": {}}', None),
        (b'{"challenge": 5}', None),
        (b'{"event": {"pulseId": 1}}', None),
        (b'{"challenge": "' + b"a" * 600 + b'"}', None),
        (b"challenge", None),
    ],
)
def test_only_monday_s_challenge_body_is_a_challenge(body: bytes, challenge: str | None) -> None:
    """Exactly {"challenge": "<string>"} is answered; anything else is a delivery."""
    assert monday_challenge(body) == challenge


@pytest.mark.parametrize(
    "delivery",
    [
        "{{ headers['x-dw-delivery'] | default('') }}",  # the default now
        "{{ headers['x-dw-delivery'] }}",  # the first default, still stored with hooks
    ],
)
def test_a_delivery_without_the_delivery_header_has_no_id(delivery: str) -> None:
    """With the default delivery id, a delivery that sends no X-DW-Delivery has none (a
    run per delivery) instead of failing; one that sends it has that id."""
    spec, _ = parse_hook(
        {
            "name": "h",
            "workflow": "w",
            "verify": {"kind": "bearer", "secret": SECRET},
            "delivery": delivery,
        }
    )
    compiled = compile_hook(spec)
    context: dict[str, Any] = {"body": {}, "query": {}}
    assert evaluate(compiled.delivery, {**context, "headers": {}}) == ""
    with_id = {**context, "headers": {"x-dw-delivery": "d-7"}}
    assert evaluate(compiled.delivery, with_id) == "d-7"
