"""The Slack bot (``dataworkflows serve slack-bot``): slash commands, @mentions, buttons.

Slack calls three endpoints: ``POST /slack/commands``, ``/slack/events`` and
``/slack/interactivity``. Every request is checked against Slack's signature over its
raw body before anything else, acknowledged at once, and the work it asks for (starting
a run, following it, answering) continues in the background. The bot reaches the engine
only through its REST API (:mod:`.engine_client`) and Slack only through the Slack
connector's actions (:mod:`.replies`), never Slack's Web API directly.

Modules: :mod:`.signature` (request signing), :mod:`.wire` (Slack's payloads),
:mod:`.commands` (the command language), :mod:`.inputs` (``key=value`` to typed
inputs), :mod:`.messages` (Block Kit rendering), :mod:`.background` (background tasks,
event de-duplication), :mod:`.conversation` (what each command does), :mod:`.app` (the
HTTP endpoints), :mod:`.component` (composition root).
"""
