"""core.render: named or inline templates through a template source, errors as action errors."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from dataworkflows.connectors.core import TemplateFailed, TemplateNotFound, core_actions
from dataworkflows.contracts import ActionFailed, ActionRequest


class FakeTemplates:
    """A template source that records what it was asked and answers canned renderings."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def render(
        self,
        *,
        template: str | None,
        version: int | None,
        source: str | None,
        format: Any,
        data: Any,
    ) -> Mapping[str, Any]:
        self.calls.append(
            {
                "template": template,
                "version": version,
                "source": source,
                "format": format,
                "data": data,
            }
        )
        if template == "missing":
            raise TemplateNotFound("there is no template 'missing'")
        if template == "broken":
            raise TemplateFailed("template broken: line 3: 'x' is undefined")
        if template is not None:
            return {
                "format": "slack",
                "text": "hi",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
                "messages": [{"text": "hi", "blocks": []}],
            }
        return {"format": format, "text": f"inline: {data}"}


async def call(actions: Any, payload: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = await actions.invoke("render", ActionRequest(input=payload))
    return result


async def test_core_actions_without_a_template_source_are_unchanged() -> None:
    """core_actions() keeps exactly its old actions: render needs a template source."""
    actions = core_actions()
    assert actions.names() == ["echo", "sleep", "fail", "tally"]
    assert await actions.invoke("echo", ActionRequest(input={"a": 1})) == {"a": 1}
    assert core_actions(FakeTemplates()).names() == ["echo", "sleep", "fail", "tally", "render"]
    with pytest.raises(ActionFailed) as caught:
        await call(actions, {"template": "project-status.slack", "data": {}})
    assert caught.value.error.code == "not_found"


async def test_a_named_template_is_rendered_with_the_data() -> None:
    """`template` (and `version`) with `data` go to the source; its rendering is the output."""
    source = FakeTemplates()
    output = await call(
        core_actions(source), {"template": "project-status.slack", "version": 2, "data": {"x": 1}}
    )
    assert output["format"] == "slack"
    assert output["blocks"][0]["type"] == "section"
    assert "body" not in output
    assert source.calls == [
        {
            "template": "project-status.slack",
            "version": 2,
            "source": None,
            "format": None,
            "data": {"x": 1},
        }
    ]


async def test_an_inline_source_defaults_to_text() -> None:
    """`source` without `format` renders as text."""
    source = FakeTemplates()
    output = await call(core_actions(source), {"source": "{{ data }}", "data": 5})
    assert output == {"format": "text", "text": "inline: 5"}


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": {}}, "either `template` or `source`"),
        ({"template": "a", "source": "b"}, "either `template` or `source`"),
        ({"template": "a.slack", "format": "markdown"}, "format"),
        ({"source": "x", "version": 1}, "version"),
        ({"source": "x", "format": "pdf"}, "format"),
    ],
)
async def test_inconsistent_input_is_refused(payload: dict[str, Any], message: str) -> None:
    """The input names one template, one way; mistakes are invalid_input naming the field."""
    with pytest.raises(ActionFailed) as caught:
        await call(core_actions(FakeTemplates()), payload)
    assert caught.value.error.code == "invalid_input"
    assert message in caught.value.error.message


async def test_template_errors_become_action_errors() -> None:
    """An unknown template is not_found; a failing one invalid_input naming template and line."""
    actions = core_actions(FakeTemplates())
    with pytest.raises(ActionFailed) as missing:
        await call(actions, {"template": "missing"})
    with pytest.raises(ActionFailed) as broken:
        await call(actions, {"template": "broken"})
    assert missing.value.error.code == "not_found"
    assert not missing.value.error.retryable
    assert broken.value.error.code == "invalid_input"
    assert "template broken: line 3" in broken.value.error.message


def test_the_catalog_describes_render() -> None:
    """GET /v1/actions lists core.render with its input and output schemas."""
    [descriptor] = [
        a for a in core_actions(FakeTemplates()).catalog().actions if a.name == "core.render"
    ]
    assert descriptor.effect == "read"
    assert "template" in str(descriptor.input_schema)
    assert "messages" in str(descriptor.output_schema)
