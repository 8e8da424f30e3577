"""The Task Tracker's account check and HS256 tokens: issue, verify, expiry, forgeries."""

from __future__ import annotations

import base64
import json
import time

import jwt
import pytest

from dataworkflows.tracker.auth import (
    Account,
    TokenAuthority,
    TokenExpired,
    TokenInvalid,
)

SECRET = "tracker-signing-key-16"


class FakeClock:
    """Epoch seconds that a test moves forward by hand."""

    def __init__(self, now: float = 1_750_000_000.25) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def authority(clock: FakeClock) -> TokenAuthority:
    return TokenAuthority(secret=SECRET, ttl_s=3600.0, clock=clock)


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decoded(token: str) -> tuple[dict[str, object], dict[str, object]]:
    """A token's header and payload, unverified."""
    payload = token.split(".")[1]
    decoded_payload = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return jwt.get_unverified_header(token), decoded_payload


# Issuing -------------------------------------------------------------------------------


def test_an_issued_token_verifies_to_its_claims(
    authority: TokenAuthority, clock: FakeClock
) -> None:
    """A fresh token verifies, naming the subject, issue time, expiry (iat + ttl) and an id."""
    issued = authority.issue("ada")
    claims = authority.verify(issued.token)
    assert claims == issued.claims
    assert claims.sub == "ada"
    assert claims.iat == int(clock.now)
    assert claims.exp == claims.iat + 3600
    assert issued.expires_in == 3600
    assert len(claims.jti) >= 16


def test_tokens_are_hs256_jwts_with_the_four_claims(authority: TokenAuthority) -> None:
    """The token is a JWT with header alg HS256 and exactly the claims sub, iat, exp and jti."""
    header, payload = _decoded(authority.issue("ada").token)
    assert header["alg"] == "HS256"
    assert header["typ"] == "JWT"
    assert set(payload) == {"sub", "iat", "exp", "jti"}


def test_every_token_has_its_own_id(authority: TokenAuthority) -> None:
    """Two tokens issued in the same second differ by their random jti."""
    first = authority.issue("ada")
    second = authority.issue("ada")
    assert first.claims.jti != second.claims.jti
    assert first.token != second.token


def test_a_short_secret_signs_without_a_weak_key_warning(clock: FakeClock) -> None:
    """A 16-character secret (the settings' minimum) signs and verifies with no warning."""
    short = TokenAuthority(secret="0123456789abcdef", ttl_s=60.0, clock=clock)
    # pytest turns warnings into errors: PyJWT's InsecureKeyLengthWarning would fail here.
    assert short.verify(short.issue("ada").token).sub == "ada"


# Expiry --------------------------------------------------------------------------------


def test_a_token_is_valid_until_just_before_exp(
    authority: TokenAuthority, clock: FakeClock
) -> None:
    """Moving the clock to one moment before exp leaves the token valid."""
    issued = authority.issue("ada")
    clock.now = issued.claims.exp - 0.001
    assert authority.verify(issued.token).sub == "ada"


def test_a_token_expires_at_exp_by_the_injected_clock(
    authority: TokenAuthority, clock: FakeClock
) -> None:
    """At exp (by the injected clock, not the wall clock) the token is expired."""
    issued = authority.issue("ada")
    clock.now = issued.claims.exp
    with pytest.raises(TokenExpired):
        authority.verify(issued.token)
    clock.now += 86_400
    with pytest.raises(TokenExpired):
        authority.verify(issued.token)


def test_expiry_does_not_depend_on_the_wall_clock() -> None:
    """A token issued by a clock far in the past is expired even though PyJWT is not asked."""
    past = FakeClock(now=1_000_000.0)
    old = TokenAuthority(secret=SECRET, ttl_s=60.0, clock=past)
    token = old.issue("ada").token
    now = TokenAuthority(secret=SECRET, ttl_s=60.0, clock=time.time)
    with pytest.raises(TokenExpired):
        now.verify(token)


# Forgeries -----------------------------------------------------------------------------


def test_a_token_with_an_edited_payload_is_invalid(authority: TokenAuthority) -> None:
    """Changing a claim (a later exp) without re-signing breaks the signature."""
    token = authority.issue("ada").token
    header, _payload, signature = token.split(".")
    _, claims = _decoded(token)
    forged = ".".join([header, _b64({**claims, "exp": 9_999_999_999}), signature])
    with pytest.raises(TokenInvalid):
        authority.verify(forged)


def test_a_token_with_an_edited_signature_is_invalid(authority: TokenAuthority) -> None:
    """Flipping a character of the signature makes the token invalid."""
    token = authority.issue("ada").token
    flipped = "A" if token[-2] != "A" else "B"
    with pytest.raises(TokenInvalid):
        authority.verify(token[:-2] + flipped + token[-1])


def test_an_unsigned_alg_none_token_is_invalid(authority: TokenAuthority) -> None:
    """A token with alg "none" and no signature is refused, whatever its claims."""
    claims = authority.issue("ada").claims
    unsigned = jwt.encode(
        {"sub": claims.sub, "iat": claims.iat, "exp": claims.exp, "jti": "x"},
        None,
        algorithm="none",
    )
    with pytest.raises(TokenInvalid):
        authority.verify(unsigned)
    handmade = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64({'sub': 'ada', 'exp': claims.exp})}."
    with pytest.raises(TokenInvalid):
        authority.verify(handmade)


def test_a_token_signed_with_another_secret_is_invalid(
    authority: TokenAuthority, clock: FakeClock
) -> None:
    """Another tracker's token, or one signed with the raw secret by hand, is refused."""
    other = TokenAuthority(secret="a-different-secret-0123", ttl_s=3600.0, clock=clock)
    with pytest.raises(TokenInvalid):
        authority.verify(other.issue("ada").token)
    claims = authority.issue("ada").claims
    by_hand = jwt.encode(
        {"sub": "ada", "iat": claims.iat, "exp": claims.exp, "jti": "x"},
        SECRET * 2,  # long enough that PyJWT does not warn; still not the tracker's key
        algorithm="HS256",
    )
    with pytest.raises(TokenInvalid):
        authority.verify(by_hand)


def test_a_token_with_another_hmac_algorithm_is_invalid(authority: TokenAuthority) -> None:
    """Only HS256 is accepted: an HS512 token is refused before its signature is checked."""
    token = jwt.encode({"sub": "ada", "exp": 9_999_999_999}, "k" * 64, algorithm="HS512")
    with pytest.raises(TokenInvalid):
        authority.verify(token)


@pytest.mark.parametrize(
    "garbage",
    ["", "x", "not.a.jwt", "a.b.c.d", "eyJhbGciOiJIUzI1NiJ9..", "é.é.é", "x" * 5000],
)
def test_garbage_is_invalid(authority: TokenAuthority, garbage: str) -> None:
    """Empty, malformed, non-ASCII or oversized strings are invalid tokens, never a crash."""
    with pytest.raises(TokenInvalid):
        authority.verify(garbage)


@pytest.mark.parametrize(("secret", "ttl_s"), [("", 60.0), (SECRET, 0.5), (SECRET, float("nan"))])
def test_an_unusable_configuration_is_refused(secret: str, ttl_s: float) -> None:
    """An empty secret or a lifetime under one second is a ValueError at construction."""
    with pytest.raises(ValueError, match=r"secret|lifetime"):
        TokenAuthority(secret=secret, ttl_s=ttl_s)


# The account ---------------------------------------------------------------------------


def test_the_account_matches_only_both_right_credentials() -> None:
    """Only the right username with the right password match; any other pair does not."""
    account = Account(username="ada", password="correct horse")
    assert account.matches("ada", "correct horse")
    assert not account.matches("ada", "wrong")
    assert not account.matches("bob", "correct horse")
    assert not account.matches("bob", "wrong")
    assert not account.matches("", "")
    assert not account.matches("ada", "correct horse ")  # a prefix or extension is not enough


def test_the_account_never_shows_its_password() -> None:
    """repr() of the account names the user and masks the password."""
    account = Account(username="ada", password="correct horse")
    assert "correct horse" not in repr(account)
    assert "ada" in repr(account)


def test_the_authority_never_shows_its_secret(authority: TokenAuthority) -> None:
    """repr() of the token authority does not contain the signing secret."""
    assert SECRET not in repr(authority)


@pytest.mark.parametrize(("username", "password"), [("", "pw"), ("ada", "")])
def test_an_empty_credential_is_refused(username: str, password: str) -> None:
    """An account with an empty username or password cannot be configured."""
    with pytest.raises(ValueError, match="non-empty"):
        Account(username=username, password=password)
