"""Reports over a real database: templates, projects, stored reports, and the report actions."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
import pytest

from dataworkflows.connectors.core import core_actions
from dataworkflows.contracts import ActionContext, ActionFailed, ActionRequest
from dataworkflows.engine.expressions import EVALUATION_TASKS as EXPRESSION_TASKS
from dataworkflows.reports import (
    PostgresReportStore,
    StoredTemplateSource,
    register_shipped,
    reports_actions,
)
from dataworkflows.reports.registry import register_project, register_template
from dataworkflows.reports.render import EVALUATION_TASKS as RENDER_TASKS
from dataworkflows.reports.store import NewReport, ProjectFields
from dataworkflows.reports.templates import TemplateProblem, checksum_of
from dataworkflows.runtime.database import open_pool
from dataworkflows.runtime.evaluation_pool import EvaluationPool
from dataworkflows.runtime.resources import bundled_dir

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[PostgresReportStore]:
    pool = await open_pool(database_url, max_size=4, name="reports-test")
    try:
        yield PostgresReportStore(pool)
    finally:
        await pool.close()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:8]}"


def monday_item(item_id: str, name: str, status: str, due: str | None = None) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
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
                "text": "Maya Patel",
                "value": None,
            },
        },
    }


async def add_project(store: PostgresReportStore, key: str, **fields: Any) -> None:
    document = {"name": f"Project {key}", "monday_board_ids": ["5012345601"], **fields}
    await register_project(store, key, document)


# Templates -------------------------------------------------------------------------------------


async def test_an_unchanged_template_keeps_its_version(store: PostgresReportStore) -> None:
    """Registering the same source again stores nothing; a changed one is the next version."""
    name = unique("weekly") + ".md"
    fmt, first = await register_template(store, name, "# {{ project }}")
    _, again = await register_template(store, name, "# {{ project }}")
    _, changed = await register_template(store, name, "# {{ project }}!")
    assert fmt == "markdown"
    assert (first.version, first.created) == (1, True)
    assert (again.version, again.created) == (1, False)
    assert (changed.version, changed.created) == (2, True)
    latest = await store.get_template(name)
    old = await store.get_template(name, 1)
    assert latest is not None
    assert old is not None
    assert (latest.version, latest.source, latest.format) == (2, "# {{ project }}!", "markdown")
    assert old.source == "# {{ project }}"
    assert [v.version for v in await store.get_template_versions(name)] == [1, 2]
    listed = {t.name: t for t in await store.list_templates()}
    assert listed[name].latest_version == 2
    assert await store.get_template(name, 3) is None
    assert await store.get_template(unique("nothing")) is None


async def test_going_back_to_an_old_source_is_a_new_version(store: PostgresReportStore) -> None:
    """Through the API, an earlier source becomes the latest again (a rollback is a version)."""
    name = unique("rollback")
    await register_template(store, name, "a")
    await register_template(store, name, "b")
    _, back = await register_template(store, name, "a")
    assert (back.version, back.created) == (3, True)


async def test_a_shipped_template_does_not_replace_a_newer_version(
    store: PostgresReportStore,
) -> None:
    """With skip_known (shipped files at start), a source seen before leaves the latest alone."""
    name = unique("shipped") + ".slack"
    await register_template(store, name, "shipped text", skip_known=True)
    await register_template(store, name, "operator's text")
    _, restart = await register_template(store, name, "shipped text", skip_known=True)
    assert (restart.version, restart.created) == (1, False)
    latest = await store.get_template(name)
    assert latest is not None
    assert latest.source == "operator's text"


async def test_concurrent_registrations_get_distinct_versions(store: PostgresReportStore) -> None:
    """Registrations of one template are serialised: no version is given twice."""
    name = unique("busy")
    results = await asyncio.gather(*(register_template(store, name, f"v{n}") for n in range(8)))
    assert sorted(r.version for _, r in results) == list(range(1, 9))


async def test_an_invalid_template_is_not_stored(store: PostgresReportStore) -> None:
    """A syntax error or a bad name is refused before anything is stored."""
    name = unique("bad")
    with pytest.raises(TemplateProblem, match="line 2"):
        await register_template(store, name, "ok\n{% if %}")
    with pytest.raises(TemplateProblem, match="name"):
        await register_template(store, "Bad Name!", "ok")
    assert await store.get_template(name) is None


async def test_a_template_keeps_the_format_of_its_name(store: PostgresReportStore) -> None:
    """The database refuses a format that disagrees with the stored one."""
    name = unique("fixed") + ".slack"
    await register_template(store, name, "x")
    with pytest.raises(psycopg.errors.CheckViolation):
        await store.put_template(
            name=name, format="markdown", source="y", checksum=checksum_of("y")
        )


# Projects ----------------------------------------------------------------------------------------


async def test_projects_are_registered_replaced_and_found(store: PostgresReportStore) -> None:
    """A project is stored with its mapping, found by key in any case, and replaced by a PUT."""
    key = unique("proj")
    first = await store.put_project(
        key,
        ProjectFields(
            name="Zeta Launch",
            monday_board_ids=["1", "2"],
            tracker_ref_prefixes=["zeta:"],
            confluence_space_key="ZETA",
            outlook_mailbox="lead@example.com",
            slack_channel_id="C0ZETA",
            settings={"horizon_days": 14},
        ),
        source="api",
    )
    same = await store.put_project(
        key,
        ProjectFields(
            name="Zeta Launch",
            monday_board_ids=["1", "2"],
            tracker_ref_prefixes=["zeta:"],
            confluence_space_key="ZETA",
            outlook_mailbox="lead@example.com",
            slack_channel_id="C0ZETA",
            settings={"horizon_days": 14},
        ),
        source="api",
    )
    renamed = await store.put_project(key, ProjectFields(name="Zeta Relaunch"), source="api")
    assert (first.created, first.changed) == (True, True)
    assert (same.created, same.changed) == (False, False)
    assert (renamed.created, renamed.changed) == (False, True)
    found = await store.get_project(key.upper())
    assert found is not None
    assert (found.name, found.monday_board_ids, found.settings) == ("Zeta Relaunch", [], {})
    assert key in [p.key for p in await store.list_projects()]


async def test_a_shipped_project_does_not_overwrite_an_api_change(
    store: PostgresReportStore,
) -> None:
    """Once changed through the API, the shipped file no longer replaces the project."""
    key = unique("seed")
    shipped = await store.put_project(key, ProjectFields(name="From the file"), source="shipped")
    updated = await store.put_project(
        key, ProjectFields(name="From the file, v2"), source="shipped"
    )
    await store.put_project(key, ProjectFields(name="Edited by ops"), source="api")
    ignored = await store.put_project(
        key, ProjectFields(name="From the file, v3"), source="shipped"
    )
    assert shipped.applied
    assert updated.changed
    assert not ignored.applied
    assert ignored.project.name == "Edited by ops"


async def test_projects_are_found_by_key_name_or_part_of_it(store: PostgresReportStore) -> None:
    """find_projects ranks the key, then the whole name, then a part; the text is not a pattern."""
    suffix = uuid4().hex[:6]
    await store.put_project(
        f"orion-{suffix}", ProjectFields(name=f"Orion Portal {suffix}"), source="api"
    )
    await store.put_project(
        f"vega-{suffix}", ProjectFields(name=f"Vega orion-{suffix} tools"), source="api"
    )
    exact = await store.find_projects(f"ORION-{suffix}")
    by_part = await store.find_projects(f"portal {suffix}")
    pattern = await store.find_projects("%_")
    assert [(m.rank, m.project.key) for m in exact] == [
        (1, f"orion-{suffix}"),
        (3, f"vega-{suffix}"),
    ]
    assert [m.project.key for m in by_part] == [f"orion-{suffix}"]
    assert pattern == []


async def test_invalid_project_settings_are_refused(store: PostgresReportStore) -> None:
    """A bad key or bad settings name the field; nothing is stored."""
    from dataworkflows.reports.registry import ProjectProblem

    with pytest.raises(ProjectProblem) as caught:
        await register_project(
            store, "Bad Key", {"name": "x", "settings": {"timezone": "Mars/Olympus"}}
        )
    fields = [e.field for e in caught.value.errors]
    assert fields == ["key", "settings"]
    assert await store.get_project("bad key") is None


# Reports -------------------------------------------------------------------------------------------


async def test_reports_are_saved_and_the_latest_is_found(store: PostgresReportStore) -> None:
    """The latest report of a project is the newest; other projects' do not count."""
    key, other = unique("rep"), unique("rep")
    await add_project(store, key)
    await add_project(store, other)
    assert await store.get_latest_report(key) is None
    first, _ = await store.save_report(
        NewReport(
            project=key,
            run_id=None,
            idempotency_key=None,
            outputs={"slack": {"text": "one"}},
            snapshot={"n": 1},
            summary={},
            changes={},
        )
    )
    second, _ = await store.save_report(
        NewReport(
            project=key,
            run_id=uuid4(),
            idempotency_key=None,
            outputs={},
            snapshot={"n": 2, "text": "nul \x00 here"},
            summary={"counts": {"total": 2}},
            changes={},
        )
    )
    await store.save_report(
        NewReport(
            project=other,
            run_id=None,
            idempotency_key=None,
            outputs={},
            snapshot={"n": 3},
            summary={},
            changes={},
        )
    )
    latest = await store.get_latest_report(key.upper())
    assert latest is not None
    assert latest.id == second.id
    assert latest.snapshot == {"n": 2, "text": "nul \ufffd here"}
    fetched = await store.get_report(first.id)
    assert fetched is not None
    assert fetched.outputs == {"slack": {"text": "one"}}


async def test_a_repeated_save_returns_the_first_report(store: PostgresReportStore) -> None:
    """The same idempotency key (a retried step) stores one report."""
    key = unique("idem")
    await add_project(store, key)
    report = NewReport(
        project=key,
        run_id=None,
        idempotency_key=f"run:{uuid4()}:save",
        outputs={},
        snapshot={},
        summary={},
        changes={},
    )
    first, created = await store.save_report(report)
    again, created_again = await store.save_report(report)
    assert (created, created_again) == (True, False)
    assert again.id == first.id
    assert len(await store.list_reports(project=key, after=None, limit=10)) == 1


async def test_a_report_for_an_unknown_project_is_refused(store: PostgresReportStore) -> None:
    """Reports belong to registered projects."""
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        await store.save_report(
            NewReport(
                project=unique("ghost"),
                run_id=None,
                idempotency_key=None,
                outputs={},
                snapshot={},
                summary={},
                changes={},
            )
        )


async def test_reports_are_listed_newest_first_in_pages(store: PostgresReportStore) -> None:
    """Keyset pages cover every report of the project once, with health and formats."""
    key = unique("page")
    await add_project(store, key)
    ids: list[UUID] = []
    for n in range(5):
        saved, _ = await store.save_report(
            NewReport(
                project=key,
                run_id=None,
                idempotency_key=None,
                outputs={"slack": {}, "markdown": {}},
                snapshot={},
                summary={"health": {"status": "on_track"}, "counts": {"total": n}},
                changes={},
            )
        )
        ids.append(saved.id)
    first = await store.list_reports(project=key, after=None, limit=2)
    second = await store.list_reports(
        project=key, after=(first[-1].created_at, first[-1].id), limit=2
    )
    third = await store.list_reports(
        project=key, after=(second[-1].created_at, second[-1].id), limit=2
    )
    seen = [r.id for r in first + second + third]
    assert seen == list(reversed(ids))
    assert first[0].formats == ["markdown", "slack"]
    assert first[0].counts == {"total": 4}
    assert first[0].health == {"status": "on_track"}


# The actions ---------------------------------------------------------------------------------------


async def test_reports_project_finds_a_project_and_its_window(store: PostgresReportStore) -> None:
    """reports.project answers the registry entry by a part of its name, with the report window."""
    key = unique("win")
    await add_project(
        store, key, settings={"timezone": "Europe/Berlin", "horizon_days": 7, "lookback_days": 7}
    )
    actions = reports_actions(store, clock=lambda: NOW)
    output = await actions.invoke(
        "project", ActionRequest(input={"project": f"project {key}".upper()})
    )
    assert output["project"]["key"] == key
    assert output["window"] == {
        "today": "2026-11-10",
        "until": "2026-11-17",
        "week_start": "2026-11-10T00:00:00+01:00",
        "week_end": "2026-11-18T00:00:00+01:00",
        "since": "2026-11-03T00:00:00+01:00",
        "since_date": "2026-11-03",
        "since_ts": f"{int(datetime(2026, 11, 2, 23, tzinfo=UTC).timestamp())}.000000",
    }


async def test_reports_project_names_the_known_projects_when_none_matches(
    store: PostgresReportStore,
) -> None:
    """An unknown project is not_found, listing the keys there are (and the one probably
    meant); an ambiguous one says which."""
    group = unique("amb")
    await add_project(store, f"{group}-one")
    await add_project(store, f"{group}-two")
    actions = reports_actions(store)
    with pytest.raises(ActionFailed) as unknown:
        await actions.invoke("project", ActionRequest(input={"project": "no-such-project-at-all"}))
    with pytest.raises(ActionFailed) as ambiguous:
        await actions.invoke("project", ActionRequest(input={"project": group}))
    with pytest.raises(ActionFailed) as typo:
        await actions.invoke("project", ActionRequest(input={"project": f"{group}-oen"}))
    exact = await actions.invoke("project", ActionRequest(input={"project": f"{group}-two"}))
    assert unknown.value.error.code == "not_found"
    assert f"{group}-one" in unknown.value.error.message
    assert f"did you mean '{group}-one'?" in typo.value.error.message
    assert ambiguous.value.error.code == "invalid_input"
    assert f"{group}-one" in ambiguous.value.error.message
    assert f"{group}-two" in ambiguous.value.error.message
    assert exact["project"]["key"] == f"{group}-two"


async def test_compose_and_save_say_what_changed_between_two_reports(
    store: PostgresReportStore,
) -> None:
    """A second report compares with the saved first: done, blocked, new and slipped items."""
    key = unique("flow")
    await add_project(store, key, tracker_ref_prefixes=[f"{key}:"])
    actions = reports_actions(store, clock=lambda: NOW)
    run_id = str(uuid4())

    async def report(
        items: list[dict[str, Any]], tasks: list[dict[str, Any]], today: str, step: str
    ) -> dict[str, Any]:
        composed = await actions.invoke(
            "compose",
            ActionRequest(
                input={
                    "project": key,
                    "items": items,
                    "tasks": tasks,
                    "today": today,
                    "missing": ["outlook"],
                }
            ),
        )
        saved = await actions.invoke(
            "save",
            ActionRequest(
                input={
                    "project": key,
                    "outputs": {"markdown": {"format": "markdown", "text": "x"}},
                    "snapshot": composed["snapshot"],
                    "summary": composed["report"]["summary"],
                    "changes": composed["report"]["changes"],
                },
                idempotency_key=f"{run_id}:{step}",
                context=ActionContext(run_id=run_id, step_id="save", attempt=1),
            ),
        )
        return {"composed": composed, "saved": saved}

    first = await report(
        [
            monday_item("1", "Pricing page", "Working on it"),
            monday_item("2", "Login", "Working on it", "2026-11-20"),
        ],
        [{"id": "T1", "title": "FAQ", "status": "todo", "external_ref": f"{key}:faq"}],
        "2026-11-03",
        "one",
    )
    second = await report(
        [
            monday_item("1", "Pricing page", "Done"),
            monday_item("2", "Login", "Stuck", "2026-11-27"),
            monday_item("3", "Analytics", "Not started"),
        ],
        [{"id": "T1", "title": "FAQ", "status": "todo", "external_ref": f"{key}:faq"}],
        "2026-11-10",
        "two",
    )
    assert first["composed"]["report"]["changes"]["first_report"] is True
    assert first["composed"]["report"]["missing"] == ["outlook"]
    changed = second["composed"]["report"]["changes"]
    assert changed["first_report"] is False
    assert changed["previous_report_id"] == first["saved"]["id"]
    assert [c["id"] for c in changed["newly_done"]] == ["monday:1"]
    assert [c["id"] for c in changed["newly_blocked"]] == ["monday:2"]
    assert [c["id"] for c in changed["new_tasks"]] == ["monday:3"]
    assert [(c["old"], c["new"]) for c in changed["slipped"]] == [("2026-11-20", "2026-11-27")]
    assert second["composed"]["report"]["summary"]["counts"]["total"] == 4
    assert second["saved"]["url"] == f"/v1/reports/{second['saved']['id']}"
    stored = await store.get_report(UUID(second["saved"]["id"]))
    assert stored is not None
    assert stored.run_id == UUID(run_id)
    assert stored.changes["newly_done"][0]["title"] == "Pricing page"


async def test_a_retried_save_step_stores_one_report(store: PostgresReportStore) -> None:
    """The engine's idempotency key makes a repeated reports.save return the first report."""
    key = unique("retry")
    await add_project(store, key)
    actions = reports_actions(store)
    request = ActionRequest(input={"project": key}, idempotency_key="run-x:save:-1")
    first = await actions.invoke("save", request)
    again = await actions.invoke("save", request)
    assert first["id"] == again["id"]
    assert (first["created"], again["created"]) == (True, False)


async def test_core_render_renders_registered_templates(store: PostgresReportStore) -> None:
    """core.render over the store: latest or pinned version; unknown and failing ones are errors."""
    name = unique("hello") + ".slack"
    await register_template(store, name, "# Hi {{ who }}\nv1")
    await register_template(store, name, "# Hi {{ who }}\nv2 {{ missing.value }}")
    evaluations = EvaluationPool(tasks={**EXPRESSION_TASKS, **RENDER_TASKS}, workers=1)
    core = core_actions(StoredTemplateSource(store, evaluations))
    pinned = await core.invoke(
        "render", ActionRequest(input={"template": name, "version": 1, "data": {"who": "<team>"}})
    )
    inline = await core.invoke(
        "render",
        ActionRequest(
            input={"source": "<p>{{ x }}</p>", "format": "confluence", "data": {"x": "a & b"}}
        ),
    )
    with pytest.raises(ActionFailed) as failing:
        await core.invoke("render", ActionRequest(input={"template": name, "data": {"who": "x"}}))
    with pytest.raises(ActionFailed) as unknown:
        await core.invoke("render", ActionRequest(input={"template": unique("nope"), "data": {}}))
    assert pinned["blocks"][0]["text"]["text"] == "Hi <team>"
    assert pinned["blocks"][1]["text"]["text"] == "v1"
    assert inline == {"format": "confluence", "body": "<p>a &amp; b</p>"}
    assert failing.value.error.code == "invalid_input"
    assert f"template {name}: line 2" in failing.value.error.message
    assert unknown.value.error.code == "not_found"
    await evaluations.close()


async def test_shipped_templates_and_projects_register_once(
    store: PostgresReportStore, tmp_path: Path
) -> None:
    """The shipped files register on start; again changes nothing; broken files are skipped."""
    shipped = bundled_dir("workflows")
    first = await register_shipped(store, shipped)
    again = await register_shipped(store, shipped)
    assert sorted(first.templates) == [
        "project-status.confluence",
        "project-status.md",
        "project-status.slack",
    ]
    assert sorted(first.projects) == ["apollo", "borealis", "cygnus"]
    assert first.problems == []
    assert again.problems == []
    for name in first.templates:
        assert [v.version for v in await store.get_template_versions(name)] == [1]
    apollo = await store.get_project("apollo")
    assert apollo is not None
    assert (apollo.monday_board_ids, apollo.slack_channel_id, apollo.confluence_space_key) == (
        ["5012345601", "5012345602"],
        "C07APOLLO1",
        "APOLLO",
    )

    broken = tmp_path / "workflows"
    (broken / "templates").mkdir(parents=True)
    shutil.copy(shipped / "templates" / "project-status.md.j2", broken / "templates" / "fine.md.j2")
    (broken / "templates" / "bad.md.j2").write_text("{% for %}")
    (broken / "templates" / "Bad Name.j2").write_text("x")
    (broken / "projects.yaml").write_text(
        "projects:\n  - {key: ok-proj, name: OK}\n  - {key: BAD, name: x}\n  - nonsense\n"
    )
    result = await register_shipped(store, broken)
    assert result.templates == ["fine.md"]
    assert result.projects == ["ok-proj"]
    assert len(result.problems) == 4
