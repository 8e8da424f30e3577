"""An in-memory Slack port for unit tests of code that uses the port."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from dataworkflows.connectors.slack.port import (
    HOOKS_ORIGIN,
    AuthIdentity,
    HistoryPage,
    PostedMessage,
    ResponseMessage,
    SlackError,
    SlackInvalidRequest,
    SlackMessage,
    SlackNotFound,
    SlackResponseUrlGone,
    SlackUser,
    UserPage,
    response_url_problem,
)

__all__ = ["FAKE_BOT_ID", "FAKE_BOT_USER", "FakeChannel", "FakeSlack"]

FAKE_BOT_USER = "UFAKEBOT01"
FAKE_BOT_ID = "BFAKEBOT01"


@dataclass
class FakeChannel:
    """A channel: its messages oldest first, whether the bot is in it, archived."""

    id: str
    messages: list[SlackMessage] = field(default_factory=list)
    member: bool = True
    archived: bool = False
    replies: dict[str, list[SlackMessage]] = field(default_factory=dict)


class FakeSlack:
    """:class:`~dataworkflows.connectors.slack.port.SlackPort` over dicts.

    ``fail_next`` raises the given errors from the next calls, in order; ``calls``
    names every call (``user_pages`` once per page, as each is a Web API call);
    ``users`` are what ``users.list`` lists, in order; ``responses`` keeps what was
    posted to each response_url; ``response_origins`` are the origins :meth:`respond`
    accepts.
    """

    def __init__(self, *, response_origins: Iterable[tuple[str, str, int]] = (HOOKS_ORIGIN,)):
        self.channels: dict[str, FakeChannel] = {}
        self.users: list[SlackUser] = []
        self.fail_next: list[SlackError] = []
        self.calls: list[str] = []
        self.responses: dict[str, list[dict[str, Any]]] = {}
        self.response_origins = set(response_origins)
        self._clock = itertools.count(1_764_000_000_000_100, 100)

    def add_channel(
        self, channel_id: str, *, messages: int = 0, member: bool = True, archived: bool = False
    ) -> FakeChannel:
        """Add a channel with ``messages`` user messages in it."""
        channel = FakeChannel(id=channel_id, member=member, archived=archived)
        for n in range(messages):
            channel.messages.append(
                SlackMessage(ts=self._ts(), user="UFAKEUSER1", text=f"message {n + 1}")
            )
        self.channels[channel_id] = channel
        return channel

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str = "",
        display_name: str = "",
        is_bot: bool = False,
        deleted: bool = False,
        tz: str | None = None,
    ) -> SlackUser:
        """Add a member of the workspace."""
        user = SlackUser(
            id=user_id,
            name=name,
            real_name=real_name,
            display_name=display_name,
            is_bot=is_bot,
            deleted=deleted,
            tz=tz,
        )
        self.users.append(user)
        return user

    def _ts(self) -> str:
        micros = next(self._clock)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _enter(self, operation: str) -> None:
        self.calls.append(operation)
        if self.fail_next:
            raise self.fail_next.pop(0)

    def _channel(self, channel_id: str, *, write: bool) -> FakeChannel:
        channel = self.channels.get(channel_id)
        if channel is None:
            raise SlackNotFound("channel_not_found", code="channel_not_found")
        if write and channel.archived:
            raise SlackInvalidRequest("is_archived", code="is_archived")
        if not channel.member:
            raise SlackInvalidRequest("not_in_channel", code="not_in_channel")
        return channel

    async def post_message(
        self,
        channel: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        unfurl_links: bool | None = None,
    ) -> PostedMessage:
        self._enter("post_message")
        target = self._channel(channel, write=True)
        if not text and not blocks:
            raise SlackInvalidRequest("no_text", code="no_text")
        message = SlackMessage(
            ts=self._ts(),
            user=FAKE_BOT_USER,
            bot_id=FAKE_BOT_ID,
            text=text or "",
            thread_ts=thread_ts,
        )
        if thread_ts is None:
            target.messages.append(message)
        else:
            target.replies.setdefault(thread_ts, []).append(message)
            target.messages = [_with_reply(m) if m.ts == thread_ts else m for m in target.messages]
            if reply_broadcast:
                target.messages.append(message)
        return PostedMessage(channel=target.id, ts=message.ts)

    async def update_message(
        self,
        channel: str,
        ts: str,
        *,
        text: str | None = None,
        blocks: list[dict[str, Any]] | None = None,
    ) -> PostedMessage:
        self._enter("update_message")
        target = self._channel(channel, write=True)
        for index, message in enumerate(target.messages):
            if message.ts == ts:
                if message.bot_id != FAKE_BOT_ID:
                    raise SlackInvalidRequest("cant_update_message", code="cant_update_message")
                target.messages[index] = SlackMessage(
                    ts=ts,
                    user=message.user,
                    bot_id=message.bot_id,
                    text=text or "",
                    thread_ts=message.thread_ts,
                    reply_count=message.reply_count,
                )
                return PostedMessage(channel=target.id, ts=ts)
        raise SlackNotFound("message_not_found", code="message_not_found")

    async def history_pages(
        self,
        channel: str,
        *,
        oldest: str | None = None,
        latest: str | None = None,
        page_size: int = 200,
    ) -> AsyncIterator[HistoryPage]:
        self._enter("history_pages")
        target = self._channel(channel, write=False)
        newest_first = [
            m
            for m in reversed(target.messages)
            if (oldest is None or float(m.ts) > float(oldest))
            and (latest is None or float(m.ts) < float(latest))
        ]
        for start in range(0, max(len(newest_first), 1), page_size):
            page = newest_first[start : start + page_size]
            more = start + page_size < len(newest_first)
            yield HistoryPage(
                messages=page,
                has_more=more,
                next_cursor=f"page:{start + page_size}" if more else None,
            )

    async def user_pages(self, *, page_size: int = 200) -> AsyncIterator[UserPage]:
        start = 0
        while True:
            self._enter("user_pages")
            page = self.users[start : start + page_size]
            start += page_size
            more = start < len(self.users)
            yield UserPage(users=page, next_cursor=f"user:{start}" if more else None)
            if not more:
                return

    async def respond(self, response_url: str, message: ResponseMessage) -> None:
        self._enter("respond")
        problem = response_url_problem(response_url, self.response_origins)
        if problem is not None:
            raise SlackInvalidRequest(problem)
        sent = self.responses.setdefault(response_url, [])
        if len(sent) >= 5:
            raise SlackResponseUrlGone("used_url", code="used_url")
        sent.append(message.payload())

    async def auth_test(self) -> AuthIdentity:
        self._enter("auth_test")
        return AuthIdentity(team_id="TFAKETEAM1", user_id=FAKE_BOT_USER, bot_id=FAKE_BOT_ID)


def _with_reply(parent: SlackMessage) -> SlackMessage:
    return SlackMessage(
        ts=parent.ts,
        user=parent.user,
        bot_id=parent.bot_id,
        text=parent.text,
        thread_ts=parent.ts,
        reply_count=parent.reply_count + 1,
        subtype=parent.subtype,
    )
