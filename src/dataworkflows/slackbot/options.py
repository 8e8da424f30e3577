"""The bot's options and where a request came from: :class:`BotOptions` (read from the
settings) and :class:`Origin` (who asked, where, and how to answer them)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from dataworkflows.slackbot.settings import BotSettings, SlackRunRule

__all__ = ["BotOptions", "Origin"]


@dataclass(frozen=True, slots=True)
class BotOptions:
    """How the bot behaves; :meth:`from_settings` reads them from the configuration."""

    command: str = "/dw"
    run_allow: tuple[SlackRunRule, ...] = ()
    """Who may start which workflow where (``SLACK_RUN_ALLOW``); empty: nobody."""
    status_workflow: str = "project-status-report"
    status_input: str = "project"
    public_url: str = "http://127.0.0.1:8080"
    """The engine as people reach it, for links to runs."""
    follow_max_s: float = 24 * 3600.0
    """How long the bot follows a run before leaving a final note."""
    follow_wait_s: float = 10.0
    """Each read of a followed run waits up to this long on the engine for it to end."""
    poll_initial_s: float = 0.5
    """After a read of a followed run failed, the first pause before the next one."""
    poll_max_s: float = 5.0
    """The longest such pause (they grow by half each time)."""
    runs_limit: int = 10
    shutdown_grace_s: float = 5.0
    """On shutdown, how long background work may finish before it is cancelled."""

    @classmethod
    def from_settings(cls, settings: BotSettings, **overrides: Any) -> BotOptions:
        """The options ``settings`` configure, with ``overrides`` (tests shorten waits)."""
        options = cls(
            command=settings.command,
            run_allow=settings.run_allow,
            status_workflow=settings.status_workflow,
            status_input=settings.status_input,
            public_url=(settings.public_url or settings.engine_url).rstrip("/"),
        )
        return replace(options, **overrides)

    def may_run(self, workflow: str, *, user: str, channel: str) -> bool:
        """Whether ``user`` may start ``workflow`` from ``channel``."""
        return any(rule.allows(workflow, user=user, channel=channel) for rule in self.run_allow)

    def run_link(self, run_id: str) -> str:
        """Where people see a run: its page in the engine's web console."""
        return f"{self.public_url}/runs/{run_id}"


@dataclass(frozen=True, slots=True)
class Origin:
    """Who asked, where, and how to answer them."""

    user: str
    channel: str
    response_url: str = ""
    """A slash command's or button's ``response_url`` ("" for mentions)."""
    thread_ts: str | None = None
    """For mentions: the thread to answer in."""
    request_id: str = field(default="", compare=False)

    def trigger(self, command: str) -> dict[str, str]:
        """What the engine records as having started a run asked for here."""
        return {
            "user": self.user,
            "channel": self.channel,
            "via": "slash_command" if self.response_url else "mention",
            "command": command,
        }
