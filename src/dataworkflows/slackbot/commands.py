"""The bot's command language: ``help``, ``status <project>``, ``run <workflow> k=v ...``,
``runs [workflow]``, the same after ``/dw`` and after an @mention.

:func:`parse_command` is total: any text at all gives a :class:`Command`, and text it
cannot make sense of gives :class:`Misunderstood` saying what was not understood. It
never raises, so nothing a user types can crash a request.

Slack mangles what people type in ways the parser undoes first: it escapes ``&``, ``<``
and ``>`` (``&amp;``), turns URLs and e-mail addresses into ``<url|label>`` links, and
many clients replace straight quotes with typographic ones.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import msgspec

__all__ = [
    "MAX_TEXT",
    "WORKFLOW_NAME_RE",
    "Command",
    "Help",
    "Misunderstood",
    "Run",
    "Runs",
    "Status",
    "parse_command",
    "strip_mention",
    "tokenize",
]

MAX_TEXT: Final = 4000
"""Longer command text is refused (Slack itself sends at most a few thousand characters)."""

WORKFLOW_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
"""The engine's workflow names; anything else cannot name a workflow (nor a URL path)."""
_KEY_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_MENTION_RE: Final = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s:,]*")
# <http://x|label>, <mailto:a@b|a@b>, <http://x>: Slack's auto-formatted links.
_LINK_RE: Final = re.compile(r"<((?:https?|mailto|tel):[^|>\s]*)(?:\|([^>]*))?>")
# Typographic quotes some Slack clients substitute for the straight ones people type.
_FILLER: Final = frozenset(
    {"please", "pls", "hey", "hi", "hello", "give", "show", "get", "tell", "me", "us", "the"}
)
_QUOTES: Final = str.maketrans(
    {"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'", "\u201a": "'"}
)


class Help(msgspec.Struct, frozen=True, tag=True):
    """``help`` (or nothing at all)."""


class Misunderstood(msgspec.Struct, frozen=True, tag=True):
    """Text the bot cannot act on; ``problem`` says what was not understood."""

    problem: str


class Status(msgspec.Struct, frozen=True, tag=True):
    """``status <project>``: run the status workflow for ``project``."""

    project: str


class Run(msgspec.Struct, frozen=True, tag=True):
    """``run <workflow> key=value ...``: the raw values, typed later against the workflow."""

    workflow: str
    arguments: tuple[tuple[str, str], ...] = ()


class Runs(msgspec.Struct, frozen=True, tag=True):
    """``runs [workflow]``: recent runs, newest first."""

    workflow: str | None = None


Command = Help | Misunderstood | Status | Run | Runs


class _Unparsable(ValueError):
    """Tokenizing failed; the message is for the user."""


def strip_mention(text: str, bot_user_id: str = "") -> str:
    """What was said to the bot in an ``app_mention`` event's ``text``.

    The leading ``<@U...>`` mention is removed; when the bot is mentioned later in the
    text (``hey <@UBOT> status apollo``), what follows its mention is kept.
    """
    if bot_user_id:
        _, found, after = text.partition(f"<@{bot_user_id}>")
        if found:
            text = after.lstrip(" \t\n:,")
            # "@bot @bot status": a repeated mention of the bot says nothing more.
            while text.startswith(f"<@{bot_user_id}>"):
                text = text.removeprefix(f"<@{bot_user_id}>").lstrip(" \t\n:,")
            return text
    return _MENTION_RE.sub("", text, count=1)


def _unformat(text: str) -> str:
    """What the user typed, before Slack's escaping, link formatting and smart quotes."""
    text = _LINK_RE.sub(lambda m: m.group(2) if m.group(2) else m.group(1), text)
    text = text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    return text.translate(_QUOTES)


def tokenize(text: str) -> list[str]:
    """Split like a shell: whitespace separates, quotes group, ``\\`` escapes in ``"..."``.

    Raises ``ValueError`` (with a message for the user) for an unclosed quote.
    """
    tokens: list[str] = []
    current: list[str] = []
    in_token = False
    quote: str | None = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote is not None:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"' and index + 1 < len(text):
                index += 1
                current.append(text[index])
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
            in_token = True
        elif char.isspace():
            if in_token:
                tokens.append("".join(current))
                current, in_token = [], False
        else:
            current.append(char)
            in_token = True
        index += 1
    if quote is not None:
        raise _Unparsable(f"a {quote} quote is not closed")
    if in_token:
        tokens.append("".join(current))
    return tokens


def _shown(text: str, limit: int = 60) -> str:
    """``text`` short enough to quote back to the user."""
    # A backtick would end the code span the text is quoted in.
    text = " ".join(text.split()).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_command(text: str) -> Command:
    """The command in ``text`` (what follows ``/dw`` or the mention). Never raises."""
    if len(text) > MAX_TEXT:
        return Misunderstood(f"the command is too long ({len(text)} characters)")
    text = _unformat(text)
    try:
        tokens = tokenize(text)
    except _Unparsable as exc:
        return Misunderstood(f"{exc} in `{_shown(text)}`")
    if not tokens:
        return Help()
    # People talk to a bot: "@bot please give status of apollo".
    while len(tokens) > 1 and tokens[0].lower() in _FILLER:
        tokens = tokens[1:]
    verb, rest = tokens[0].lower(), tokens[1:]
    parse = _VERBS.get(verb)
    if parse is None:
        return Misunderstood(f"`{_shown(tokens[0], 30)}` is not a command")
    return parse(rest)


def _parse_help(tokens: list[str]) -> Command:
    return Help()


def _parse_status(tokens: list[str]) -> Command:
    if len(tokens) > 1 and tokens[0].lower() in ("of", "for"):
        tokens = tokens[1:]
    project = " ".join(tokens).strip().rstrip("?!.")
    if not project:
        return Misunderstood("`status` needs a project, e.g. `status apollo`")
    return Status(project=project)


def _parse_runs(tokens: list[str]) -> Command:
    if not tokens:
        return Runs()
    if len(tokens) > 1 or not WORKFLOW_NAME_RE.match(tokens[0]):
        return Misunderstood(
            f"`runs` takes at most a workflow name, not `{_shown(' '.join(tokens))}`"
        )
    return Runs(workflow=tokens[0])


def _parse_run(tokens: list[str]) -> Command:
    if not tokens:
        return Misunderstood("`run` needs a workflow, e.g. `run hello-world names=Ada`")
    workflow = tokens[0]
    if not WORKFLOW_NAME_RE.match(workflow):
        return Misunderstood(
            f"`{_shown(workflow, 40)}` is not a workflow name (lowercase letters, digits, - and _)"
        )
    arguments: list[tuple[str, str]] = []
    for token in tokens[1:]:
        key, sep, value = token.partition("=")
        if not sep:
            return Misunderstood(
                f"`{_shown(token, 40)}` is not key=value (quote values with spaces)"
            )
        if not _KEY_RE.match(key):
            return Misunderstood(f"`{_shown(key, 40)}` is not an input name")
        arguments.append((key, value))
    return Run(workflow=workflow, arguments=tuple(arguments))


_VERBS: Final[dict[str, Callable[[list[str]], Command]]] = {
    "help": _parse_help,
    "?": _parse_help,
    "status": _parse_status,
    "run": _parse_run,
    "runs": _parse_runs,
}
