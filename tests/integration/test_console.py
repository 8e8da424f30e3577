"""The web console: nothing readable without signing in; a signed, HTTP-only session;
the runs and a run's steps with their error; Retry and Cancel behind a CSRF token."""

from __future__ import annotations

import re
from uuid import uuid4

from dataworkflows.contracts.runs import format_duration
from dataworkflows.reports import PostgresReportStore
from dataworkflows.reports.registry import register_project
from dataworkflows.reports.store import NewReport
from dataworkflows.runtime.database import open_pool
from tests.support.engine import API_KEY, running_engine

FLOW = """
name: flaky
steps:
  - {id: prepare, uses: core.echo, with: {n: 1}}
  - id: call
    uses: core.fail
    needs: [prepare]
    retry: {attempts: 1}
    with: {code: invalid_input, message: the board is gone, retryable: false, times: 1}
"""
CSRF_RE = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


async def test_pages_need_a_session_and_signing_in_gives_one(database_url: str) -> None:
    """Without a session every page redirects to the sign-in (and back after it); a
    wrong key is a 401; the cookie is HTTP-only, SameSite and holds no key."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        for path in (
            "/runs",
            "/runs/00000000-0000-4000-8000-000000000000",
            "/workflows",
            "/reports",
            "/connectors",
        ):
            answer = await browser.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/sign-in?next=")
        unsigned = await browser.post("/runs/00000000-0000-4000-8000-000000000000/retry")
        assert unsigned.status_code == 303
        assert unsigned.headers["location"].startswith("/sign-in?next=")
        stylesheet = await browser.get("/console/static/console.css")
        assert stylesheet.status_code == 200, "the sign-in page's stylesheet needs no session"
        form = await browser.get("/sign-in?next=/runs%3Fstatus%3Dfailed")
        assert form.status_code == 200
        assert 'name="next" value="/runs?status=failed"' in form.text
        wrong = await browser.post(
            "/sign-in", data={"api_key": "not-the-key-0000000", "next": "/runs"}
        )
        assert wrong.status_code == 401
        assert "not one of the engine" in wrong.text
        assert "dw_session" not in wrong.headers.get("set-cookie", "")

        elsewhere = await browser.post(
            "/sign-in",
            data={"api_key": API_KEY, "next": "/runs"},
            headers={"Origin": "https://evil.example"},
        )
        assert elsewhere.status_code == 403
        assert "dw_session" not in elsewhere.headers.get("set-cookie", "")
        good = await browser.post("/sign-in", data={"api_key": API_KEY, "next": "//evil.example/"})
        assert good.status_code == 303
        assert good.headers["location"] == "/runs"
        cookie = good.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
        assert API_KEY not in cookie
        listed = await browser.get("/runs")
        assert listed.status_code == 200
        assert listed.headers["x-frame-options"] == "DENY"
        assert "<h1>Runs</h1>" in listed.text

        forged = browser.cookies.get("dw_session", "")[:-2] + "xx"
        browser.cookies.set("dw_session", forged)
        assert (await browser.get("/runs")).status_code == 303


async def test_a_failed_run_is_read_and_retried_from_the_console(database_url: str) -> None:
    """The runs page lists the failed run; its page shows the failing step's error;
    Retry without the form's token is refused, with it the run succeeds."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        await engine.register(FLOW)
        started = await engine.client.post("/v1/workflows/flaky/runs?wait=30", json={})
        run_id = started.json()["id"]
        assert started.json()["status"] == "failed"
        await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})

        listed = await browser.get("/runs?status=failed")
        assert f"/runs/{run_id}" in listed.text
        # A run of a few milliseconds took "N ms", not "0.0 s".
        took = (await engine.client.get(f"/v1/runs/{run_id}")).json()["run"]["duration_ms"]
        assert f"<td>{format_duration(took)}</td>" in listed.text
        assert "0.0 s" not in listed.text
        page = await browser.get(f"/runs/{run_id}")
        assert page.status_code == 200
        assert "the board is gone" in page.text
        assert "Retry from the failed step" in page.text
        token = CSRF_RE.search(page.text)
        assert token is not None

        refused = await browser.post(f"/runs/{run_id}/retry", data={"csrf": "0" * 64})
        assert refused.status_code == 403
        other_site = await browser.post(
            f"/runs/{run_id}/retry",
            data={"csrf": token.group(1)},
            headers={"Origin": "https://evil.example"},
        )
        assert other_site.status_code == 403
        retried = await browser.post(f"/runs/{run_id}/retry", data={"csrf": token.group(1)})
        assert retried.status_code == 303
        assert retried.headers["location"] == f"/runs/{run_id}"
        finished = await engine.client.get(f"/v1/runs/{run_id}?wait=30")
        assert finished.json()["run"]["status"] == "succeeded"
        again = await browser.get(f"/runs/{run_id}")
        assert "succeeded" in again.text
        assert "Retry from the failed step" not in again.text

        missing = await browser.get("/runs/00000000-0000-4000-8000-000000000000")
        assert missing.status_code == 404
        # The start of an id, as people copy them, finds the run in the list.
        short = await browser.get(f"/runs/{run_id[:8].upper()}")
        assert short.status_code == 303
        assert short.headers["location"] == f"/runs?q={run_id[:8]}"
        listed = await browser.get(short.headers["location"])
        assert f"/runs/{run_id}" in listed.text
        not_an_id = await browser.get("/runs/not-a-run!")
        assert not_an_id.status_code == 404
        assert "That is not a run id." in not_an_id.text
        stylesheet = await browser.get("/console/static/console.css")
        assert stylesheet.status_code == 200
        assert "text/css" in stylesheet.headers["content-type"]


TYPED = """
name: typed
description: Echoes typed inputs.
inputs:
  name: {type: string, description: Who}
  times: {type: integer, default: 1}
  tags: {type: list, default: []}
steps:
  - {id: echo, uses: core.echo, with: {name: "{{ inputs.name }}", times: "{{ inputs.times }}"}}
output: {name: "{{ steps.echo.output.name }}", times: "{{ steps.echo.output.times }}"}
"""


async def test_a_workflow_is_started_from_its_form_with_errors_at_the_field(
    database_url: str,
) -> None:
    """The form has a field per declared input; a bad one is named at its field and
    starts nothing; good values start a run typed as declared; versions diff."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        await engine.register(TYPED)
        await engine.register(TYPED.replace("Echoes typed inputs.", "Echoes them back."))
        await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/workflows"})
        listed = await browser.get("/workflows")
        assert '<a href="/workflows/typed">typed</a>' in listed.text

        page = await browser.get("/workflows/typed")
        assert page.status_code == 200
        for field in ("in-name", "in-times", "in-tags"):
            assert f'id="{field}"' in page.text
        token = CSRF_RE.search(page.text)
        assert token is not None
        csrf = token.group(1)

        bad = await browser.post(
            "/workflows/typed/runs", data={"csrf": csrf, "name": "Ada", "times": "many"}
        )
        assert bad.status_code == 422
        assert 'id="err-times"' in bad.text
        assert "must be a whole number" in bad.text
        assert 'value="many"' in bad.text, "what was typed is kept"
        assert (await engine.client.get("/v1/runs?workflow=typed")).json()["runs"] == []

        good = await browser.post(
            "/workflows/typed/runs", data={"csrf": csrf, "name": "Ada", "times": "3", "tags": "[]"}
        )
        assert good.status_code == 303
        run_id = good.headers["location"].rsplit("/", 1)[-1]
        run = (await engine.client.get(f"/v1/runs/{run_id}?wait=30")).json()["run"]
        assert run["status"] == "succeeded"
        assert run["inputs"] == {"name": "Ada", "times": 3, "tags": []}
        assert run["trigger"]["source"] == "console"

        diff = await browser.get("/workflows/typed?from=1&to=2")
        assert "-description: Echoes typed inputs." in diff.text
        assert "+description: Echoes them back." in diff.text
        assert (await browser.get("/workflows/nope")).status_code == 404

        schedule = {
            "workflow": "typed",
            "cron": "0 9 * * MON",
            "timezone": "Europe/London",
            "inputs": {"name": "Ada"},
        }
        put = await engine.client.put("/v1/schedules/typed-weekly", json=schedule)
        assert put.status_code == 201, put.text
        with_schedule = await browser.get("/workflows/typed")
        assert "typed-weekly" in with_schedule.text
        assert "0 9 * * MON" in with_schedule.text


async def test_connectors_and_run_filters(database_url: str) -> None:
    """The connectors page says each one answers and counts this engine's calls; the
    runs list filters by day and pages to older runs."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        await engine.register(TYPED)
        for _ in range(3):
            started = await engine.client.post(
                "/v1/workflows/typed/runs?wait=30", json={"inputs": {"name": "Ada"}}
            )
            assert started.json()["status"] == "succeeded"
        await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})
        page = await browser.get("/connectors")
        assert page.status_code == 200
        assert "<td>core</td>" in page.text
        assert "answers" in page.text

        today = (await browser.get("/runs?since=2000-01-01")).text
        assert today.count('href="/runs/') >= 3
        future = (await browser.get("/runs?since=2999-01-01")).text
        assert "No runs match." in future


LINKER = """
name: linker
inputs:
  item: {type: string}
steps:
  - id: link
    uses: links.put
    with: {system: monday, id: "{{ inputs.item }}", other_system: tasktracker, other_id: "TT-{{ inputs.item }}"}
  - id: page
    uses: core.echo
    with: {task: {key: "TT-{{ inputs.item }}", url: "https://tracker.example/TT-{{ inputs.item }}"}}
"""


async def test_runs_are_found_by_trigger_and_text_and_show_what_they_touched(
    database_url: str,
) -> None:
    """The runs list (and GET /v1/runs) filters by what started a run and by text in
    its inputs, error or id; a run's page lists the records it linked and the pages its
    steps returned."""
    async with running_engine(database_url) as engine, engine.browser() as browser:
        await engine.register(LINKER)
        item = uuid4().hex[:10]
        by_api = await engine.client.post(
            "/v1/workflows/linker/runs?wait=30", json={"inputs": {"item": item}}
        )
        assert by_api.json()["status"] == "succeeded", by_api.text
        run_id = by_api.json()["id"]
        await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/runs"})
        token = CSRF_RE.search((await browser.get("/workflows/linker")).text)
        assert token is not None
        other = uuid4().hex[:10]
        from_form = await browser.post(
            "/workflows/linker/runs", data={"csrf": token.group(1), "item": other}
        )
        other_id = from_form.headers["location"].rsplit("/", 1)[-1]
        await engine.client.get(f"/v1/runs/{other_id}?wait=30")

        found = await browser.get(f"/runs?q={item.upper()}")
        assert f"/runs/{run_id}" in found.text
        assert f"/runs/{other_id}" not in found.text
        by_id = await browser.get(f"/runs?q={run_id[:8]}")
        assert f"/runs/{run_id}" in by_id.text
        console_only = await browser.get("/runs?trigger=console&workflow=linker")
        assert f"/runs/{other_id}" in console_only.text
        assert f"/runs/{run_id}" not in console_only.text
        wildcard = await browser.get("/runs?q=%25&workflow=linker")
        assert "No runs match." in wildcard.text, "% is matched literally"

        api = await engine.client.get("/v1/runs", params={"trigger": "api", "q": item})
        assert [r["id"] for r in api.json()["runs"]] == [run_id]
        bad = await engine.client.get("/v1/runs", params={"trigger": "Not A Source"})
        assert bad.status_code == 400

        page = await browser.get(f"/runs/{run_id}")
        assert "What it touched" in page.text
        assert f"TT-{item}" in page.text
        assert f'href="https://tracker.example/TT-{item}"' in page.text
        detail = (await engine.client.get(f"/v1/runs/{run_id}")).json()
        assert [(link["system"], link["id"]) for link in detail["links"]] == [("monday", item)]


async def test_reports_are_read_in_the_console_with_what_changed(database_url: str) -> None:
    """The reports page lists a project's reports; a report shows its health, what
    changed since the previous one (linked) and its markdown rendering as text, stored
    as the report workflow stores it (Slack's blocks as JSON)."""
    pool = await open_pool(database_url, max_size=2, name="console-reports-test")
    store = PostgresReportStore(pool)
    key = f"con-{uuid4().hex[:8]}"
    try:
        await register_project(store, key, {"name": "Console project"})
        first, _ = await store.save_report(
            NewReport(
                project=key,
                run_id=None,
                idempotency_key=None,
                outputs={"markdown": "# Console project\n\nAll quiet."},
                snapshot={},
                summary={"health": {"status": "on_track", "label": "On track", "reason": "ok"}},
                changes={"first_report": True},
            )
        )
        change = {
            "id": "TT-7",
            "title": "Ship <the> console",
            "owner": "Ada",
            "url": "https://tracker.example/TT-7",
            "old": "Working on it",
            "new": "Done",
        }
        second, _ = await store.save_report(
            NewReport(
                project=key,
                run_id=None,
                idempotency_key=None,
                outputs={
                    "markdown": {
                        "format": "markdown",
                        "text": "# Console · project\n\n<b>Done</b>: 1",
                    },
                    "confluence": {"format": "confluence", "body": "<p>Done: 1</p>"},
                    "slack": {"blocks": []},
                },
                snapshot={},
                summary={"health": {"status": "at_risk", "label": "At risk", "reason": "late"}},
                changes={
                    "first_report": False,
                    "previous_report_id": str(first.id),
                    "newly_done": [change],
                    "total": 1,
                    "counts_delta": {"done": 1},
                    "more": {"newly_done": 0},
                },
            )
        )
        async with running_engine(database_url) as engine, engine.browser() as browser:
            await browser.post("/sign-in", data={"api_key": API_KEY, "next": "/reports"})
            listed = await browser.get(f"/reports?project={key}")
            assert listed.status_code == 200
            assert f"/reports/{second.id}" in listed.text
            assert f"/reports/{first.id}" in listed.text
            shown = await browser.get(f"/reports/{second.id}")
            assert shown.status_code == 200
            assert "At risk" in shown.text
            assert "Ship &lt;the&gt; console" in shown.text, "report data is escaped"
            assert f'href="/reports/{first.id}"' in shown.text
            assert (
                '<pre class="report"># Console · project\n\n&lt;b&gt;Done&lt;/b&gt;: 1</pre>'
                in (shown.text)
            )
            confluence = await browser.get(f"/reports/{second.id}?format=confluence")
            assert '<pre class="report">&lt;p&gt;Done: 1&lt;/p&gt;</pre>' in confluence.text
            slack = await browser.get(f"/reports/{second.id}?format=slack")
            assert '<pre class="report">{\n  "blocks": []\n}</pre>' in slack.text
            assert (await browser.get(f"/reports/{uuid4()}")).status_code == 404
    finally:
        await pool.close()
