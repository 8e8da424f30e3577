"""The seeded Monday demo workspace and monday's column value rules it applies."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from dataworkflows.sandboxes.monday.app import MondaySandbox
from dataworkflows.sandboxes.monday.demo_data import (
    BIG_BOARD_ID,
    DateCell,
    DemoBoard,
    DemoColumn,
    DemoItem,
    DemoWorkspace,
    InvalidColumnValue,
    LongTextCell,
    MirrorCell,
    NumbersCell,
    PeopleCell,
    ResourceNotFound,
    StatusCell,
    TextCell,
    cell_text,
    cell_value,
)
from dataworkflows.sandboxes.world import ANCHOR, DEMO_USERS, PROJECT_NAMES, PROJECTS, demo_anchor

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LATER = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
"""Another anchor: a Monday, 120 whole days after ANCHOR."""


@pytest.fixture
def workspace() -> DemoWorkspace:
    """A fresh workspace with the default seed."""
    return DemoWorkspace.seeded(7)


def _column(board: DemoBoard, column_id: str) -> DemoColumn:
    column = board.column(column_id)
    assert column is not None, column_id
    return column


def _snapshot(workspace: DemoWorkspace) -> list[tuple[str, str, list[DemoItem]]]:
    return [(b.id, b.name, b.items) for b in workspace.boards]


def test_same_seed_gives_the_same_workspace() -> None:
    """Two workspaces from one seed are equal item for item; another seed differs."""
    assert _snapshot(DemoWorkspace.seeded(7)) == _snapshot(DemoWorkspace.seeded(7))
    assert _snapshot(DemoWorkspace.seeded(7)) != _snapshot(DemoWorkspace.seeded(8))


def test_three_projects_each_with_a_workspace_and_two_boards(workspace: DemoWorkspace) -> None:
    """apollo, borealis and cygnus each own one workspace with a Roadmap and a Sprint Tasks board."""
    assert PROJECTS == ("apollo", "borealis", "cygnus")
    assert PROJECT_NAMES == {
        "apollo": "Apollo Website Relaunch",
        "borealis": "Borealis Mobile App",
        "cygnus": "Cygnus Data Platform",
    }
    assert len({p.workspace_id for p in workspace.projects}) == 3
    for key in PROJECTS:
        project = workspace.project(key)
        roadmap = workspace.board(project.roadmap_board_id)
        sprint = workspace.board(project.sprint_board_id)
        assert roadmap is not None
        assert sprint is not None
        assert roadmap.name == f"{PROJECT_NAMES[key]} — Roadmap"
        assert sprint.name == f"{PROJECT_NAMES[key]} — Sprint Tasks"
        assert roadmap.workspace_id == sprint.workspace_id == project.workspace_id
    assert len(workspace.boards) == 6


def test_one_board_needs_more_than_one_page(workspace: DemoWorkspace) -> None:
    """Cygnus Sprint Tasks holds 520-600 items, every other board 20-60, 200+ in total."""
    big = workspace.board(BIG_BOARD_ID)
    assert big is not None
    assert big.name == "Cygnus Data Platform — Sprint Tasks"
    assert 520 <= big.items_count <= 600
    for board in workspace.boards:
        if board.id != BIG_BOARD_ID:
            assert 20 <= board.items_count <= 60, board.name
    assert sum(b.items_count for b in workspace.boards) >= 200


def test_ids_are_unique_numeric_strings_in_creation_order(workspace: DemoWorkspace) -> None:
    """Board and item ids are numeric strings like monday's; items come in ascending id order."""
    item_ids = [i.id for b in workspace.boards for i in b.items]
    assert len(set(item_ids)) == len(item_ids)
    for board in workspace.boards:
        assert board.id.isdigit()
        assert len(board.id) == 10
        ids = [int(i.id) for i in board.items]
        assert ids == sorted(ids)
        assert all(workspace.item(i.id) is i for i in board.items)
    assert all(i.isdigit() and len(i) >= 10 for i in item_ids)


def test_boards_have_monday_columns_and_groups(workspace: DemoWorkspace) -> None:
    """status, date4, person, text, numbers everywhere; a mirror only on Roadmaps; topics first."""
    for board in workspace.boards:
        types = {c.id: c.type for c in board.columns}
        assert types["status"] == "status"
        assert types["date4"] == "date"
        assert types["person"] == "people"
        assert types["text"] == "text"
        assert types["numbers"] == "numbers"
        assert ("mirror" in types) == board.name.endswith("Roadmap")
        assert board.groups[0].id == "topics"
        assert {"topics", "group_done"} <= {g.id for g in board.groups}
    sprint = workspace.board(BIG_BOARD_ID)
    assert sprint is not None
    assert [g.title for g in sprint.groups] == ["Backlog", "This Sprint", "Review", "Done"]
    status = sprint.column("status")
    assert status is not None
    assert json.loads(status.settings_str)["labels"] == {
        "0": "Working on it",
        "1": "Done",
        "2": "Stuck",
        "5": "Not started",
    }


def test_demo_users_are_few_and_at_example_com(workspace: DemoWorkspace) -> None:
    """6 to 8 users with numeric ids and example.com emails; the first is the token owner."""
    assert 6 <= len(DEMO_USERS) <= 8
    assert all(u.id.isdigit() and u.email.endswith("@example.com") for u in DEMO_USERS)
    assert workspace.me == DEMO_USERS[0]


def test_some_cells_are_empty(workspace: DemoWorkspace) -> None:
    """Empty status, date and person cells exist, so null and "" handling gets exercised."""
    items = [i for b in workspace.boards for i in b.items]
    for column_id in ("status", "date4", "person", "text"):
        empty = sum(1 for i in items if column_id not in i.cells)
        assert 0 < empty < len(items), column_id


def test_seeded_timestamps_come_from_the_anchor_not_the_clock(workspace: DemoWorkspace) -> None:
    """Every seeded item was created before the anchor date and updated no later than it."""
    for board in workspace.boards:
        for item in board.items:
            assert ANCHOR - timedelta(days=200) < item.created_at < ANCHOR
            assert item.created_at <= item.updated_at <= ANCHOR


def test_another_anchor_moves_every_date_and_nothing_else() -> None:
    """A demo started another day has the same tickets, created before that day, due around it."""
    default, later = DemoWorkspace.seeded(7), DemoWorkspace.seeded(7, anchor=LATER)
    shift = LATER - ANCHOR
    assert (default.anchor, later.anchor) == (ANCHOR, LATER)
    before = [i for b in default.boards for i in b.items]
    after = [i for b in later.boards for i in b.items]
    assert len(after) == len(before)
    for old, new in zip(before, after, strict=True):
        assert (new.id, new.name, new.board_id, new.group_id) == (
            old.id,
            old.name,
            old.board_id,
            old.group_id,
        )
        assert LATER - timedelta(days=200) < new.created_at < LATER
        assert new.created_at <= new.updated_at <= LATER
        assert (new.created_at, new.updated_at) == (old.created_at + shift, old.updated_at + shift)
        assert {k: v for k, v in new.cells.items() if k != "date4"} == {
            k: v for k, v in old.cells.items() if k != "date4"
        }
        old_due, new_due = old.cells.get("date4"), new.cells.get("date4")
        assert (old_due is None) == (new_due is None)
        if isinstance(old_due, DateCell) and isinstance(new_due, DateCell):
            moved = datetime.fromisoformat(new_due.date) - datetime.fromisoformat(old_due.date)
            assert (moved, new_due.time) == (shift, old_due.time)
    due = [i.cells["date4"] for i in after if isinstance(i.cells.get("date4"), DateCell)]
    upcoming = [d for d in due if isinstance(d, DateCell) and d.date >= LATER.date().isoformat()]
    assert len(due) / 2 < len(upcoming) < len(due)  # mostly ahead of that day, some overdue


def test_the_same_anchor_gives_the_same_workspace() -> None:
    """Two workspaces from one seed and one anchor are equal item for item, dates included."""
    assert _snapshot(DemoWorkspace.seeded(7, anchor=LATER)) == _snapshot(
        DemoWorkspace.seeded(7, anchor=LATER)
    )
    assert _snapshot(DemoWorkspace.seeded(7, anchor=LATER)) != _snapshot(DemoWorkspace.seeded(7))


def test_a_live_demo_is_anchored_on_today_at_nine_utc() -> None:
    """demo_anchor is 09:00 UTC on the UTC day of now (today by default); naive times are refused."""
    new_york = timezone(timedelta(hours=-5))
    assert demo_anchor(datetime(2027, 3, 1, 23, 30, tzinfo=new_york)) == datetime(
        2027, 3, 2, 9, 0, tzinfo=UTC
    )
    assert demo_anchor(datetime(2027, 3, 1, 6, 0, tzinfo=UTC)) == datetime(
        2027, 3, 1, 9, 0, tzinfo=UTC
    )
    first = datetime.now(UTC).date()
    today = demo_anchor()
    assert today.date() in {first, datetime.now(UTC).date()}
    assert (today.hour, today.minute, today.second, today.tzinfo) == (9, 0, 0, UTC)
    with pytest.raises(ValueError, match="timezone-aware"):
        demo_anchor(datetime(2027, 3, 1, 9, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        DemoWorkspace.seeded(7, anchor=datetime(2027, 3, 1, 9, 0))


def test_the_sandbox_keeps_its_anchor_across_resets() -> None:
    """A sandbox given an anchor serves data placed before it, also after /sandbox/reset."""
    assert MondaySandbox(token="t").workspace.anchor == ANCHOR
    sandbox = MondaySandbox(token="t", anchor=LATER)
    assert _snapshot(sandbox.workspace) == _snapshot(DemoWorkspace.seeded(7, anchor=LATER))
    sandbox.reset()
    assert _snapshot(sandbox.workspace) == _snapshot(DemoWorkspace.seeded(7, anchor=LATER))


def test_values_and_texts_follow_monday(workspace: DemoWorkspace) -> None:
    """value is a JSON string (None when empty); text is "" when empty, None for status/mirror."""
    board = workspace.board(workspace.project("apollo").roadmap_board_id)
    assert board is not None
    users = workspace.users_by_id
    status, date, person, text, long_text, mirror = (
        _column(board, c) for c in ("status", "date4", "person", "text", "long_text", "mirror")
    )
    assert cell_value(StatusCell(1)) == '{"index":1,"post_id":null}'
    assert cell_text(status, StatusCell(1), users) == "Done"
    assert cell_text(status, None, users) is None
    assert (
        cell_value(DateCell("2024-06-15", "14:30:00")) == '{"date":"2024-06-15","time":"14:30:00"}'
    )
    assert cell_text(date, DateCell("2024-06-15", "14:30:00"), users) == "2024-06-15 14:30"
    assert cell_text(date, DateCell("2024-06-15"), users) == "2024-06-15"
    assert cell_text(date, None, users) == ""
    people = PeopleCell((61000001, 61000002))
    assert json.loads(cell_value(people) or "") == {
        "personsAndTeams": [{"id": 61000001, "kind": "person"}, {"id": 61000002, "kind": "person"}]
    }
    assert cell_text(person, people, users) == "Maya Patel, Jonas Berg"
    assert cell_value(TextCell("hi")) == '"hi"'
    assert cell_text(text, None, users) == ""
    assert cell_value(NumbersCell("42.5")) == '"42.5"'
    assert cell_value(LongTextCell("a\nb")) == '{"text":"a\\nb"}'
    assert cell_text(long_text, LongTextCell("a\nb"), users) == "a\nb"
    assert cell_value(MirrorCell("Done")) is None
    assert cell_text(mirror, MirrorCell("Done"), users) is None
    assert cell_value(None) is None


def test_create_item_accepts_the_documented_shapes(workspace: DemoWorkspace) -> None:
    """create_item takes status/date/people/text/numbers/long_text in monday's write shapes."""
    board_id = workspace.project("borealis").sprint_board_id
    before = workspace.board(board_id)
    assert before is not None
    count = before.items_count
    item = workspace.create_item(
        board_id=board_id,
        name="New task",
        group_id="group_sprint",
        column_values={
            "status": {"label": "Done"},
            "date4": {"date": "2024-06-15", "time": "14:30:00"},
            "person": {"personsAndTeams": [{"id": 61000003, "kind": "person"}]},
            "text": "plain text",
            "numbers": "8",
            "long_text": {"text": "long\ntext"},
        },
        now=NOW,
    )
    assert item.cells == {
        "status": StatusCell(1),
        "date4": DateCell("2024-06-15", "14:30:00"),
        "person": PeopleCell((61000003,)),
        "text": TextCell("plain text"),
        "numbers": NumbersCell("8"),
        "long_text": LongTextCell("long\ntext"),
    }
    assert item.group_id == "group_sprint"
    assert before.items_count == count + 1
    assert before.items[-1] is item
    assert int(item.id) > max(int(i.id) for i in before.items[:-1])
    assert workspace.item(item.id) is item
    assert item.created_at == item.updated_at == NOW


def test_create_item_defaults_to_the_first_group(workspace: DemoWorkspace) -> None:
    """Without group_id the item lands in the board's first group (topics)."""
    item = workspace.create_item(board_id=BIG_BOARD_ID, name="x", now=NOW)
    assert item.group_id == "topics"
    assert item.cells == {}


def test_change_column_values_sets_clears_and_moves_updated_at(workspace: DemoWorkspace) -> None:
    """Index form, simple strings and null all work; updated_at moves forward."""
    board = workspace.board(BIG_BOARD_ID)
    assert board is not None
    item = board.items[0]
    before = item.updated_at
    changed = workspace.change_column_values(
        board_id=BIG_BOARD_ID,
        item_id=item.id,
        column_values={
            "status": {"index": 2},
            "date4": "2026-12-01",
            "person": "61000001, 61000002",
            "text": None,
            "numbers": "",
            "long_text": "short",
        },
        now=before - timedelta(days=1),
    )
    assert changed is item
    assert item.cells["status"] == StatusCell(2)
    assert item.cells["date4"] == DateCell("2026-12-01")
    assert item.cells["person"] == PeopleCell((61000001, 61000002))
    assert "text" not in item.cells
    assert "numbers" not in item.cells
    assert item.cells["long_text"] == LongTextCell("short")
    assert item.updated_at > before


@pytest.mark.parametrize(
    ("values", "names"),
    [
        ({"status": {"label": "Dne"}}, "'status'"),
        ({"status": {"index": 9}}, "'status'"),
        ({"date4": {"date": "2024-13-45"}}, "'date4'"),
        ({"date4": {"date": "15/06/2024"}}, "'date4'"),
        ({"date4": {"date": "2024-06-15", "time": "25:00:00"}}, "'date4'"),
        ({"person": {"personsAndTeams": [{"id": 1, "kind": "person"}]}}, "'person'"),
        ({"person": {"personsAndTeams": [{"id": 61000001, "kind": "team"}]}}, "'person'"),
        ({"numbers": "many"}, "'numbers'"),
        ({"text": {"text": "not for a text column"}}, "'text'"),
        ({"nope": "x"}, "'nope'"),
    ],
)
def test_refused_values_name_the_column_and_change_nothing(
    workspace: DemoWorkspace, values: dict[str, object], names: str
) -> None:
    """A bad value raises InvalidColumnValue naming the column; the item stays as it was."""
    board = workspace.board(BIG_BOARD_ID)
    assert board is not None
    item = board.items[3]
    cells, updated = dict(item.cells), item.updated_at
    with pytest.raises(InvalidColumnValue) as refused:
        workspace.change_column_values(
            board_id=BIG_BOARD_ID,
            item_id=item.id,
            column_values={"text": "changed first", **values},
            now=NOW,
        )
    assert names in refused.value.message
    assert item.cells == cells
    assert item.updated_at == updated


def test_mirror_columns_cannot_be_written(workspace: DemoWorkspace) -> None:
    """Setting a mirror column is refused, as monday refuses it."""
    board_id = workspace.project("apollo").roadmap_board_id
    with pytest.raises(InvalidColumnValue, match="mirror"):
        workspace.create_item(
            board_id=board_id, name="x", column_values={"mirror": "Done"}, now=NOW
        )


def test_unknown_labels_are_created_only_when_asked(workspace: DemoWorkspace) -> None:
    """create_labels_if_missing adds the label to the column at a free index."""
    board = workspace.board(BIG_BOARD_ID)
    assert board is not None
    item = workspace.create_item(
        board_id=BIG_BOARD_ID,
        name="x",
        column_values={"status": {"label": "Blocked by vendor"}},
        create_labels_if_missing=True,
        now=NOW,
    )
    status = board.column("status")
    assert status is not None
    cell = item.cells["status"]
    assert isinstance(cell, StatusCell)
    assert status.labels[cell.index] == "Blocked by vendor"
    assert cell.index not in (0, 1, 2, 5)
    assert "Blocked by vendor" in status.settings_str


def test_unknown_board_item_or_group_is_not_found(workspace: DemoWorkspace) -> None:
    """Unknown boards, items (or an item of another board) and groups raise ResourceNotFound."""
    other = workspace.board(workspace.project("apollo").sprint_board_id)
    assert other is not None
    with pytest.raises(ResourceNotFound):
        workspace.create_item(board_id="1", name="x", now=NOW)
    with pytest.raises(ResourceNotFound):
        workspace.create_item(board_id=BIG_BOARD_ID, name="x", group_id="nope", now=NOW)
    with pytest.raises(ResourceNotFound):
        workspace.change_column_values(
            board_id=BIG_BOARD_ID, item_id="42", column_values={}, now=NOW
        )
    with pytest.raises(ResourceNotFound):
        workspace.change_column_values(
            board_id=BIG_BOARD_ID, item_id=other.items[0].id, column_values={}, now=NOW
        )


def test_paging_helper_walks_a_board_once(workspace: DemoWorkspace) -> None:
    """items_after pages through a board in order without gaps or repeats."""
    board = workspace.board(BIG_BOARD_ID)
    assert board is not None
    seen: list[str] = []
    after: str | None = None
    while True:
        page, more = board.items_after(after, 200)
        seen += [i.id for i in page]
        if not more:
            break
        after = page[-1].id
    assert seen == [i.id for i in board.items]
