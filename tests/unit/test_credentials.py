"""Reading the bearer token that every API and sandbox accepts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dataworkflows.runtime.credentials import bearer_token

TOKENS = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=80
)


@given(
    token=TOKENS,
    scheme=st.sampled_from(["Bearer", "bearer", "BEARER", "bEaReR"]),
    gap=st.sampled_from([" ", "  ", " \t"]),
)
def test_the_token_of_a_bearer_header_whatever_the_schemes_case(
    token: str, scheme: str, gap: str
) -> None:
    """Any case of the scheme, and any spaces around the token, give the token itself."""
    assert bearer_token(f" {scheme}{gap}{token} ") == token


@pytest.mark.parametrize(
    "header",
    [None, "", "   ", "Bearer", "Bearer   ", "Basic dXNlcjpwYXNz", "Token abc", "abc"],
)
def test_no_token_without_a_bearer_scheme_and_a_token(header: str | None) -> None:
    """A missing or blank header, another scheme or a bare scheme give no token."""
    assert bearer_token(header) is None
