"""deploy/slack/manifest.yaml creates the Slack app the code needs: its bot scopes are
exactly those of the Web API methods the code calls, its slash command, event and
request URLs are the ones the bot serves."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from dataworkflows.slackbot.app import HANDLED_EVENTS
from dataworkflows.slackbot.settings import BotSettings

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "src" / "dataworkflows"
MANIFEST = ROOT / "deploy" / "slack" / "manifest.yaml"

# The bot-token scopes each Web API method needs, from its page on api.slack.com/methods.
# conversations.history needs the scope of the channel's type: the project channels may
# be public (channels:history) or private (groups:history).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "auth.test": frozenset(),
    "chat.postMessage": frozenset({"chat:write"}),
    "chat.update": frozenset({"chat:write"}),
    "conversations.history": frozenset({"channels:history", "groups:history"}),
    "users.list": frozenset({"users:read"}),
}
# What the app's other features need: the slash command and each subscribed event.
FEATURE_SCOPES = {
    "slash_command": frozenset({"commands"}),
    "app_mention": frozenset({"app_mentions:read"}),
}

_METHOD_RE = re.compile(r"^(auth|bots|chat|conversations|files|reactions|team|users|views)\.\w+$")


def web_api_methods() -> set[str]:
    """Every Slack Web API method the product's own code calls (the sandboxes, which serve
    them, excluded): first arguments of ``_call``/``api_call`` and ``<client>._web.<method>``
    attributes."""
    methods: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        if "sandbox" in path.name or path.name == "demo_data.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("_call", "api_call")
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and _METHOD_RE.match(node.args[0].value)
            ):
                methods.add(node.args[0].value)
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "_web"
                and node.attr != "api_call"
            ):
                methods.add(node.attr.replace("_", ".", 1))
    return methods


def manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    return loaded


def test_the_code_calls_only_methods_whose_scopes_are_known() -> None:
    """Every Web API method found in the code has its scopes listed here; a new one fails
    this test until its scopes are added (and the manifest with them)."""
    called = web_api_methods()
    assert {"chat.postMessage", "conversations.history", "users.list"} <= called
    assert called - set(METHOD_SCOPES) == set(), "add the scopes of these methods"


def test_bot_scopes_are_exactly_what_the_code_uses() -> None:
    """The manifest's bot scopes cover every method, command and event, and hold nothing
    else."""
    needed: set[str] = set()
    for method in web_api_methods():
        needed |= METHOD_SCOPES[method]
    app = manifest()
    if app["features"].get("slash_commands"):
        needed |= FEATURE_SCOPES["slash_command"]
    for event in app["settings"]["event_subscriptions"]["bot_events"]:
        needed |= FEATURE_SCOPES[event]
    assert sorted(app["oauth_config"]["scopes"]["bot"]) == sorted(needed)
    assert "user" not in app["oauth_config"]["scopes"], "the app needs no user token"


def test_the_app_reaches_the_bot_where_it_listens() -> None:
    """The slash command is the bot's default command, the events are those it handles,
    and every request URL is a route of the bot."""
    app = manifest()
    bot_routes = _bot_post_routes()
    [command] = app["features"]["slash_commands"]
    assert command["command"] == BotSettings().command
    assert set(app["settings"]["event_subscriptions"]["bot_events"]) == set(HANDLED_EVENTS)
    urls = [
        command["url"],
        app["settings"]["event_subscriptions"]["request_url"],
        app["settings"]["interactivity"]["request_url"],
    ]
    assert app["settings"]["interactivity"]["is_enabled"] is True
    assert {urlsplit(url).path for url in urls} == bot_routes
    assert all(urlsplit(url).scheme == "https" for url in urls), "Slack requires HTTPS"
    assert app["settings"]["socket_mode_enabled"] is False
    assert app["features"]["bot_user"]["display_name"]


def _bot_post_routes() -> set[str]:
    """The paths of the bot's ``@post(...)`` handlers under /slack."""
    tree = ast.parse((SOURCE / "slackbot" / "app.py").read_text(encoding="utf-8"))
    return {
        decorator.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef)
        for decorator in node.decorator_list
        if isinstance(decorator, ast.Call)
        and isinstance(decorator.func, ast.Name)
        and decorator.func.id == "post"
        and isinstance(decorator.args[0], ast.Constant)
        and str(decorator.args[0].value).startswith("/slack/")
    }
