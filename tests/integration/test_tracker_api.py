"""The mock Task Tracker's HTTP API: auth, CRUD, validation, conflicts, paging, concurrency."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jwt
import pytest
import uvicorn
from structlog.testing import capture_logs

from dataworkflows.runtime.serving import bind_socket
from dataworkflows.tracker.app import create_tracker_app
from dataworkflows.tracker.auth import TokenAuthority
from dataworkflows.tracker.models import TaskDraft
from dataworkflows.tracker.store import TaskStore

USERNAME = "tracker-user"
PASSWORD = "Pa55word-for-the-tracker"
SECRET = "tracker-jwt-secret-for-tests"
TTL_S = 600.0
START = 1_750_000_000.0  # 2025-06-15T15:06:40Z

NO_TOKEN = "Send 'Authorization: Bearer <token>' (POST /api/auth/login gives one)"
CHALLENGE = 'Bearer realm="tasktracker"'
CHALLENGE_INVALID = 'Bearer realm="tasktracker", error="invalid_token"'


class FakeClock:
    """Epoch seconds that a test moves forward by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class Tracker:
    """A tracker app, its store and clock, and a client logged in to it."""

    clock: FakeClock
    store: TaskStore
    http: httpx.AsyncClient
    token: str

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header of the logged-in client."""
        return {"Authorization": f"Bearer {self.token}"}

    async def create(self, **fields: Any) -> dict[str, Any]:
        """POST a task that must be created, and return it."""
        response = await self.http.post("/api/tasks", json=fields, headers=self.auth)
        assert response.status_code == 201, response.text
        task: dict[str, Any] = response.json()
        return task

    async def list(self, **params: Any) -> dict[str, Any]:
        """GET /api/tasks with ``params``, which must succeed."""
        response = await self.http.get("/api/tasks", params=params, headers=self.auth)
        assert response.status_code == 200, response.text
        page: dict[str, Any] = response.json()
        return page


async def _login(http: httpx.AsyncClient) -> str:
    response = await http.post("/api/auth/login", json={"username": USERNAME, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


@pytest.fixture
async def tracker() -> AsyncIterator[Tracker]:
    """A fresh tracker on a fake clock, called in-process, with a logged-in client."""
    clock = FakeClock()
    store = TaskStore(clock=clock)
    app = create_tracker_app(
        username=USERNAME,
        password=PASSWORD,
        jwt_secret=SECRET,
        token_ttl_s=TTL_S,
        clock=clock,
        store=store,
    )
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]  # Litestar is ASGI
    async with httpx.AsyncClient(transport=transport, base_url="http://tracker") as http:
        yield Tracker(clock=clock, store=store, http=http, token=await _login(http))


def _errors(response: httpx.Response) -> dict[str, str]:
    """The problem's field errors as {field: message}."""
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


def _assert_problem(response: httpx.Response, status: int, detail: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == status
    assert body["request_id"]
    if detail is not None:
        assert body["detail"] == detail


# Login ---------------------------------------------------------------------------------


async def test_login_with_the_right_credentials_returns_a_bearer_jwt(tracker: Tracker) -> None:
    """Right credentials give access_token (an HS256 JWT: sub, iat, exp = iat + ttl, jti)."""
    response = await tracker.http.post(
        "/api/auth/login", json={"username": USERNAME, "password": PASSWORD}
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == int(TTL_S)
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == USERNAME
    assert claims["iat"] == int(START)
    assert claims["exp"] == int(START + TTL_S)
    assert claims["jti"]


@pytest.mark.parametrize(
    ("username", "password"),
    [(USERNAME, "wrong"), ("someone", PASSWORD), ("someone", "wrong"), (USERNAME, PASSWORD + "x")],
)
async def test_wrong_credentials_are_401_without_saying_which(
    tracker: Tracker, username: str, password: str
) -> None:
    """A wrong username, password or both get the same 401 'Invalid username or password'."""
    response = await tracker.http.post(
        "/api/auth/login", json={"username": username, "password": password}
    )
    _assert_problem(response, 401, "Invalid username or password")
    assert response.headers["www-authenticate"] == CHALLENGE
    assert "access_token" not in response.text


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": USERNAME}, "password"),
        ({"password": PASSWORD}, "username"),
        ({"username": USERNAME, "password": 5}, "password"),
        ({"username": "", "password": PASSWORD}, "username"),
        ([USERNAME, PASSWORD], "body"),
    ],
)
async def test_an_invalid_login_body_is_422_naming_the_field(
    tracker: Tracker, body: Any, field: str
) -> None:
    """A login body with a missing, empty or mistyped member is a 422 naming that member."""
    response = await tracker.http.post("/api/auth/login", json=body)
    _assert_problem(response, 422)
    assert field in _errors(response)


async def test_a_missing_or_malformed_login_body_is_rejected(tracker: Tracker) -> None:
    """No body is a 422 naming the body; a body that is not JSON is a 400."""
    empty = await tracker.http.post("/api/auth/login")
    _assert_problem(empty, 422)
    assert _errors(empty) == {"body": "a JSON body is required"}
    malformed = await tracker.http.post(
        "/api/auth/login", content=b"{username", headers={"content-type": "application/json"}
    )
    _assert_problem(malformed, 400)


# Bearer tokens -------------------------------------------------------------------------

ROUTES = [
    ("GET", "/api/tasks"),
    ("GET", "/api/tasks/TT-1"),
    ("POST", "/api/tasks"),
    ("PUT", "/api/tasks/TT-1"),
    ("DELETE", "/api/tasks/TT-1"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_task_route_needs_a_token(tracker: Tracker, method: str, path: str) -> None:
    """Without Authorization every task route is 401 with a challenge carrying no error."""
    response = await tracker.http.request(method, path, json={"title": ""})
    _assert_problem(response, 401, NO_TOKEN)
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("header", ["Basic dHJhY2tlcjpwdw==", "Token abc", "Bearer", "Bearer   "])
async def test_another_scheme_or_an_empty_bearer_counts_as_no_token(
    tracker: Tracker, header: str
) -> None:
    """A non-Bearer scheme or a Bearer without a token is treated like a missing header."""
    response = await tracker.http.get("/api/tasks", headers={"Authorization": header})
    _assert_problem(response, 401, NO_TOKEN)
    assert response.headers["www-authenticate"] == CHALLENGE


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.", "x" * 5000])
async def test_a_garbage_token_is_401_not_valid(tracker: Tracker, token: str) -> None:
    """A malformed token is 401 'The token is not valid' with error="invalid_token"."""
    response = await tracker.http.get("/api/tasks", headers={"Authorization": f"Bearer {token}"})
    _assert_problem(response, 401, "The token is not valid")
    assert response.headers["www-authenticate"] == CHALLENGE_INVALID


async def test_the_scheme_name_is_case_insensitive(tracker: Tracker) -> None:
    """'bearer <token>' works like 'Bearer <token>' (RFC 7235 schemes ignore case)."""
    response = await tracker.http.get(
        "/api/tasks", headers={"Authorization": f"bearer {tracker.token}"}
    )
    assert response.status_code == 200


async def test_an_expired_token_is_401_log_in_again(tracker: Tracker) -> None:
    """When the clock reaches exp the token is refused as expired, and a new login works."""
    tracker.clock.now = START + TTL_S - 1
    assert (await tracker.http.get("/api/tasks", headers=tracker.auth)).status_code == 200
    tracker.clock.now = START + TTL_S
    response = await tracker.http.get("/api/tasks", headers=tracker.auth)
    _assert_problem(response, 401, "The token expired; log in again")
    assert response.headers["www-authenticate"] == CHALLENGE_INVALID
    fresh = await _login(tracker.http)
    ok = await tracker.http.get("/api/tasks", headers={"Authorization": f"Bearer {fresh}"})
    assert ok.status_code == 200


async def test_a_forged_token_is_401_not_valid(tracker: Tracker) -> None:
    """Tokens signed with another key, edited, or unsigned (alg none) are refused."""
    other = TokenAuthority(secret="someone-elses-secret", ttl_s=TTL_S, clock=tracker.clock)
    claims = jwt.decode(tracker.token, options={"verify_signature": False})
    header, _, signature = tracker.token.split(".")
    edited_payload = jwt.encode({**claims, "sub": "admin"}, "k" * 32).split(".")[1]
    forgeries = [
        other.issue(USERNAME).token,
        jwt.encode(claims, SECRET + SECRET, algorithm="HS256"),
        f"{header}.{edited_payload}.{signature}",
        jwt.encode(claims, None, algorithm="none"),
    ]
    for forged in forgeries:
        response = await tracker.http.get(
            "/api/tasks", headers={"Authorization": f"Bearer {forged}"}
        )
        _assert_problem(response, 401, "The token is not valid")
        assert response.headers["www-authenticate"] == CHALLENGE_INVALID


async def test_authentication_is_checked_before_the_body(tracker: Tracker) -> None:
    """An invalid body without a token is a 401, not a 422 (nothing is revealed unauthenticated)."""
    response = await tracker.http.post("/api/tasks", json={"id": "TT-1", "title": ""})
    _assert_problem(response, 401, NO_TOKEN)


# CRUD ----------------------------------------------------------------------------------


async def test_create_read_replace_delete_round_trip(tracker: Tracker) -> None:
    """A task is created (201, Location), read, replaced (version 2) and deleted (then 404)."""
    body = {
        "title": "Publish the roadmap",
        "description": "From Monday",
        "status": "in_progress",
        "assignee": "ada",
        "due_date": "2025-09-30",
        "external_ref": "monday:1",
    }
    created = await tracker.http.post("/api/tasks", json=body, headers=tracker.auth)
    assert created.status_code == 201
    task = created.json()
    assert task == {
        **body,
        "id": "TT-1",
        "created_at": "2025-06-15T15:06:40Z",
        "updated_at": "2025-06-15T15:06:40Z",
        "version": 1,
    }
    assert created.headers["location"] == "/api/tasks/TT-1"
    assert created.headers["etag"] == '"1"'

    read = await tracker.http.get("/api/tasks/TT-1", headers=tracker.auth)
    assert read.status_code == 200
    assert read.json() == task
    assert read.headers["etag"] == '"1"'

    tracker.clock.now += 90.5
    replaced = await tracker.http.put(
        "/api/tasks/TT-1", json={**body, "status": "done"}, headers=tracker.auth
    )
    assert replaced.status_code == 200
    assert replaced.json() == {
        **task,
        "status": "done",
        "updated_at": "2025-06-15T15:08:10.500000Z",
        "version": 2,
    }
    assert replaced.headers["etag"] == '"2"'

    deleted = await tracker.http.delete("/api/tasks/TT-1", headers=tracker.auth)
    assert deleted.status_code == 204
    assert deleted.content == b""
    gone = await tracker.http.get("/api/tasks/TT-1", headers=tracker.auth)
    _assert_problem(gone, 404, "There is no task TT-1")


async def test_a_task_with_only_a_title_gets_the_defaults(tracker: Tracker) -> None:
    """Only title is required: description "", status todo, the rest null."""
    task = await tracker.create(title="Call the printer")
    assert {k: task[k] for k in ("description", "status", "assignee", "due_date")} == {
        "description": "",
        "status": "todo",
        "assignee": None,
        "due_date": None,
    }
    assert task["external_ref"] is None


async def test_put_replaces_every_writable_field(tracker: Tracker) -> None:
    """PUT with only a title resets description, status, assignee, due_date and external_ref."""
    task = await tracker.create(
        title="Old",
        description="d",
        status="blocked",
        assignee="ada",
        due_date="2025-01-02",
        external_ref="ref-1",
    )
    response = await tracker.http.put(
        f"/api/tasks/{task['id']}", json={"title": "New"}, headers=tracker.auth
    )
    assert response.status_code == 200
    replaced = response.json()
    assert replaced["title"] == "New"
    assert replaced["description"] == ""
    assert replaced["status"] == "todo"
    assert replaced["assignee"] is None
    assert replaced["due_date"] is None
    assert replaced["external_ref"] is None
    assert replaced["created_at"] == task["created_at"]
    free = await tracker.http.post(
        "/api/tasks",
        json={"title": "Takes the freed ref", "external_ref": "ref-1"},
        headers=tracker.auth,
    )
    assert free.status_code == 201


async def test_ids_increase_and_are_never_reused(tracker: Tracker) -> None:
    """Ids are TT-1, TT-2, ...; a deleted task's id is not given out again."""
    first = await tracker.create(title="a")
    second = await tracker.create(title="b")
    assert (first["id"], second["id"]) == ("TT-1", "TT-2")
    await tracker.http.delete("/api/tasks/TT-2", headers=tracker.auth)
    assert (await tracker.create(title="c"))["id"] == "TT-3"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_an_unknown_task_is_404(tracker: Tracker, method: str) -> None:
    """GET, PUT and DELETE of a task that does not exist are 404 'There is no task TT-9'."""
    response = await tracker.http.request(
        method, "/api/tasks/TT-9", json={"title": "x"}, headers=tracker.auth
    )
    _assert_problem(response, 404, "There is no task TT-9")


# Validation ----------------------------------------------------------------------------

INVALID_BODIES = [
    ({"title": ""}, "title", "must not be empty"),
    ({"title": "x" * 201}, "title", "must be at most 200 characters"),
    ({}, "title", "is required"),
    ({"title": None}, "title", None),
    ({"title": 7}, "title", None),
    (
        {"title": "t", "status": "finished"},
        "status",
        "must be one of todo, in_progress, done, blocked",
    ),
    ({"title": "t", "due_date": "2025-02-30"}, "due_date", "must be a date as YYYY-MM-DD"),
    ({"title": "t", "due_date": "30/09/2025"}, "due_date", "must be a date as YYYY-MM-DD"),
    (
        {"title": "t", "due_date": "2025-09-30T10:00:00Z"},
        "due_date",
        "must be a date as YYYY-MM-DD",
    ),
    (
        {"title": "t", "description": "x" * 10_001},
        "description",
        "must be at most 10000 characters",
    ),
    ({"title": "t", "description": None}, "description", None),
    ({"title": "t", "assignee": "a" * 201}, "assignee", "must be at most 200 characters"),
    ({"title": "t", "external_ref": "r" * 201}, "external_ref", "must be at most 200 characters"),
    ({"title": "t", "external_ref": ""}, "external_ref", "must not be empty"),
    ({"title": "t", "priority": "high"}, "priority", "is not a known field"),
    ({"title": "t", "id": "TT-77"}, "id", "is set by the server"),
    ({"title": "t", "created_at": "2025-01-01T00:00:00Z"}, "created_at", "is set by the server"),
    ({"title": "t", "version": 3}, "version", "is set by the server"),
]


@pytest.mark.parametrize(("body", "field", "message"), INVALID_BODIES)
@pytest.mark.parametrize("method", ["POST", "PUT"])
async def test_an_invalid_task_body_is_422_naming_the_field(
    tracker: Tracker, method: str, body: dict[str, Any], field: str, message: str | None
) -> None:
    """Each invalid field of a POST or PUT body is named in a 422, and nothing is written."""
    existing = await tracker.create(title="existing")
    path = "/api/tasks" if method == "POST" else f"/api/tasks/{existing['id']}"
    response = await tracker.http.request(method, path, json=body, headers=tracker.auth)
    _assert_problem(response, 422, "The request is invalid; see errors.")
    errors = _errors(response)
    assert field in errors, errors
    if message is not None:
        assert errors[field] == message
    assert len(tracker.store) == 1
    assert (await tracker.store.get(existing["id"])).version == 1


async def test_every_bad_field_is_named_at_once(tracker: Tracker) -> None:
    """A body with several problems lists all of them, not only the first."""
    response = await tracker.http.post(
        "/api/tasks",
        json={"title": "", "status": "nope", "due_date": "soon", "owner": "x", "id": "TT-1"},
        headers=tracker.auth,
    )
    _assert_problem(response, 422)
    assert set(_errors(response)) == {"title", "status", "due_date", "owner", "id"}


async def test_the_longest_allowed_values_are_accepted(tracker: Tracker) -> None:
    """A 200-character title, assignee and external_ref and a 10,000-character description fit."""
    task = await tracker.create(
        title="t" * 200, description="d" * 10_000, assignee="a" * 200, external_ref="r" * 200
    )
    assert len(task["title"]) == 200


@pytest.mark.parametrize("body", [b"[]", b'"title"', b"null"])
async def test_a_body_that_is_not_an_object_is_422(tracker: Tracker, body: bytes) -> None:
    """A JSON body that is not an object is a 422 naming the body."""
    response = await tracker.http.post(
        "/api/tasks", content=body, headers={**tracker.auth, "content-type": "application/json"}
    )
    _assert_problem(response, 422)
    assert "body" in _errors(response)


async def test_a_body_that_is_not_json_is_400(tracker: Tracker) -> None:
    """Malformed JSON is a 400 problem."""
    response = await tracker.http.post(
        "/api/tasks",
        content=b'{"title": ',
        headers={**tracker.auth, "content-type": "application/json"},
    )
    _assert_problem(response, 400)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"status": "finished"}, "status"),
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
    ],
)
async def test_invalid_list_parameters_are_422_naming_them(
    tracker: Tracker, params: dict[str, Any], field: str
) -> None:
    """A bad status filter or a limit/offset out of range is a 422 naming the parameter."""
    response = await tracker.http.get("/api/tasks", params=params, headers=tracker.auth)
    _assert_problem(response, 422)
    assert field in _errors(response)


# Conflicts -----------------------------------------------------------------------------


async def test_creating_a_second_task_with_an_external_ref_is_409(tracker: Tracker) -> None:
    """external_ref is unique: a second create with it is a 409 naming it and its owner."""
    await tracker.create(title="first", external_ref="monday:42")
    response = await tracker.http.post(
        "/api/tasks", json={"title": "second", "external_ref": "monday:42"}, headers=tracker.auth
    )
    _assert_problem(response, 409)
    body = response.json()
    assert "monday:42" in body["detail"]
    assert body["existing_task_id"] == "TT-1"
    assert _errors(response) == {"external_ref": "is used by task TT-1"}
    assert (await tracker.list())["total"] == 1


async def test_updating_a_task_to_another_tasks_external_ref_is_409(tracker: Tracker) -> None:
    """PUT taking another task's external_ref is 409; keeping its own is fine."""
    await tracker.create(title="first", external_ref="ref-a")
    second = await tracker.create(title="second", external_ref="ref-b")
    taken = await tracker.http.put(
        f"/api/tasks/{second['id']}",
        json={"title": "second", "external_ref": "ref-a"},
        headers=tracker.auth,
    )
    _assert_problem(taken, 409)
    assert taken.json()["existing_task_id"] == "TT-1"
    kept = await tracker.http.put(
        f"/api/tasks/{second['id']}",
        json={"title": "renamed", "external_ref": "ref-b"},
        headers=tracker.auth,
    )
    assert kept.status_code == 200


async def test_a_deleted_tasks_external_ref_can_be_used_again(tracker: Tracker) -> None:
    """After DELETE, the task's external_ref is free for a new task."""
    task = await tracker.create(title="first", external_ref="ref-a")
    await tracker.http.delete(f"/api/tasks/{task['id']}", headers=tracker.auth)
    assert (await tracker.create(title="again", external_ref="ref-a"))["id"] == "TT-2"


async def test_a_stale_if_match_is_412(tracker: Tracker) -> None:
    """PUT with If-Match of an old version is 412 with current_version, and changes nothing."""
    task = await tracker.create(title="v1")
    path = f"/api/tasks/{task['id']}"
    await tracker.http.put(path, json={"title": "v2"}, headers=tracker.auth)
    stale = await tracker.http.put(
        path, json={"title": "lost update"}, headers={**tracker.auth, "If-Match": "1"}
    )
    _assert_problem(stale, 412)
    assert stale.json()["current_version"] == 2
    assert (await tracker.store.get(task["id"])).title == "v2"


@pytest.mark.parametrize("if_match", ["2", '"2"', "*"])
async def test_a_current_if_match_lets_the_put_through(tracker: Tracker, if_match: str) -> None:
    """If-Match with the current version (bare or quoted as the ETag) or * succeeds."""
    task = await tracker.create(title="v1")
    path = f"/api/tasks/{task['id']}"
    await tracker.http.put(path, json={"title": "v2"}, headers=tracker.auth)
    response = await tracker.http.put(
        path, json={"title": "v3"}, headers={**tracker.auth, "If-Match": if_match}
    )
    assert response.status_code == 200
    assert response.json()["version"] == 3


@pytest.mark.parametrize("if_match", ["two", 'W/"1"', "1, 2", "-1"])
async def test_a_malformed_if_match_is_422(tracker: Tracker, if_match: str) -> None:
    """An If-Match that is not a version number is a 422 naming If-Match."""
    task = await tracker.create(title="v1")
    response = await tracker.http.put(
        f"/api/tasks/{task['id']}",
        json={"title": "v2"},
        headers={**tracker.auth, "If-Match": if_match},
    )
    _assert_problem(response, 422)
    assert "If-Match" in _errors(response)


# Listing -------------------------------------------------------------------------------


async def test_filters_match_exactly_and_combine(tracker: Tracker) -> None:
    """status, assignee and external_ref filter exactly; together they must all match."""
    await tracker.create(title="a", status="todo", assignee="ada", external_ref="r1")
    await tracker.create(title="b", status="done", assignee="ada")
    await tracker.create(title="c", status="done", assignee="bob")
    await tracker.create(title="d", status="blocked")

    def titles(page: dict[str, Any]) -> list[str]:
        return [t["title"] for t in page["tasks"]]

    assert titles(await tracker.list(status="done")) == ["b", "c"]
    assert titles(await tracker.list(assignee="ada")) == ["a", "b"]
    assert titles(await tracker.list(external_ref="r1")) == ["a"]
    assert titles(await tracker.list(status="done", assignee="ada")) == ["b"]
    assert titles(await tracker.list(assignee="Ada")) == []
    none = await tracker.list(status="in_progress")
    assert none == {"tasks": [], "total": 0, "limit": 50, "offset": 0}


async def test_paging_is_in_creation_order_with_the_total(tracker: Tracker) -> None:
    """limit/offset page through tasks in creation order (TT-2 before TT-10); total counts all."""
    for n in range(12):
        await tracker.create(title=f"task {n}")
    await tracker.http.put("/api/tasks/TT-1", json={"title": "updated"}, headers=tracker.auth)
    everything = await tracker.list()
    assert [t["id"] for t in everything["tasks"]] == [f"TT-{n}" for n in range(1, 13)]
    page = await tracker.list(limit=5, offset=5)
    assert [t["id"] for t in page["tasks"]] == ["TT-6", "TT-7", "TT-8", "TT-9", "TT-10"]
    assert (page["total"], page["limit"], page["offset"]) == (12, 5, 5)
    beyond = await tracker.list(offset=100)
    assert beyond["tasks"] == []
    assert beyond["total"] == 12


async def test_the_default_page_is_50(tracker: Tracker) -> None:
    """Without limit a list returns 50 tasks; limit=200 returns up to 200."""
    for n in range(60):
        await tracker.store.create(TaskDraft(title=f"seeded {n}"))
    default = await tracker.list()
    assert (len(default["tasks"]), default["total"], default["limit"]) == (50, 60, 50)
    assert len((await tracker.list(limit=200))["tasks"]) == 60


async def test_a_seeded_store_is_served(tracker: Tracker) -> None:
    """Tasks put in the store directly (as other components' tests do) are served by the API."""
    seeded = await tracker.store.create(TaskDraft(title="seeded", external_ref="seed-1"))
    response = await tracker.http.get(f"/api/tasks/{seeded.id}", headers=tracker.auth)
    assert response.json()["external_ref"] == "seed-1"


# Concurrency ---------------------------------------------------------------------------


async def test_concurrent_creates_get_distinct_ids(tracker: Tracker) -> None:
    """50 concurrent POSTs all succeed with 50 distinct ids, and the list total is 50."""
    responses = await asyncio.gather(
        *(
            tracker.http.post("/api/tasks", json={"title": f"t{n}"}, headers=tracker.auth)
            for n in range(50)
        )
    )
    assert [r.status_code for r in responses] == [201] * 50
    ids = {r.json()["id"] for r in responses}
    assert ids == {f"TT-{n}" for n in range(1, 51)}
    assert (await tracker.list(limit=200))["total"] == 50


async def test_concurrent_creates_with_one_external_ref_make_one_task(tracker: Tracker) -> None:
    """20 concurrent creates with the same external_ref: exactly one 201 and nineteen 409s."""
    responses = await asyncio.gather(
        *(
            tracker.http.post(
                "/api/tasks", json={"title": f"t{n}", "external_ref": "same"}, headers=tracker.auth
            )
            for n in range(20)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert (await tracker.list(external_ref="same"))["total"] == 1


async def test_concurrent_puts_with_one_if_match_let_one_through(tracker: Tracker) -> None:
    """10 concurrent PUTs all sending If-Match 1: one 200, nine 412, and version 2."""
    task = await tracker.create(title="v1")
    responses = await asyncio.gather(
        *(
            tracker.http.put(
                f"/api/tasks/{task['id']}",
                json={"title": f"edit {n}"},
                headers={**tracker.auth, "If-Match": "1"},
            )
            for n in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [200] + [412] * 9
    assert (await tracker.store.get(task["id"])).version == 2


# Secrets -------------------------------------------------------------------------------


async def test_secrets_never_appear_in_responses_or_logs(tracker: Tracker) -> None:
    """The password, JWT secret and tokens are absent from every error body, header and log line."""
    expired_token = tracker.token
    with capture_logs() as logs:
        attempts = [
            await tracker.http.post(
                "/api/auth/login", json={"username": USERNAME, "password": PASSWORD + "!"}
            ),
            await tracker.http.post(
                "/api/auth/login", json={"username": PASSWORD, "password": PASSWORD}
            ),
            await tracker.http.post("/api/auth/login", json={"username": 1, "password": PASSWORD}),
            await tracker.http.post(
                "/api/auth/login",
                content=f'{{"username": "{USERNAME}", "password": "{PASSWORD}"'.encode(),
                headers={"content-type": "application/json"},
            ),
            await tracker.http.post(
                "/api/tasks",
                json={"title": "", "status": PASSWORD, "due_date": SECRET, "assignee": 1},
                headers=tracker.auth,
            ),
            await tracker.http.get("/api/tasks", params={"status": PASSWORD}, headers=tracker.auth),
            await tracker.http.get(
                "/api/tasks", headers={"Authorization": f"Bearer {PASSWORD}.{SECRET}.x"}
            ),
            await tracker.http.put(
                "/api/tasks/TT-1",
                json={"title": "x"},
                headers={**tracker.auth, "If-Match": PASSWORD},
            ),
        ]
        tracker.clock.now += TTL_S
        attempts.append(await tracker.http.get("/api/tasks", headers=tracker.auth))
    assert [a.status_code for a in attempts] == [401, 401, 422, 400, 422, 422, 401, 422, 401]
    for response in attempts:
        shown = response.text + json.dumps(dict(response.headers))
        for secret in (PASSWORD, SECRET, expired_token):
            assert secret not in shown, (response.request.url, shown)
    logged = json.dumps(logs, default=str)
    assert logs, "the failed login is logged"
    for secret in (PASSWORD, SECRET, expired_token):
        assert secret not in logged


# Docs and probes -----------------------------------------------------------------------


async def test_probes_answer(tracker: Tracker) -> None:
    """/healthz is ok and /readyz is always ready, without a token."""
    health = await tracker.http.get("/healthz")
    assert health.json() == {"status": "ok", "component": "tracker"}
    ready = await tracker.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ready"


async def test_openapi_documents_bearer_auth_and_examples(tracker: Tracker) -> None:
    """The OpenAPI document is titled 'Task Tracker (mock)', secures task routes, has examples."""
    document = (await tracker.http.get("/docs/openapi.json")).json()
    assert document["info"]["title"] == "Task Tracker (mock)"
    schemes = document["components"]["securitySchemes"]
    [(scheme_name, scheme)] = schemes.items()
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    paths = document["paths"]
    for path, method in [
        ("/api/tasks", "get"),
        ("/api/tasks", "post"),
        ("/api/tasks/{task_id}", "get"),
        ("/api/tasks/{task_id}", "put"),
        ("/api/tasks/{task_id}", "delete"),
    ]:
        assert paths[path][method]["security"] == [{scheme_name: []}], (path, method)
    assert "security" not in paths["/api/auth/login"]["post"]
    for path, method in [("/api/tasks", "post"), ("/api/auth/login", "post")]:
        body = paths[path][method]["requestBody"]["content"]["application/json"]
        assert body["schema"]["examples"], (path, method)
    page = await tracker.http.get("/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]


# Over real HTTP ------------------------------------------------------------------------


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # pytest owns the process's signals.
        yield


async def test_the_tracker_serves_over_real_http() -> None:
    """Served by uvicorn on 127.0.0.1, the tracker logs in, creates, lists and reads a task."""
    app = create_tracker_app(username=USERNAME, password=PASSWORD, jwt_secret=SECRET)
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = _Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", ws="none")
    )
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", timeout=10.0, trust_env=False
        ) as http:
            token = await _login(http)
            auth = {"Authorization": f"Bearer {token}"}
            created = await http.post(
                "/api/tasks",
                json={"title": "over the wire", "due_date": "2025-12-31"},
                headers=auth,
            )
            assert created.status_code == 201
            assert created.headers["location"] == "/api/tasks/TT-1"
            listed = await http.get("/api/tasks", headers=auth)
            assert listed.json()["total"] == 1
            read = await http.get(created.headers["location"], headers=auth)
            assert read.json()["due_date"] == "2025-12-31"
            refused = await http.get("/api/tasks")
            assert refused.status_code == 401
            assert refused.headers["www-authenticate"] == CHALLENGE
    finally:
        server.should_exit = True
        await task
        sock.close()
