"""The Slack bot's settings (``serve slack-bot`` and ``dev``), and its allow-list rule."""

from __future__ import annotations

import re
from typing import Annotated, Final

import msgspec

from dataworkflows.runtime.settings import (
    SECRET,
    SettingsError,
    env,
    parse_http_url,
    parse_secret,
    parse_token,
)

__all__ = ["BotSettings", "SlackRunRule", "parse_run_allow"]


class SlackRunRule(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of ``SLACK_RUN_ALLOW``: who may ``/dw run`` which workflow, and where.

    ``workflow`` is a workflow name or ``*``. A request matches when the workflow
    matches and the Slack user is in ``users`` (empty: any user) and the channel is
    in ``channels`` (empty: any channel).
    """

    workflow: str
    users: frozenset[str] = frozenset()
    channels: frozenset[str] = frozenset()

    def allows(self, workflow: str, *, user: str, channel: str) -> bool:
        """Whether this rule lets ``user`` run ``workflow`` in ``channel``."""
        return (
            self.workflow in ("*", workflow)
            and (not self.users or user in self.users)
            and (not self.channels or channel in self.channels)
        )


_SLASH_COMMAND_RE: Final = re.compile(r"^/[a-z0-9_\-]{1,31}$")
_WORKFLOW_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,99}$")
_INPUT_NAME_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_SLACK_USER_RE: Final = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL_RE: Final = re.compile(r"^[CGD][A-Z0-9]{2,}$")


def _parse_slash_command(name: str, raw: str) -> str:
    if not _SLASH_COMMAND_RE.match(raw):
        raise SettingsError(name, f"must be a slash command such as /dw, got {raw!r}")
    return raw


def _parse_workflow_name(name: str, raw: str) -> str:
    if not _WORKFLOW_NAME_RE.match(raw):
        raise SettingsError(name, f"must be a workflow name (a-z, 0-9, - and _), got {raw!r}")
    return raw


def _parse_input_name(name: str, raw: str) -> str:
    if not _INPUT_NAME_RE.match(raw):
        raise SettingsError(name, f"must be an input name (letters, digits, _), got {raw!r}")
    return raw


def parse_run_allow(name: str, raw: str) -> tuple[SlackRunRule, ...]:
    """``workflow=subject,subject;...``: subjects are Slack user ids (``U...``/``W...``),
    channel ids (``C...``/``G...``/``D...``) or ``*`` (anyone, anywhere)."""
    rules: list[SlackRunRule] = []
    for entry in (e.strip() for e in raw.split(";") if e.strip()):
        workflow, sep, subjects = entry.partition("=")
        workflow = workflow.strip()
        if not sep or not (workflow == "*" or _WORKFLOW_NAME_RE.match(workflow)):
            raise SettingsError(
                name,
                f"entries must be workflow=subjects (e.g. hello-world=U012AB3CD), got {entry!r}",
            )
        users: set[str] = set()
        channels: set[str] = set()
        anyone = False
        listed = [s.strip() for s in subjects.split(",") if s.strip()]
        if not listed:
            raise SettingsError(name, f"{workflow} lists nobody: give user or channel ids, or *")
        for subject in listed:
            if subject == "*":
                anyone = True
            elif _SLACK_USER_RE.match(subject):
                users.add(subject)
            elif _SLACK_CHANNEL_RE.match(subject):
                channels.add(subject)
            else:
                raise SettingsError(
                    name,
                    f"{subject!r} (for {workflow}) is not a Slack user id (U...), "
                    "channel id (C..., G..., D...) or *",
                )
        if anyone:
            users, channels = set(), set()
        rules.append(
            SlackRunRule(workflow=workflow, users=frozenset(users), channels=frozenset(channels))
        )
    return tuple(rules)


class BotSettings(msgspec.Struct, frozen=True, kw_only=True):
    """How the bot verifies Slack, what it answers, and how it reaches the engine."""

    signing_secret: Annotated[
        str | None,
        env(
            "SLACK_SIGNING_SECRET",
            parse_secret,
            "the app's signing secret: the bot verifies requests with it",
        ),
        SECRET,
    ] = None
    command: Annotated[
        str, env("SLACK_COMMAND", _parse_slash_command, "the slash command the bot answers")
    ] = "/dw"
    run_allow: Annotated[
        tuple[SlackRunRule, ...],
        env("SLACK_RUN_ALLOW", parse_run_allow, "who may start which workflow from Slack"),
    ] = ()
    status_workflow: Annotated[
        str,
        env("SLACK_STATUS_WORKFLOW", _parse_workflow_name, "the workflow /dw status runs"),
    ] = "project-status-report"
    status_input: Annotated[
        str,
        env("SLACK_STATUS_INPUT", _parse_input_name, "the input that receives the project"),
    ] = "project"
    engine_url: Annotated[
        str, env("DW_ENGINE_URL", parse_http_url, "the engine's API as the bot reaches it")
    ] = "http://127.0.0.1:8080"
    engine_api_key: Annotated[
        str | None,
        env("DW_ENGINE_API_KEY", parse_token, "the API key the bot sends to the engine"),
        SECRET,
    ] = None
    public_url: Annotated[
        str | None,
        env("DW_PUBLIC_URL", parse_http_url, "the engine's URL as people reach it, for links"),
    ] = None
