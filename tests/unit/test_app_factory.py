"""The app factory every component shares: probes, problem details, request ids."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import msgspec
import psycopg
import pytest
from litestar import get, post
from litestar.params import JSONBody
from litestar.testing import TestClient

from dataworkflows.runtime import problems
from dataworkflows.runtime.app import create_app
from dataworkflows.runtime.logging import configure_logging
from dataworkflows.runtime.problems import FieldError, Problem, new_request_id


class Order(msgspec.Struct):
    """A request body for validation tests."""

    quantity: int
    name: str


@get("/boom", sync_to_thread=False)
def boom() -> None:
    """A handler with a bug."""
    raise RuntimeError("database password is hunter2")


@get("/db-down", sync_to_thread=False)
def db_down() -> None:
    """A handler whose database went away."""
    raise psycopg.OperationalError("connection to server at 10.0.0.5 failed: password=hunter2")


@get("/teapot", sync_to_thread=False)
def teapot() -> None:
    """A handler that refuses with a problem of its own."""
    raise Problem(
        422,
        "The order is invalid.",
        errors=[FieldError(field="steps[2].with.board_id", message="must be a string")],
    )


@post("/orders", sync_to_thread=False)
def create_order(data: JSONBody[Order]) -> Order:
    """Echo a validated body."""
    return data


async def ready() -> str | None:
    return None


async def not_ready() -> str | None:
    return "2 migration(s) pending: 0002_a.sql, 0003_b.sql"


async def hanging() -> str | None:
    await asyncio.sleep(60)
    return None


async def broken() -> str | None:
    raise ConnectionError("no route")


def client(**kwargs: Any) -> TestClient[Any]:
    handlers = [boom, teapot, create_order, db_down]
    app = create_app(component="test", route_handlers=handlers, **kwargs)
    return TestClient(app, raise_server_exceptions=False)


def test_healthz_answers_while_alive() -> None:
    """/healthz says ok and names the component."""
    with client() as c:
        response = c.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "component": "test"}


def test_readyz_ok_lists_every_check() -> None:
    """/readyz is 200 with each check's result when all pass."""
    with client(readiness={"database": ready, "migrations": ready}) as c:
        response = c.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "migrations": "ok"}


def test_readyz_503_gives_the_reason() -> None:
    """/readyz is a 503 problem naming the failing check and why."""
    with client(readiness={"database": ready, "migrations": not_ready}) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail"] == "migrations: 2 migration(s) pending: 0002_a.sql, 0003_b.sql"
    assert body["checks"]["database"] == "ok"


def test_readyz_never_hangs_or_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """A check that hangs times out and one that raises is reported, both as 503."""
    monkeypatch.setattr("dataworkflows.runtime.app.READINESS_TIMEOUT_S", 0.05)
    with client(readiness={"slow": hanging, "broken": broken}) as c:
        response = c.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["slow"].startswith("no answer within")
    assert checks["broken"] == "check failed (ConnectionError)"


def test_unknown_route_is_a_problem_document_with_request_id() -> None:
    """A 404 is RFC 9457 JSON with a request id that matches the response header."""
    with client() as c:
        response = c.get("/nowhere")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert {"type", "title", "status", "detail", "instance", "request_id"} <= body.keys()
    assert body["status"] == 404
    assert body["instance"] == "/nowhere"
    assert response.headers["x-request-id"] == body["request_id"]


BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def test_a_browser_gets_a_page_for_an_address_nothing_answers() -> None:
    """A person's browser (HTML first in Accept) gets a small page for a 404 outside
    the API; API clients, and any path under /v1/, keep the problem document."""
    with client() as c:
        page = c.get("/runs/123", headers={"Accept": BROWSER_ACCEPT})
        api = c.get("/v1/nowhere", headers={"Accept": BROWSER_ACCEPT})
        script = c.get("/runs/123", headers={"Accept": "application/json"})
    assert page.status_code == 404
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<h1>Not found</h1>" in page.text
    assert page.headers["content-security-policy"] == "default-src 'none'"
    for answer in (api, script):
        assert answer.status_code == 404
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_callers_request_id_is_echoed() -> None:
    """A safe X-Request-ID from the caller is kept; an unsafe one is replaced."""
    with client() as c:
        kept = c.get("/healthz", headers={"X-Request-ID": "abc-123"})
        replaced = c.get("/teapot", headers={"X-Request-ID": "evil value <script>"})
    assert kept.headers["x-request-id"] == "abc-123"
    assert replaced.headers["x-request-id"] != "evil value <script>"
    assert replaced.json()["request_id"] == replaced.headers["x-request-id"]


def test_new_request_ids_are_distinct_even_across_a_fork() -> None:
    """Request ids are 32 hex characters and never repeat in a process; what a forked
    child runs (``_reseed``, registered with ``os.register_at_fork``) starts it on
    ids of its own."""
    ids = [new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    before = new_request_id()
    problems._reseed()
    after = new_request_id()
    assert after[:20] != before[:20]
    assert after[20:] == "0" * 12


def test_unexpected_error_reveals_nothing() -> None:
    """A bug gives a 500 problem without the exception text (it may hold secrets)."""
    with client() as c:
        response = c.get("/boom")
    assert response.status_code == 500
    assert "hunter2" not in response.text
    assert "Traceback" not in response.text
    assert response.json()["request_id"]


def test_problem_keeps_field_errors() -> None:
    """A Problem raised by a handler keeps its status and field paths."""
    with client() as c:
        response = c.get("/teapot")
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "steps[2].with.board_id", "message": "must be a string"}
    ]


def test_invalid_body_names_the_field() -> None:
    """A body that fails validation is a 400 problem whose errors name the field."""
    with client() as c:
        response = c.post("/orders", json={"quantity": "many", "name": "x"})
    assert response.status_code == 400
    body = response.json()
    assert any("quantity" in e["field"] or "quantity" in e["message"] for e in body["errors"])


def test_logs_are_json_with_request_id_and_no_secrets(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each request logs one JSON line carrying its request id; secret fields are redacted."""
    configure_logging(level="info", fmt="json")
    try:
        with client() as c:
            c.get("/teapot", headers={"X-Request-ID": "req-42"})
        logging.getLogger("test").info("login", extra={"password": "hunter2"})
        lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line]
    finally:
        logging.getLogger().handlers.clear()
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert request_lines
    assert request_lines[-1]["request_id"] == "req-42"
    assert request_lines[-1]["status"] == 422
    login = next(line for line in lines if line.get("event") == "login")
    assert login["password"] == "***"


@pytest.mark.parametrize(("level", "shown"), [("info", False), ("debug", True)])
def test_uvicorns_start_narration_shows_only_at_debug(
    capsys: pytest.CaptureFixture[str], level: str, shown: bool
) -> None:
    """`dev` serves several apps: uvicorn's 'Started server process' lines are debug
    noise, while its warnings and errors still show."""
    configure_logging(level=level, fmt="json")
    try:
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_log.info("Started server process [%d]", 42)
        uvicorn_log.info("Application startup complete.")
        uvicorn_log.error("Exception in ASGI application")
        events = [
            json.loads(line)["event"] for line in capsys.readouterr().err.splitlines() if line
        ]
    finally:
        logging.getLogger().handlers.clear()
    narration = ["Started server process [42]", "Application startup complete."]
    assert (events[:2] == narration) is shown
    assert events[-1] == "Exception in ASGI application"


def test_an_unreachable_database_is_503_with_retry_after() -> None:
    """A lost database connection is a 503 to retry, revealing nothing of the error."""
    with client() as c:
        response = c.get("/db-down")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert "hunter2" not in response.text
    assert "10.0.0.5" not in response.text


def test_logs_mask_configured_secrets_even_in_tracebacks(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A configured secret never reaches the log, not even inside an exception's text."""
    configure_logging(level="info", fmt="json", secrets=["service-token-0123456789"])
    try:
        try:
            raise RuntimeError("upstream said: bad token service-token-0123456789")
        except RuntimeError:
            logging.getLogger("test").exception("call failed with service-token-0123456789")
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
    assert "service-token-0123456789" not in err
    assert "bad token ***" in err
