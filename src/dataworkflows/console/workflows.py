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

__all__ = ["workflow_handlers"]

RECENT_RUNS: Final = 10
MAX_FIELD_CHARS: Final = 20_000


def _fields(definition: dict[str, Any]) -> list[dict[str, Any]]:
    """The start form's fields, one per declared input."""
    fields = []
    for name, declared in (definition.get("inputs") or {}).items():
        spec = declared if isinstance(declared, dict) else {}
        kind = str(spec.get("type", "string"))
        default = spec.get("default")
        shown = (
            ""
            if default is None
            else (json.dumps(default) if kind in ("list", "object") else str(default))
        )
        fields.append(
            {
                "name": name,
                "type": kind,
                "description": str(spec.get("description", "")),
                "required": "default" not in spec and spec.get("required", True) is not False,
                "value": shown,
                "checked": default is True,
            }
        )
    return fields


def _typed(
    fields: list[dict[str, Any]], form: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """The form's values typed by each input's type; and a problem per field."""
    inputs: dict[str, Any] = {}
    problems: dict[str, str] = {}
    for field in fields:
        name, kind = field["name"], field["type"]
        raw = str(form.get(name, ""))[:MAX_FIELD_CHARS]
        field["value"] = raw
        if kind == "boolean":
            field["checked"] = raw == "true"
            inputs[name] = raw == "true"
            continue
        if raw == "":
            if field["required"]:
                problems[name] = "is required"
            continue
        try:
            if kind == "integer":
                inputs[name] = int(raw)
            elif kind == "number":
                inputs[name] = float(raw)
            elif kind in ("list", "object"):
                value = msgspec.json.decode(raw.encode())
                expected = list if kind == "list" else dict
                if not isinstance(value, expected):
                    raise ValueError
                inputs[name] = value
            else:
                inputs[name] = raw
        except (ValueError, msgspec.DecodeError):
            problems[name] = {
                "integer": "must be a whole number, e.g. 42",
                "number": "must be a number, e.g. 2.5",
                "list": 'must be a JSON list, e.g. ["a", "b"]',
                "object": 'must be a JSON object, e.g. {"key": "value"}',
            }.get(kind, "is not valid")
    return inputs, problems


def workflow_handlers(pages: Pages, backend: Backend) -> list[HTTPRouteHandler]:
    """The handlers of ``/workflows`` and ``/workflows/{name}``."""

    def _no_such(request: Req, name: str) -> Response[Any]:
        return pages.message(request, "No such workflow", f"There is no workflow {name!r}.", 404)

    @get("/workflows")
    async def workflows(request: Req) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
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
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
        return await workflow_page(request, name)

    @post("/workflows/{name:str}/runs", status_code=303)
    async def start(request: Req, name: FromPath[str]) -> Response[Any]:
        if pages.cookie_of(request) is None:
            return pages.to_sign_in(request)
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
