"""Webhook verification: only the hook's sender, only now, starts a run."""

from __future__ import annotations

from typing import Any

import pytest

from dataworkflows.engine.definitions import DefinitionError
from dataworkflows.engine.hooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    VerifyFailed,
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
