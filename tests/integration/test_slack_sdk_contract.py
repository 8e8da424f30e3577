"""Slack's own Python SDK, unchanged, against the Slack sandbox: slack_sdk's WebClient
(its pagination iterators, errors and 429 retry handler) for the calls a user makes
around channels and messages, and its SignatureVerifier on what the sandbox sends a bot."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.support.slack import (
    APOLLO_CHANNEL,
    SANDBOX_BOT_TOKEN,
    SANDBOX_SIGNING_SECRET,
    SlackSandboxControl,
    slack_sandbox_process,
)

pytestmark = pytest.mark.acceptance


class BotStandIn:
    """An HTTP endpoint that records what the sandbox delivers to "the bot"."""

    def __init__(self) -> None:
        received: list[tuple[dict[str, str], bytes]] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                received.append((dict(self.headers.items()), self.rfile.read(length)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def bot() -> Iterator[BotStandIn]:
    stand_in = BotStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def sandbox(
    tmp_path_factory: pytest.TempPathFactory, bot: BotStandIn
) -> Iterator[SlackSandboxControl]:
    with slack_sandbox_process(tmp_path_factory.mktemp("slack-sdk"), bot_url=bot.url) as control:
        yield control


@pytest.fixture(autouse=True)
def _fresh_sandbox(sandbox: SlackSandboxControl) -> None:
    """Every test starts from the seeded workspace, with no faults."""
    sandbox.reset()


def web_client(sandbox: SlackSandboxControl, token: str = SANDBOX_BOT_TOKEN) -> WebClient:
    """The client as a slack_sdk user builds it, with only the base URL changed."""
    return WebClient(token=token, base_url=f"{sandbox.api}/")


def test_auth_test_and_a_wrong_token(sandbox: SlackSandboxControl) -> None:
    """auth.test names the bot; a wrong token is SlackApiError invalid_auth."""
    assert web_client(sandbox).auth_test()["ok"] is True
    with pytest.raises(SlackApiError) as caught:
        web_client(sandbox, "xoxb-not-the-token").auth_test()
    assert caught.value.response["error"] == "invalid_auth"


def test_pagination_iterators_walk_every_page(sandbox: SlackSandboxControl) -> None:
    """Iterating a paged response follows response_metadata.next_cursor to the end, for
    channels and a channel's history, and finds what one big page holds."""
    client = web_client(sandbox)
    paged = [c["id"] for page in client.conversations_list(limit=2) for c in page["channels"]]
    whole = [c["id"] for c in client.conversations_list(limit=1000)["channels"]]
    assert len(paged) > 2
    assert paged == whole
    # The iterator hands back one response object, refilled page by page: read as it goes.
    sizes: list[int] = []
    messages: list[str] = []
    for page in client.conversations_history(channel=APOLLO_CHANNEL, limit=5):
        sizes.append(len(page["messages"]))
        messages.extend(m["ts"] for m in page["messages"])
    assert len(sizes) > 1
    assert all(size <= 5 for size in sizes)
    assert len(messages) == len(set(messages))
    assert messages == sorted(messages, reverse=True)


def test_post_update_and_read_back(sandbox: SlackSandboxControl) -> None:
    """chat.postMessage, chat.update and conversations.history agree with one another."""
    client = web_client(sandbox)
    posted = client.chat_postMessage(channel=APOLLO_CHANNEL, text="Standup moved to 10:00")
    client.chat_update(channel=posted["channel"], ts=posted["ts"], text="Standup at 10:30")
    latest = client.conversations_history(channel=APOLLO_CHANNEL, limit=1)["messages"][0]
    assert latest["ts"] == posted["ts"]
    assert latest["text"] == "Standup at 10:30"
    users = client.users_list()["members"]
    assert any(u["id"] == latest["user"] for u in users)


def test_an_unknown_channel_is_channel_not_found(sandbox: SlackSandboxControl) -> None:
    """Reading a channel that does not exist is Slack's channel_not_found."""
    with pytest.raises(SlackApiError) as caught:
        web_client(sandbox).conversations_history(channel="C0NOSUCHCHAN")
    assert caught.value.response["error"] == "channel_not_found"


def test_the_sdk_retry_handler_waits_out_rate_limits(sandbox: SlackSandboxControl) -> None:
    """A 429 with Retry-After is retried by slack_sdk's RateLimitErrorRetryHandler."""
    sandbox.fault("ratelimited", method="conversations.history", retry_after=1)
    client = web_client(sandbox)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    history = client.conversations_history(channel=APOLLO_CHANNEL, limit=3)
    assert history["ok"] is True
    calls = [r for r in sandbox.requests("api") if r["method"] == "conversations.history"]
    assert [r["status"] for r in calls][-2:] == [429, 200]


def test_what_the_sandbox_sends_a_bot_passes_signature_verifier(
    sandbox: SlackSandboxControl, bot: BotStandIn
) -> None:
    """A slash command the sandbox delivers is signed so that slack_sdk's own
    SignatureVerifier accepts it with the app's signing secret (and not with another)."""
    bot.received.clear()
    sandbox.send_command("status apollo")
    [(headers, body)] = bot.received
    verifier = SignatureVerifier(SANDBOX_SIGNING_SECRET)
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("another-signing-secret").is_valid_request(body, headers)
