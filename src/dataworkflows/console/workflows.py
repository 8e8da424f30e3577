"""The console's workflow pages: each workflow with its versions, a diff between two,
its recent runs, and a form that starts a run from its declared inputs."""

from __future__ import annotations

import difflib
import json
from typing import Any, Final

import msgspec
from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect

from dataworkflows.console.backend import Backend, Refused, RunQuery
from dataworkflows.console.pages import Pages, Req
from dataworkflows.runtime.inputs import convert_input, declared_inputs

__all__ = ["workflow_handlers"]

RECENT_RUNS: Final = 10
MAX_FIELD_CHARS: Final = 20_000


def _fields(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The start form's fields, one per declared input (read as the bot and the CLI
    read them)."""
    fields = []
    for name, declared in declared_inputs(definition).items():
        default = None if declared.default is msgspec.UNSET else declared.default
        shown = (
            ""
            if default is None
            else (json.dumps(default) if declared.type in ("list", "object") else str(default))
        )
        fields.append(
            {
                "name": name,
                "type": declared.type,
                "description": declared.description,
                "required": declared.is_required,
                "value": shown,
                "checked": default is True,
            }
        )
    return fields


def _typed(
    fields: list[dict[str, Any]], form: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values typed by each input's type (as ``/dw run`` and the CLI type
    their words); and a problem per field."""
    inputs: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        raw = str(form.get(name, ""))[:MAX_FIELD_CHARS]
        field["value"] = raw
        if kind == "boolean":  # a checkbox: sent when ticked, absent when not
            field["checked"] = raw == "true"
            inputs[name] = raw == "true"
            continue
        if raw == "":
            if field["required"]:
                problems[name] = "is required"
            continue
        try:
            inputs[name] = convert_input(kind, raw)
        except ValueError as exc:
            problems[name] = str(exc)
    return inputs, problems


def workflow_handlers(pages: Pages, backend: Backend) -> list[HTTPRouteHandler]:
    """The handlers of ``/workflows`` and ``/workflows/{name}``."""

    def _no_such(request: Req, name: str) -> Response[Any]:
        return pages.message(request, "No such workflow", f"There is no workflow {name!r}.", 404)

    @get("/workflows")
    async def workflows(request: Req) -> Response[Any]:
        return pages.page(request, "workflows.html", workflows=await backend.workflows())

    async def workflow_page(
        request: Req, name: str, *, code: int = 200, fields: list[dict[str, Any]] | None = None,
        problems: dict[str, str] | None = None, problem: str | None = None,
    ) -> Response[Any]:  # fmt: skip
        stored = await backend.workflow(name)
        if stored is None:
            return _no_such(request, name)
        recent = await backend.runs(RunQuery(workflow=name, limit=RECENT_RUNS))
        return pages.page(
            request,
            "workflow.html",
            code=code,
            workflow=stored,
            versions=stored["versions"],
            runs=recent["runs"],
            fields=fields if fields is not None else _fields(stored["definition"]),
            problems=problems or {},
            problem=problem,
            diff=await _diff(request, name),
            schedules=await backend.schedules(name),
        )

    async def _diff(request: Req, name: str) -> dict[str, Any] | None:
        try:
            old = int(request.query_params.get("from", ""))
            new = int(request.query_params.get("to", ""))
        except ValueError:
            return None
        before = await backend.workflow(name, old)
        after = await backend.workflow(name, new)
        if before is None or after is None:
            return None
        lines = difflib.unified_diff(
            before["source"].splitlines(), after["source"].splitlines(),
            fromfile=f"version {old}", tofile=f"version {new}", lineterm="",
        )  # fmt: skip
        return {"from": old, "to": new, "lines": list(lines)}

    @get("/workflows/{name:str}")
    async def workflow(request: Req, name: FromPath[str]) -> Response[Any]:
        return await workflow_page(request, name)

    @post("/workflows/{name:str}/runs", status_code=303)
    async def start(request: Req, name: FromPath[str]) -> Response[Any]:
        if not await pages.form_ok(request):
            return pages.message(request, "Not started", "The form has expired; reload it.", 403)
        stored = await backend.workflow(name)
        if stored is None:
            return _no_such(request, name)
        fields = _fields(stored["definition"])
        inputs, problems = _typed(fields, dict(await request.form()))
        if problems:
            return await workflow_page(request, name, code=422, fields=fields, problems=problems)
        try:
            run_id = await backend.start(name, inputs)
        except Refused as exc:
            if exc.status == 422:
                return await workflow_page(
                    request, name, code=422, fields=fields, problems=exc.fields,
                    problem=exc.detail,
                )  # fmt: skip
            return pages.message(request, "Not started", exc.detail, exc.status)
        return Redirect(f"/runs/{run_id}", status_code=303)

    return [workflows, workflow, start]
