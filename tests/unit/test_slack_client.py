"""The Slack client's pure rules: which response_urls it posts to, and how Slack's error
strings and answers become typed errors."""

from __future__ import annotations

import httpx
import pytest

from dataworkflows.connectors.slack.client import _webhook_code as webhook_code
from dataworkflows.connectors.slack.client import error_for
from dataworkflows.connectors.slack.component import connector_parts, slack_client
from dataworkflows.connectors.slack.port import (
    HOOKS_ORIGIN,
    ResponseMessage,
    SlackAuthError,
    SlackError,
    SlackInvalidRequest,
    SlackNotFound,
    SlackRateLimited,
    SlackResponseUrlGone,
    SlackUnavailable,
    origin_of,
    response_url_problem,
)
from dataworkflows.connectors.slack.spec import SlackSettings
from dataworkflows.runtime.connector_app import ConnectorNotConfigured
from dataworkflows.runtime.settings import load_section

SANDBOX = ("http", "127.0.0.1", 8202)


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
        "https://hooks.slack.com:443/actions/T1/2/3",
        "https://HOOKS.SLACK.COM/commands/T1/2/3",
        "http://127.0.0.1:8202/commands/T07DWDEMO1/1/abc",
    ],
)
def test_slacks_response_urls_pass(url: str) -> None:
    """hooks.slack.com over https, and the configured API's own origin, are accepted."""
    assert response_url_problem(url, {HOOKS_ORIGIN, SANDBOX}) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/commands/T1/2/3",
        "https://hooks.slack.com:8443/commands/T1/2/3",
        "https://hooks.slack.com.attacker.example/commands/T1/2/3",
        "https://attacker.example/?https://hooks.slack.com/",
        "https://hooks.slack.com@attacker.example/",
        "https://user:pw@hooks.slack.com/commands/T1/2/3",
        "https://hooks.slack.com\\@attacker.example/",
        "https://hooks.slack.com/commands/T1/2/3 http://x",
        "http://127.0.0.1:8203/commands/T/1/a",
        "http://localhost:8202/commands/T/1/a",
        "http://169.254.169.254/latest/meta-data",
        "ftp://hooks.slack.com/x",
        "/commands/T/1/a",
        "",
    ],
)
def test_anything_else_is_refused_naming_the_field(url: str) -> None:
    """Other schemes, hosts, ports, user info or odd characters are refused (SSRF)."""
    problem = response_url_problem(url, {HOOKS_ORIGIN, SANDBOX})
    assert problem is not None
    assert problem.startswith("response_url:")


def test_origin_defaults_ports() -> None:
    """The origin of a URL without a port uses the scheme's default port."""
    assert origin_of("https://slack.com/api/") == ("https", "slack.com", 443)
    assert origin_of("http://127.0.0.1:8202/api/") == SANDBOX
    assert origin_of("mailto:x@y") is None


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("invalid_auth", SlackAuthError),
        ("not_authed", SlackAuthError),
        ("account_inactive", SlackAuthError),
        ("token_revoked", SlackAuthError),
        ("channel_not_found", SlackNotFound),
        ("message_not_found", SlackNotFound),
        ("not_in_channel", SlackInvalidRequest),
        ("is_archived", SlackInvalidRequest),
        ("no_text", SlackInvalidRequest),
        ("msg_too_long", SlackInvalidRequest),
        ("invalid_blocks", SlackInvalidRequest),
        ("cant_update_message", SlackInvalidRequest),
        ("used_url", SlackResponseUrlGone),
        ("expired_url", SlackResponseUrlGone),
        ("ratelimited", SlackRateLimited),
        ("internal_error", SlackUnavailable),
        ("something_new", SlackError),
    ],
)
def test_slack_error_strings_map_to_typed_errors(code: str, kind: type[SlackError]) -> None:
    """Each documented error string becomes its typed error, keeping the string as code."""
    error = error_for(code, "chat.postMessage")
    assert type(error) is kind
    assert error.code == code
    assert code in error.message


@pytest.mark.parametrize(
    ("status", "body", "code"),
    [
        (200, '{"ok": true}', "ok"),
        (200, "ok", "ok"),
        (200, "", None),
        (404, "used_url", "used_url"),
        (404, '{"ok": false, "error": "expired_url"}', "expired_url"),
        (400, "<html>Bad Request</html>", None),
    ],
)
def test_response_url_answers_are_read_in_both_styles(
    status: int, body: str, code: str | None
) -> None:
    """A response_url's answer is read as JSON {ok, error} or as a bare webhook word."""
    assert webhook_code(httpx.Response(status, text=body)) == code


def test_response_payload_sends_both_flags() -> None:
    """The response body always states replace_original and delete_original."""
    assert ResponseMessage(text="hi").payload() == {
        "text": "hi",
        "response_type": "ephemeral",
        "replace_original": False,
        "delete_original": False,
    }


async def test_the_connector_needs_a_bot_token() -> None:
    """Without SLACK_BOT_TOKEN the connector refuses to start, naming the variable."""
    settings = SlackSettings()
    with pytest.raises(ConnectorNotConfigured, match="SLACK_BOT_TOKEN"):
        async with connector_parts(settings):
            pass
    async with httpx.AsyncClient() as http:
        with pytest.raises(ConnectorNotConfigured, match="SLACK_BOT_TOKEN"):
            slack_client(settings, http)


async def test_the_api_url_defaults_to_slack_and_accepts_a_sandbox() -> None:
    """SLACK_API_URL unset means https://slack.com/api/; a sandbox URL works without its slash."""
    async with httpx.AsyncClient() as http:
        default = slack_client(load_section(SlackSettings, {"SLACK_BOT_TOKEN": "xoxb-1"}), http)
        sandbox = slack_client(
            load_section(
                SlackSettings,
                {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_API_URL": "http://127.0.0.1:8202/api"},
            ),
            http,
        )
    assert default.base_url == "https://slack.com/api/"
    assert sandbox.base_url == "http://127.0.0.1:8202/api/"
