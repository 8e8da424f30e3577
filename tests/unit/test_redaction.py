"""Secrets are removed from anything we log or record."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.runtime.redaction import REDACTED, Redactor, is_secret_key, redact, redact_url


def test_secret_named_fields_are_redacted_at_any_depth() -> None:
    """Tokens, passwords and auth headers are replaced wherever they are nested."""
    value = {
        "board_id": "123",
        "api_token": "abc",
        "headers": {"Authorization": "Bearer xyz", "Accept": "json"},
        "items": [{"password": "p"}, {"name": "n"}],
    }
    assert redact(value) == {
        "board_id": "123",
        "api_token": REDACTED,
        "headers": {"Authorization": REDACTED, "Accept": "json"},
        "items": [{"password": REDACTED}, {"name": "n"}],
    }


def test_input_is_not_mutated() -> None:
    """redact() returns a copy and leaves its argument alone."""
    value = {"token": "t"}
    redact(value)
    assert value == {"token": "t"}


def test_harmless_keys_that_look_secret_are_kept() -> None:
    """idempotency_key and token_type hold no secret and stay readable."""
    assert not is_secret_key("idempotency_key")
    assert not is_secret_key("token_type")
    assert is_secret_key("signing_secret")
    assert is_secret_key("X-Api-Key")


def test_url_passwords_are_removed() -> None:
    """A password in a URL's user-info is masked; the rest of the URL stays."""
    assert redact_url("postgresql://dw:s3cret@db:5432/dw") == "postgresql://dw:***@db:5432/dw"
    assert redact_url("https://example.com/x") == "https://example.com/x"
    assert redact({"url": "postgresql://u:p@h/db"}) == {"url": "postgresql://u:***@h/db"}


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["token", "name", "password", "id", "Secret"]), children, max_size=4
        )
    ),
    max_leaves=20,
)


def _secret_values(value: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if is_secret_key(k) and v:
                found.append(v)
            found.extend(_secret_values(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(_secret_values(v))
    return found


@given(_json)
def test_no_secret_value_survives(value: Any) -> None:
    """For any JSON-like value, every secret-keyed value is redacted."""
    assert all(v == REDACTED for v in _secret_values(redact(value)))


def test_configured_secret_values_are_masked_anywhere() -> None:
    """A Redactor masks its secret values inside any string, at any depth."""
    redactor = Redactor(["s3cr3t-value-123", "short"])
    value = {"note": "token s3cr3t-value-123 inside", "list": ["x s3cr3t-value-123"], "n": 1}
    assert redactor(value) == {"note": "token *** inside", "list": ["x ***"], "n": 1}
    assert redactor({"word": "short"}) == {"word": "short"}  # too short to be a secret


def test_values_without_secrets_are_returned_as_they_are() -> None:
    """Nothing to mask means no copy (redaction runs on every recorded step)."""
    value = {"board": {"items": [1, 2, {"name": "x"}]}}
    assert redact(value) is value
    assert Redactor(["s3cr3t-value-123"])(value) is value
    changed = {"keep": {"a": 1}, "secret": "x"}
    result = redact(changed)
    assert result["keep"] is changed["keep"]
    assert changed["secret"] == "x"


def test_url_passwords_inside_text_and_secret_query_parameters_are_masked() -> None:
    """Credentials in a URL within a message, and ?api_key= style parameters, are masked."""
    assert redact("connect to postgresql://dw:hunter2@db/x failed") == (
        "connect to postgresql://dw:***@db/x failed"
    )
    assert redact("GET https://x.io/a?api_key=abc123&page=2&token=zz") == (
        "GET https://x.io/a?api_key=***&page=2&token=***"
    )
    assert redact("page=2 and https://user@host/path") == "page=2 and https://user@host/path"
