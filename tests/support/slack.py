"""A Slack sandbox process for tests, and a client for its test endpoints.

``slack_sandbox_process`` runs ``dataworkflows serve sandbox slack`` (the real CLI) on
a free 127.0.0.1 port; :class:`SlackSandboxControl` wraps its ``/sandbox/*`` endpoints
(see :mod:`dataworkflows.sandboxes.slack.app`). Its methods are synchronous
(httpx): when the bot under test runs in the test's own event loop, call the
``send_*`` methods through ``await asyncio.to_thread(control.send_command, ...)`` so the
loop stays free to answer the sandbox.

For speed, a sandbox can also run in the test's process: build
``SlackSandbox(token=..., signing_secret=..., bot_url=..., public_url=...)``, serve
``create_slack_sandbox_app(sandbox)`` with :func:`tests.support.net.serve_in_process`, set
``sandbox.public_url`` to the URL it yields, and read its state directly
(``sandbox.workspace``, ``sandbox.ephemeral``, ``sandbox.response_urls``...).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from dataworkflows.sandboxes.slack.demo_data import (
    ARCHIVED_CHANNEL_ID,
    BOT,
    DEMO_USERS,
    GENERAL_CHANNEL_ID,
    NOT_MEMBER_CHANNEL_ID,
    PROJECT_CHANNEL_IDS,
)
from tests.support.net import free_port
from tests.support.processes import CliProcess

__all__ = [
    "APOLLO_CHANNEL",
    "ARCHIVED_CHANNEL",
    "BOREALIS_CHANNEL",
    "BOT_ID",
    "BOT_USER_ID",
    "CYGNUS_CHANNEL",
    "GENERAL_CHANNEL",
    "MAYA",
    "NOT_MEMBER_CHANNEL",
    "SANDBOX_BOT_TOKEN",
    "SANDBOX_SIGNING_SECRET",
    "SlackSandboxControl",
    "slack_sandbox_process",
]

SANDBOX_BOT_TOKEN = "xoxb-sandbox-0000000000-for-tests"
SANDBOX_SIGNING_SECRET = "sandbox-signing-secret-for-tests-0123"

APOLLO_CHANNEL = PROJECT_CHANNEL_IDS["apollo"]
BOREALIS_CHANNEL = PROJECT_CHANNEL_IDS["borealis"]
CYGNUS_CHANNEL = PROJECT_CHANNEL_IDS["cygnus"]
"""``#proj-cygnus``: more than 100 top-level messages (several history pages)."""
GENERAL_CHANNEL = GENERAL_CHANNEL_ID
NOT_MEMBER_CHANNEL = NOT_MEMBER_CHANNEL_ID
"""``#watercooler``: the bot is not a member (``not_in_channel``)."""
ARCHIVED_CHANNEL = ARCHIVED_CHANNEL_ID
"""``#proj-zephyr``: archived (``is_archived``)."""
BOT_USER_ID = BOT.user_id
BOT_ID = BOT.bot_id
MAYA = DEMO_USERS[0].id
"""Maya Patel, the default user of commands, mentions and clicks."""


class SlackSandboxControl:
    """The sandbox's URLs and its ``/sandbox/*`` endpoints.

    ``api`` is the Web API base to give a client (``http://127.0.0.1:<port>/api/``).
    """

    def __init__(self, base: str, *, timeout: float = 30.0) -> None:
        self.base = base.rstrip("/")
        self.api = f"{self.base}/api/"
        self._http = httpx.Client(base_url=self.base, timeout=timeout, trust_env=False)

    def close(self) -> None:
        """Close the HTTP connection to the sandbox."""
        self._http.close()

    def _get(self, path: str) -> Any:
        response = self._http.get(path)
        assert response.status_code == 200, response.text
        return response.json()

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self._http.post(path, json=body or {})
        assert response.status_code == 200, response.text
        return response.json()

    # -- faults and state -------------------------------------------------------------

    def fault(self, kind: str, **fields: Any) -> None:
        """Fail the next requests: ``ratelimited`` (``retry_after``), ``server_error``
        (``status``), ``slow`` (``delay_s``), ``invalid_auth``; ``times``, ``method``."""
        response = self._http.post("/sandbox/faults", json={"kind": kind, **fields})
        assert response.status_code == 204, response.text

    def clear_faults(self) -> None:
        """Forget queued faults."""
        assert self._http.delete("/sandbox/faults").status_code == 204

    def reset(self) -> None:
        """Reseed the workspace; forget faults, logs, response_urls, ephemeral messages."""
        assert self._http.post("/sandbox/reset").status_code == 204

    def advance_clock(self, seconds: float) -> None:
        """Move sandbox time forward (response_urls expire after 30 minutes)."""
        self._post("/sandbox/clock", {"advance_s": seconds})

    def requests(self, kind: str | None = None) -> list[dict[str, Any]]:
        """Web API calls and response_url posts received (``kind``: ``api`` or
        ``response_url``), oldest first, tokens masked."""
        recorded: list[dict[str, Any]] = self._get("/sandbox/requests")
        return [r for r in recorded if kind is None or r["kind"] == kind]

    def workspace(self) -> dict[str, Any]:
        """Team, bot, users and channels."""
        body: dict[str, Any] = self._get("/sandbox/workspace")
        return body

    def channel_messages(self, channel_id: str) -> list[dict[str, Any]]:
        """Every message of the channel, thread replies included, oldest first."""
        messages: list[dict[str, Any]] = self._get(f"/sandbox/channels/{channel_id}/messages")
        return messages

    def responses(self) -> list[dict[str, Any]]:
        """Every minted response_url with ``uses`` and its ``posts``."""
        responses: list[dict[str, Any]] = self._get("/sandbox/responses")
        return responses

    def ephemeral(self) -> list[dict[str, Any]]:
        """Messages shown to one user only (acks and ephemeral responses)."""
        messages: list[dict[str, Any]] = self._get("/sandbox/ephemeral")
        return messages

    def deliveries(self) -> list[dict[str, Any]]:
        """Everything sent to the bot, with the bot's status and body."""
        sent: list[dict[str, Any]] = self._get("/sandbox/deliveries")
        return sent

    # -- playing Slack towards the bot --------------------------------------------------

    def send_command(self, text: str = "", **fields: Any) -> dict[str, Any]:
        """A signed slash command (``command``, ``user_id``, ``channel_id``...); the bot's
        ``status``, ``body``, ``elapsed_ms``, and the ``response_url`` and ``trigger_id``."""
        result: dict[str, Any] = self._post("/sandbox/send/command", {"text": text, **fields})
        return result

    def send_mention(self, text: str = "status apollo", **fields: Any) -> dict[str, Any]:
        """``<@BOT> text`` posted by ``user`` in ``channel`` (``thread_ts``, ``redeliver``,
        ``retry_num``...), then its ``app_mention`` event; ``event_id``, ``ts`` and
        ``deliveries``."""
        result: dict[str, Any] = self._post("/sandbox/send/mention", {"text": text, **fields})
        return result

    def send_url_verification(self, **fields: Any) -> dict[str, Any]:
        """The Events API challenge; ``echoed`` says whether the bot answered it."""
        result: dict[str, Any] = self._post("/sandbox/send/url_verification", fields)
        return result

    def send_action(self, action_id: str, message_ts: str, **fields: Any) -> dict[str, Any]:
        """A ``block_actions`` click on ``action_id`` of message ``message_ts``
        (``channel_id``, ``user_id``, ``value``...); the bot's answer and the payload."""
        body = {"action_id": action_id, "message_ts": message_ts, **fields}
        result: dict[str, Any] = self._post("/sandbox/send/action", body)
        return result


@contextmanager
def slack_sandbox_process(
    cwd: Path, *, bot_url: str | None = None
) -> Iterator[SlackSandboxControl]:
    """``dataworkflows serve sandbox slack`` on a free port, delivering to ``bot_url``
    (default: a port nothing listens on, so deliveries fail fast with ``error`` set)."""
    port = free_port()
    env = {
        "SLACK_BOT_TOKEN": SANDBOX_BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SANDBOX_SIGNING_SECRET,
        "DW_PORT": str(port),
        "SLACK_BOT_URL": bot_url or f"http://127.0.0.1:{free_port()}",
        # Not from the developer's environment: response_urls must point here.
        "SLACK_API_URL": "",
    }
    with CliProcess("serve", "sandbox", "slack", env=env, cwd=cwd) as process:
        process.wait_http(f"http://127.0.0.1:{port}/healthz")
        control = SlackSandboxControl(f"http://127.0.0.1:{port}")
        try:
            yield control
        finally:
            control.close()
        process.stop()
