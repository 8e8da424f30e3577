"""The console's run pages: the runs (filtered, paged, refreshing while runs are in
flight) and one run with its steps, the records it touched, Retry and Cancel."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, Final
from urllib.parse import urlencode
from uuid import UUID

from litestar import Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect

from dataworkflows.console.backend import Backend, Refused, RunQuery
from dataworkflows.console.pages import PAGE_SIZE, STATUSES, Pages, Req
from dataworkflows.contracts.runs import RUN_ID_START

__all__ = ["TRIGGERS", "run_handlers", "timeline", "touched"]

TRIGGERS: Final = ("api", "console", "cli", "schedule", "hook", "slack", "workflow")
"""What starts runs (a run's ``trigger.source``)."""
_URL_KEYS: Final = ("url", "permalink", "web_url", "webLink", "link")
_MAX_TOUCHED: Final = 50


def _day(text: str | None) -> datetime | None:
    """A ``YYYY-MM-DD`` filter as the start of that day, UTC; None when not one."""
    try:
        return datetime.strptime(text or "", "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        return None


def _text(raw: str | None) -> str | None:
    """The search text: printable, at most 100 characters; None when empty."""
    cleaned = re.sub(r"[\x00-\x1f]", "", (raw or "").strip())[:100]
    return cleaned or None


def touched(steps: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The web pages a run's steps touched: each ``url``/``permalink``/``webLink`` in a
    step's output (a tracker task, a Confluence page, a Slack message), once each."""
    found: dict[str, dict[str, str]] = {}

    def visit(value: Any, step: str, depth: int) -> None:
        if depth > 6 or len(found) >= _MAX_TOUCHED:
            return
        if isinstance(value, dict):
            for key, inner in value.items():
                if key in _URL_KEYS and isinstance(inner, str) and inner.startswith("http"):
                    found.setdefault(inner, {"url": inner, "step": step})
                else:
                    visit(inner, step, depth + 1)
        elif isinstance(value, list):
            for inner in value[:200]:
                visit(inner, step, depth + 1)

    for step in steps:
        if step.get("status") == "succeeded":
            visit(step.get("output"), str(step.get("step_id", "")), 0)
    return list(found.values())


def _at(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        return None


def timeline(run: dict[str, Any], steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each attempt placed on the run's time axis, in percent of the run's span: where
    it waited (queued, or backing off before a retry) and where it ran; and how long
    it waited, in ms. Attempts still running extend to now."""
    now = datetime.now(UTC)
    queued = [t for t in (_at(s.get("queued_at")) for s in steps) if t is not None]
    begin = _at(run.get("started_at")) or _at(run.get("created_at")) or now
    begin = min([begin, *queued])
    ends = [_at(s.get("finished_at")) or now for s in steps]
    end = _at(run.get("finished_at")) or max([now, *ends])
    span = max((end - begin).total_seconds(), 0.001)

    def pct(at: datetime) -> float:
        return round(min(max((at - begin).total_seconds() / span * 100, 0.0), 100.0), 2)

    placed = []
    for step, finished in zip(steps, ends, strict=True):
        started = _at(step.get("started_at")) or begin
        waiting_since = _at(step.get("queued_at")) or started
        placed.append(
            {
                "wait_x": pct(waiting_since),
                "wait_w": max(pct(started) - pct(waiting_since), 0.0),
                "run_x": pct(started),
                "run_w": max(pct(finished) - pct(started), 0.3),
                "waited_ms": max((started - waiting_since).total_seconds() * 1000, 0.0),
            }
        )
    return placed


def run_handlers(pages: Pages, backend: Backend) -> list[HTTPRouteHandler]:
    """The handlers of ``/runs`` and ``/runs/{id}``."""

    @get("/runs")
    async def runs(request: Req) -> Response[Any]:
        query = request.query_params
        status = query.get("status") if query.get("status") in STATUSES else None
        trigger = query.get("trigger") if query.get("trigger") in TRIGGERS else None
        workflow = (query.get("workflow") or "").strip()[:100] or None
        text = _text(query.get("q"))
        since, until = _day(query.get("since")), _day(query.get("until"))
        cursor = query.get("cursor") or None
        page = await backend.runs(
            RunQuery(
                workflow=workflow,
                status=status,
                trigger=trigger,
                text=text,
                created_after=since,
                created_before=until + timedelta(days=1) if until else None,
                cursor=cursor,
                limit=PAGE_SIZE,
            )
        )
        views = page["runs"]
        kept = {k: v for k, v in query.items() if k != "cursor" and v}
        older = urlencode({**kept, "cursor": page["next_cursor"]}) if page["next_cursor"] else None
        live = any(v["status"] in ("queued", "running") for v in views) and cursor is None
        return pages.page(
            request,
            "runs.html",
            runs=views,
            statuses=STATUSES,
            triggers=TRIGGERS,
            chosen=status,
            trigger=trigger,
            workflow=workflow,
            q=text or "",
            since=query.get("since") if since else "",
            until=query.get("until") if until else "",
            history_since=(page.get("history_since") or "")[:10],
            older=older,
            refresh=5 if live else None,
        )

    @get("/runs/{run_id:str}")
    async def run(request: Req, run_id: FromPath[str]) -> Response[Any]:
        try:
            wanted = UUID(run_id)
        except ValueError:
            # The start of an id (copied short): the runs list, searched for it.
            start = run_id.lower()
            if RUN_ID_START.fullmatch(start):
                return Redirect(f"/runs?{urlencode({'q': start})}", status_code=303)
            return pages.message(request, "No such run", "That is not a run id.", 404)
        detail = await backend.run(wanted)
        if detail is None:
            return pages.message(request, "No such run", f"There is no run {run_id}.", 404)
        view = detail["run"]
        return pages.page(
            request,
            "run.html",
            run=view,
            steps=detail["steps"],
            bars=timeline(view, detail["steps"]),
            events=detail["events"],
            children=detail.get("children", []),
            links=detail.get("links", []),
            touched=touched(detail["steps"]),
            refresh=2 if view["status"] in ("queued", "running") else None,
        )

    async def act(request: Req, run_id: UUID, what: str) -> Response[Any]:
        if not await pages.form_ok(request):
            return pages.message(request, "Not done", "The form has expired; reload the page.", 403)
        try:
            await (backend.retry(run_id) if what == "retry" else backend.cancel(run_id))
        except Refused as exc:
            if exc.status == 404:
                return pages.message(request, "No such run", f"There is no run {run_id}.", 404)
            return pages.message(request, f"Cannot {what} this run", exc.detail, 409)
        return Redirect(f"/runs/{run_id}", status_code=303)

    @post("/runs/{run_id:uuid}/retry", status_code=303)
    async def retry(request: Req, run_id: FromPath[UUID]) -> Response[Any]:
        return await act(request, run_id, "retry")

    @post("/runs/{run_id:uuid}/cancel", status_code=303)
    async def cancel(request: Req, run_id: FromPath[UUID]) -> Response[Any]:
        return await act(request, run_id, "cancel")

    return [runs, run, retry, cancel]
