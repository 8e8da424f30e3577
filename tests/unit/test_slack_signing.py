"""The sandbox signs what it sends the bot exactly as Slack does."""

from __future__ import annotations

import string
import time

from hypothesis import given
from hypothesis import strategies as st
from slack_sdk.signature import SignatureVerifier

from dataworkflows.contracts.slack_signing import sign_request, signed_headers

# Slack's published example ("Verifying requests from Slack").
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TIMESTAMP = 1531420618
BODY = (
    "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
    "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
    "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmi"
    "bIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
)
EXPECTED = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"


def test_slacks_published_example() -> None:
    """The signature of Slack's documented request is the documented signature."""
    assert sign_request(SECRET, TIMESTAMP, BODY) == EXPECTED
    assert sign_request(SECRET, str(TIMESTAMP), BODY.encode()) == EXPECTED


def test_a_changed_byte_changes_the_signature() -> None:
    """The signature covers the raw body: one changed character gives another signature."""
    assert sign_request(SECRET, TIMESTAMP, BODY.replace("foobar", "foobaz")) != EXPECTED
    assert sign_request(SECRET, TIMESTAMP + 1, BODY) != EXPECTED


@given(
    st.text(max_size=2000),
    st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=64),
)
def test_slack_sdks_verifier_accepts_what_we_sign(text: str, secret: str) -> None:
    """slack-sdk's SignatureVerifier accepts every (UTF-8) body signed by signed_headers."""
    body = text.encode()
    headers = signed_headers(secret, body)
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid_request(body, headers)
    assert abs(int(headers["X-Slack-Request-Timestamp"]) - time.time()) < 5
