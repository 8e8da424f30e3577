"""The message that shows how a run is going, updated in place as the run goes on.

A :class:`Progress` is one of: a message the bot posted (:class:`PostedMessage`), one
sent through a slash command's ``response_url`` (:class:`ResponseUrlMessage`), or the
message a button was clicked on (:class:`ClickedMessage`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from dataworkflows.contracts import ActionFailed
from dataworkflows.slackbot.messages import Message
from dataworkflows.slackbot.replies import SlackReplies

__all__ = ["ClickedMessage", "PostedMessage", "Progress", "ResponseUrlMessage"]


class Progress(Protocol):
    """A message that shows how a run is going, updated in place."""

    async def show(self, message: Message) -> None: ...

    async def reply(self, message: Message) -> None:
        """Another message beneath this one (in its thread where there is one)."""
        ...


@dataclass(frozen=True, slots=True)
class PostedMessage:
    """A message the bot posted with ``post_message``: updated with ``update_message``."""

    slack: SlackReplies
    channel: str
    ts: str
    thread_ts: str | None = None
    """The thread the message is in, if it is a reply (Slack threads are one level)."""

    async def show(self, message: Message) -> None:
        await self.slack.update_message(
            self.channel, self.ts, text=message.text, blocks=message.blocks
        )

    async def reply(self, message: Message) -> None:
        await self.slack.post_message(
            self.channel,
            text=message.text,
            blocks=message.blocks,
            thread_ts=self.thread_ts or self.ts,
        )


@dataclass(frozen=True, slots=True)
class ResponseUrlMessage:
    """A message sent through a ``response_url``: each update is another respond."""

    slack: SlackReplies
    response_url: str
    replace: bool

    async def show(self, message: Message) -> None:
        await _respond(self.slack, self.response_url, message, replace_original=self.replace)

    async def reply(self, message: Message) -> None:
        await _respond(self.slack, self.response_url, message, replace_original=False)


@dataclass(frozen=True, slots=True)
class ClickedMessage:
    """The message a button was clicked on: updated in place, or replaced through the
    button's ``response_url`` when the bot cannot update it (it came by response_url)."""

    slack: SlackReplies
    channel: str
    ts: str
    response_url: str

    async def show(self, message: Message) -> None:
        if self.channel and self.ts:
            try:
                await self.slack.update_message(
                    self.channel, self.ts, text=message.text, blocks=message.blocks
                )
                return
            except ActionFailed as failed:
                if failed.error.retryable or not self.response_url:
                    raise
        await _respond(self.slack, self.response_url, message, replace_original=True)

    async def reply(self, message: Message) -> None:
        if self.channel and self.ts:
            await self.slack.post_message(
                self.channel, text=message.text, blocks=message.blocks, thread_ts=self.ts
            )
            return
        await _respond(self.slack, self.response_url, message, replace_original=False)


async def _respond(
    slack: SlackReplies, response_url: str, message: Message, *, replace_original: bool
) -> None:
    """``message`` in the channel through ``response_url``."""
    await slack.respond(
        response_url,
        text=message.text,
        blocks=message.blocks,
        response_type="in_channel",
        replace_original=replace_original,
    )
