"""A status report workflow in the real engine: compose, render three ways, post, save, compare.

The gathering steps are core.echo here (the connectors have tests of their own); what
is proved is the wiring: the reports actions and core.render in-process, steps in
parallel by `needs`, a long Slack report split into thread replies, and the second
run's report saying what changed since the first.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from dataworkflows.composition.engine import EngineParts, engine_parts
from dataworkflows.composition.settings import Settings
from dataworkflows.connectors.core import core_actions
from dataworkflows.engine.executor import EngineConfig
from dataworkflows.engine.expressions import EVALUATION_TASKS as EXPRESSION_TASKS
from dataworkflows.engine.settings import EngineSettings
from dataworkflows.engine.store import RunRecord
from dataworkflows.reports import (
    PostgresReportStore,
    StoredTemplateSource,
    register_shipped,
    reports_actions,
)
from dataworkflows.reports.registry import register_template
from dataworkflows.reports.render import EVALUATION_TASKS as RENDER_TASKS
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.resources import bundled_dir

REPORT_WORKFLOW = """\
name: report-demo
inputs:
  project: {type: string}
  today: {type: string}
  items: {type: list}
  tasks: {type: list, default: []}
  slack_template: {type: string, default: project-status.slack}
steps:
  - id: project
    uses: reports.project
    with: {project: "{{ inputs.project }}", today: "{{ inputs.today }}"}
  - id: items
    uses: core.echo
    needs: [project]
    foreach: "{{ steps.project.output.project.monday_board_ids }}"
    with: {board_id: "{{ item }}", items: "{{ inputs['items'] if item == steps.project.output.project.monday_board_ids[0] else [] }}"}
  - id: tasks
    uses: core.echo
    needs: [project]
    with: {tasks: "{{ inputs.tasks }}"}
  - id: meetings
    uses: core.echo
    needs: [project]
    with:
      events:
        - {subject: "Apollo sprint review", start: {date_time: "2026-11-12T10:00:00", time_zone: UTC}, organizer: {name: Maya Patel}}
        - {subject: "Borealis critique", start: "2026-11-12T11:00:00Z"}
  - id: compose
    uses: reports.compose
    needs: [items, tasks, meetings]
    with:
      project: "{{ steps.project.output.project.key }}"
      today: "{{ steps.project.output.window.today }}"
      items: "{{ steps.items.output }}"
      tasks: "{{ steps.tasks.output.tasks }}"
      meetings: "{{ steps.meetings.output.events }}"
      options: {max_items: 100}
  - id: slack
    uses: core.render
    needs: [compose]
    with: {template: "{{ inputs.slack_template }}", data: "{{ steps.compose.output.report }}"}
  - id: confluence
    uses: core.render
    needs: [compose]
    with: {template: project-status.confluence, data: "{{ steps.compose.output.report }}"}
  - id: markdown
    uses: core.render
    needs: [compose]
    with: {template: project-status.md, data: "{{ steps.compose.output.report }}"}
  - id: post
    uses: core.echo
    needs: [slack]
    with: {channel: "{{ steps.project.output.project.slack_channel_id }}", text: "{{ steps.slack.output.text }}", blocks: "{{ steps.slack.output.blocks }}", ts: "1794312000.000100"}
  - id: replies
    uses: core.echo
    needs: [post]
    foreach: "{{ steps.slack.output.messages[1:] }}"
    concurrency: 1
    with: {channel: "{{ steps.post.output.channel }}", thread_ts: "{{ steps.post.output.ts }}", text: "{{ item.text }}", blocks: "{{ item.blocks }}"}
  - id: save
    uses: reports.save
    needs: [slack, confluence, markdown, replies]
    with:
      project: "{{ steps.project.output.project.key }}"
      outputs:
        slack: "{{ steps.slack.output }}"
        confluence: "{{ steps.confluence.output }}"
        markdown: "{{ steps.markdown.output }}"
      snapshot: "{{ steps.compose.output.snapshot }}"
      summary: "{{ steps.compose.output.report.summary }}"
      changes: "{{ steps.compose.output.report.changes }}"
output:
  report: "{{ steps.save.output.url }}"
  health: "{{ steps.compose.output.report.summary.health.status }}"
  replies: "{{ steps.replies.output | length }}"
  changes: "{{ steps.compose.output.report.changes.total }}"
"""


LONG_TEMPLATE = """\
# {{ project.name }}: every open item
{% for name in ["blocked", "in_progress", "not_started", "done"] %}
# {{ name }}
{% for i in summary[name] %}
{{ i.title }} · {{ i.owner }}

{% endfor %}
{% endfor %}
"""


def monday_item(n: int, status: str, due: str | None = None) -> dict[str, Any]:
    return {
        "id": str(1900000000 + n),
        "name": f"APO-{n}: ticket number {n} " + "with a long description " * 6,
        "board_id": "5012345601",
        "group": {"id": "topics", "title": "Backlog"},
        "columns": {
            "status": {
                "id": "status",
                "title": "Status",
                "type": "status",
                "text": status,
                "value": None,
            },
            "date4": {
                "id": "date4",
                "title": "Due",
                "type": "date",
                "text": due or "",
                "value": {"date": due} if due else None,
            },
            "person": {
                "id": "person",
                "title": "Owner",
                "type": "people",
                "text": f"Person {n % 40}",
                "value": None,
            },
        },
    }


@dataclass
class ReportEngine:
    parts: EngineParts
    store: PostgresReportStore

    async def run(self, inputs: dict[str, Any]) -> RunRecord:
        run, _ = await self.parts.service.start_run(
            "report-demo", inputs=inputs, idempotency_key=None, trigger={"source": "test"}
        )
        finished: RunRecord = await self.parts.service.wait(run, 30.0)
        return finished


@asynccontextmanager
async def report_engine(database_url: str) -> AsyncIterator[ReportEngine]:
    """An engine whose in-process connectors include reports and a core with render."""
    pool = await open_pool(database_url, max_size=4, name="reports")
    store = PostgresReportStore(pool)
    await register_shipped(store, bundled_dir("workflows"))

    async def instant_sleep(seconds: float) -> None:
        await asyncio.sleep(0)

    evaluations = EvaluationPool(tasks={**EXPRESSION_TASKS, **RENDER_TASKS}, workers=1)
    try:
        async with engine_parts(
            Settings(engine=EngineSettings(api_keys=("test-key-0123456789abcdef",)), db_pool_max=6),
            database_url=database_url,
            config=EngineConfig(lease_seconds=5.0, claim_interval_s=0.05, shutdown_grace_s=2.0),
            # A later ActionSet of the same connector replaces the engine's own core.
            extra_actions=[
                core_actions(StoredTemplateSource(store, evaluations)),
                reports_actions(store),
            ],
            sleep=instant_sleep,
            jitter=lambda: 0.5,
            evaluations=evaluations,
        ) as (parts, _app):
            await parts.service.register(REPORT_WORKFLOW, source=REPORT_WORKFLOW)
            await register_template(store, "long-demo.slack", LONG_TEMPLATE)
            yield ReportEngine(parts=parts, store=store)
    finally:
        await evaluations.close()
        await pool.close()


async def test_a_report_run_renders_posts_in_a_thread_and_stores_what_changed(
    database_url: str,
) -> None:
    """Two runs a week apart: the second report says what was done, blocked and new since the first."""
    first_items = [monday_item(n, "Working on it", "2026-11-20") for n in range(120)]
    second_items = [
        monday_item(
            n,
            "Done" if n < 5 else "Stuck" if n < 8 else "Working on it",
            "2026-11-27" if n == 10 else "2026-11-20",
        )
        for n in range(120)
    ] + [monday_item(500, "Not started")]
    async with report_engine(database_url) as engine:
        first = await engine.run(
            {
                "project": "Apollo",
                "today": "2026-11-03",
                "items": first_items,
                "tasks": [
                    {"id": "T1", "title": "FAQ", "status": "blocked", "external_ref": "apollo:faq"}
                ],
            }
        )
        second = await engine.run(
            {
                "project": "apollo",
                "today": "2026-11-10",
                "items": second_items,
                "slack_template": "long-demo.slack",
            }
        )
        attempts = await engine.parts.service.store.get_step_attempts(second.id)
        assert first.status == "succeeded", first.error
        assert second.status == "succeeded", second.error
        report_id = UUID(second.output["report"].rsplit("/", 1)[1])
        stored = await engine.store.get_report(report_id)
        earlier = await engine.store.get_report(UUID(first.output["report"].rsplit("/", 1)[1]))
        latest = await engine.store.get_latest_report("apollo")
    assert stored is not None
    assert latest is not None
    assert earlier is not None
    # The first report, with the shipped template: a headline, and no changes yet.
    headline = earlier.outputs["slack"]["blocks"][0]["text"]["text"]
    assert headline == "🟢 Apollo Website Relaunch: on track"  # 1 of 121 open items blocked
    assert earlier.changes["first_report"] is True
    assert "first report for Apollo Website Relaunch" in earlier.outputs["slack"]["text"]
    assert latest.id == report_id
    assert stored.run_id == second.id
    changes = stored.changes
    assert changes["previous_report_id"] == first.output["report"].rsplit("/", 1)[1]
    assert len(changes["newly_done"]) == 5
    assert len(changes["newly_blocked"]) == 3
    assert [c["id"] for c in changes["new_tasks"]] == ["monday:1900000500"]
    assert [(c["old"], c["new"]) for c in changes["slipped"]] == [("2026-11-20", "2026-11-27")]
    assert [c["id"] for c in changes["removed"]] == ["tasktracker:T1"]
    assert second.output["changes"] == 11
    # A report longer than a message was posted with its continuation as thread replies.
    slack = stored.outputs["slack"]
    assert len(slack["messages"]) == 3
    assert second.output["replies"] == 2
    assert all(len(m["blocks"]) <= 50 for m in slack["messages"])
    assert slack["blocks"][0]["text"]["text"] == "Apollo Website Relaunch: every open item"

    assert stored.outputs["confluence"]["body"].startswith("<ac:structured-macro")
    assert "## What changed" in stored.outputs["markdown"]["text"]
    assert [m["subject"] for m in stored.snapshot["meetings"]] == ["Apollo sprint review"]
    # The renderings wait for compose, and save for every rendering and the replies.
    starts = {a.step_id: a.started_at for a in attempts if a.iteration == -1}
    ends = {a.step_id: a.finished_at for a in attempts if a.iteration == -1}
    renders = ("slack", "confluence", "markdown")
    assert all(starts[step] >= ends["compose"] for step in renders)
    assert starts["save"] >= max(ends[step] for step in (*renders, "replies"))
