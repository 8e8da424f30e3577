"""Slack's request signature: the reference vector, and every way a forgery is refused."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.contracts.slack_signing import MAX_AGE_S, SlackSignature

# Slack's documented example (../shared/reference/slack.md).
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = "1531420618"
BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
    b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner"
    b"&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands"
    b"%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
    b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def at(seconds: float) -> SlackSignature:
    """A verifier whose clock reads ``seconds`` after the vector's timestamp."""
    return SlackSignature(SECRET, clock=lambda: int(TIMESTAMP) + seconds)


def test_reference_vector_verifies() -> None:
    """A request signed exactly as in Slack's documentation is accepted."""
    verifier = at(0)
    assert verifier.sign(BODY, TIMESTAMP) == SIGNATURE
    assert verifier.problem(BODY, timestamp=TIMESTAMP, signature=SIGNATURE) is None
    assert verifier.verify(BODY, timestamp=TIMESTAMP, signature=SIGNATURE)


def test_tampered_body_is_refused() -> None:
    """Changing one byte of the body (say, the command text) breaks the signature."""
    tampered = BODY.replace(b"text=&", b"text=run&")
    assert at(0).problem(tampered, timestamp=TIMESTAMP, signature=SIGNATURE) == "mismatch"


def test_wrong_secret_is_refused() -> None:
    """A request signed with another app's secret is refused."""
    other = SlackSignature("another-apps-signing-secret", clock=lambda: int(TIMESTAMP))
    assert other.problem(BODY, timestamp=TIMESTAMP, signature=SIGNATURE) == "mismatch"


def test_timestamp_is_part_of_what_is_signed() -> None:
    """Replaying the signature with a fresh timestamp does not verify."""
    later = str(int(TIMESTAMP) + 10)
    assert at(10).problem(BODY, timestamp=later, signature=SIGNATURE) == "mismatch"


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [(None, SIGNATURE), (TIMESTAMP, None), (None, None), ("", SIGNATURE), (TIMESTAMP, "")],
)
def test_missing_headers_are_refused(timestamp: str | None, signature: str | None) -> None:
    """Without both the timestamp and the signature headers nothing is accepted."""
    assert at(0).problem(BODY, timestamp=timestamp, signature=signature) == "missing"


@pytest.mark.parametrize("offset", [MAX_AGE_S + 1, 3600, -(MAX_AGE_S + 1), -86400])
def test_stale_and_future_timestamps_are_refused(offset: int) -> None:
    """A correctly signed request more than five minutes old (or ahead) is a replay."""
    assert at(offset).problem(BODY, timestamp=TIMESTAMP, signature=SIGNATURE) == "stale"


@pytest.mark.parametrize("offset", [MAX_AGE_S, -MAX_AGE_S, 120])
def test_within_five_minutes_is_accepted(offset: int) -> None:
    """Clock skew of up to five minutes either way is tolerated."""
    assert at(offset).verify(BODY, timestamp=TIMESTAMP, signature=SIGNATURE)


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [
        ("not-a-number", SIGNATURE),
        ("1e9", SIGNATURE),
        ("-1531420618", SIGNATURE),
        (TIMESTAMP, SIGNATURE.upper()),
        (TIMESTAMP, SIGNATURE[3:]),
        (TIMESTAMP, "v1=" + SIGNATURE[3:]),
        (TIMESTAMP, SIGNATURE + "00"),
        (TIMESTAMP, "v0=é" + SIGNATURE[4:]),
    ],
)
def test_malformed_headers_are_refused(timestamp: str, signature: str) -> None:
    """Headers that are not a Unix time and a v0 hex digest are refused, not crashed on."""
    assert at(0).problem(BODY, timestamp=timestamp, signature=signature) == "malformed"


@given(body=st.binary(max_size=300), timestamp=st.text(max_size=20), signature=st.text(max_size=80))
def test_arbitrary_requests_never_raise_and_never_verify(
    body: bytes, timestamp: str, signature: str
) -> None:
    """Whatever bytes and headers arrive, checking them answers instead of raising."""
    assert not at(0).verify(body, timestamp=timestamp, signature=signature)


def test_empty_secret_is_a_configuration_error() -> None:
    """A bot without a signing secret refuses to start rather than accept anything."""
    with pytest.raises(ValueError, match="signing secret"):
        SlackSignature("")
