"""``dataworkflows run | runs | logs``: start runs and follow them from a terminal.

They talk to a running engine over its API, as any client does: at ``--engine``, else
``DW_ENGINE_URL``, else ``http://127.0.0.1:8080`` (where ``dev`` listens), with the key
in ``DW_ENGINE_API_KEY``, else the first of ``DW_API_KEYS``, else the one ``dev`` keeps
in ``DW_DATA_DIR``. Inputs are ``key=value`` words typed by the workflow's declared
inputs (``count=3`` is a number, ``tags=["a","b"]`` a list), as ``/dw run`` types them.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final, TextIO
from urllib.parse import quote
from uuid import UUID

import httpx

from dataworkflows.composition.settings import Settings
from dataworkflows.contracts.runs import RUN_ID_START, format_duration
from dataworkflows.runtime.inputs import coerce_inputs, declared_inputs
from dataworkflows.runtime.problems import read_problem
from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["CliProblem", "EngineApi", "engine_target", "list_runs", "show_logs", "start_run"]

POLL_S: Final = 0.3
PREFIX_PAGES: Final = 5
RUNS_PAGE: Final = 200
"""The most runs the API gives in one page."""
"""At most this many pages of runs (of 200) are read to find the runs a prefix names."""
TIMEOUT_S: Final = 15.0
ENDED: Final = frozenset({"succeeded", "failed", "cancelled"})
EXIT_OK: Final = 0
EXIT_RUN_FAILED: Final = 1
EXIT_USAGE: Final = 2
MARKS: Final = {"succeeded": "✓", "failed": "✗", "skipped": "-", "waiting": "…", "cancelled": "✗"}


class CliProblem(Exception):
    """Something the user can fix, said in one line (with the exit status to use)."""

    def __init__(self, message: str, status: int = EXIT_RUN_FAILED) -> None:
        super().__init__(message)
        self.status = status


def engine_target(settings: Settings, url: str | None) -> tuple[str, str]:
    """(the engine's URL, the API key to send) from the option and the settings."""
    base = (url or settings.bot.engine_url).rstrip("/")
    key = settings.bot.engine_api_key or next(iter(settings.engine.api_keys), None)
    if key is None:
        kept = Path(settings.data_dir) / "api-key"
        if kept.is_file():
            key = kept.read_text(encoding="utf-8").strip() or None
    if not key:
        raise CliProblem(
            "no API key: set DW_ENGINE_API_KEY (or run this beside `dataworkflows dev`, "
            "whose key is kept in DW_DATA_DIR)",
            EXIT_USAGE,
        )
    return base, key


class EngineApi:
    """The engine's API over HTTP; every failure becomes a :class:`CliProblem`."""

    def __init__(self, url: str, key: str) -> None:
        self.url = url
        self._http = httpx.Client(
            base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=TIMEOUT_S
        )

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON answer of a 2xx; :class:`CliProblem` naming what went wrong."""
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise CliProblem(
                f"the engine at {self.url} does not answer ({type(exc).__name__}); is it "
                "running (`dataworkflows dev`)? Set DW_ENGINE_URL or --engine otherwise"
            ) from None
        if response.status_code == 401:
            raise CliProblem("the engine refused the API key (DW_ENGINE_API_KEY)", EXIT_USAGE)
        if response.status_code >= 400:
            raise CliProblem(_problem_text(response), _status_for(response.status_code))
        return response.json()


def _status_for(http_status: int) -> int:
    return EXIT_USAGE if http_status in (400, 404, 409, 413, 415, 422) else EXIT_RUN_FAILED


def _problem_text(response: httpx.Response) -> str:
    body = read_problem(response.content)
    detail = body.detail or body.title or f"the engine answered HTTP {response.status_code}"
    lines = [f"{e.field}: {e.message}" for e in body.errors]
    return "\n".join([detail, *(f"  - {line}" for line in lines)])


def parse_arguments(words: Sequence[str]) -> list[tuple[str, str]]:
    """``key=value`` words as pairs; :class:`CliProblem` for a word without ``=``."""
    pairs: list[tuple[str, str]] = []
    for word in words:
        key, sep, value = word.partition("=")
        if not sep or not key:
            raise CliProblem(f"inputs are key=value, got {word!r}", EXIT_USAGE)
        pairs.append((key, value))
    return pairs


def start_run(
    api: EngineApi, workflow: str, words: Sequence[str], *, follow_run: bool, out: TextIO
) -> int:
    """Start ``workflow`` with the ``key=value`` inputs; follow it to its end when asked.
    The exit status: 0 started (or succeeded), 1 failed or cancelled, 2 refused."""
    arguments = parse_arguments(words)
    definition = _check_workflow(api, workflow)
    inputs, problems = coerce_inputs(declared_inputs(definition), arguments)
    if problems:
        raise CliProblem(
            "the inputs are not right:\n"
            + "\n".join(f"  - {p.replace('`', '')}" for p in problems),
            EXIT_USAGE,
        )
    run = api.call(
        "POST",
        f"/v1/workflows/{quote(workflow, safe='')}/runs",
        json={"inputs": inputs, "trigger": {"source": "cli", "details": {"user": _user()}}},
    )
    print(f"Started run {run['id']} of {workflow} (version {run['version']}).", file=out)
    if not follow_run:
        print(f"Follow it with: dataworkflows logs {run['id']} --follow", file=out)
        return EXIT_OK
    return follow(api, run["id"], out=out, show_result=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def follow(api: EngineApi, run_id: str, *, out: TextIO, show_result: bool) -> int:
    """Print each step attempt as it ends, and the run's end; its exit status."""
    live = _Live(out)
    printed: set[tuple[str, int, int, str]] = set()
    events_seen = 0
    while True:
        detail = api.call("GET", f"/v1/runs/{run_id}")
        run = detail["run"]
        for attempt in detail["steps"]:
            key = (attempt["step_id"], attempt["iteration"], attempt["attempt"], attempt["status"])
            if key in printed or attempt["status"] in ("queued", "running"):
                continue
            printed.add(key)
            live.line(attempt_line(attempt, run))
        events_seen = len(detail["events"])
        if run["status"] in ENDED:
            live.clear()
            return _finish(run, out, show_result=show_result)
        running = [a["step_id"] for a in detail["steps"] if a["status"] == "running"]
        live.status(_status_text(run, running, events_seen))
        time.sleep(POLL_S)


def attempt_line(attempt: dict[str, Any], run: dict[str, Any]) -> str:
    """One step attempt of ``run`` as `logs` and `run --follow` print it."""
    name = attempt["step_id"]
    if attempt["iteration"] >= 0:
        name += f"[{attempt['iteration']}]"
    if attempt["attempt"] > 1:
        name += f" (attempt {attempt['attempt']})"
    status = attempt["status"]
    took = ""
    if attempt.get("duration_ms") is not None and status not in ("waiting", "skipped"):
        took = f" {format_duration(attempt['duration_ms'])}"
    line = f"  {MARKS.get(status, '?')} {name}  {attempt['action']}{took}"
    if status == "waiting" and run["status"] == "waiting":
        line += f"  waiting for {run.get('waiting_for') or 'a time'}"
    elif status == "waiting":  # the run went on: the next attempt is the resumed step
        line += "  waited"
    error = attempt.get("error")
    if error:
        line += f"\n      {error.get('code')}: {error.get('message')}"
    return line


def _status_text(run: dict[str, Any], running: list[str], events: int) -> str:
    if run["status"] == "waiting":
        return f"waiting for {run.get('waiting_for') or 'a time'}"
    if running:
        return f"running: {', '.join(sorted(set(running))[:4])}"
    return f"{run['status']} ({events} events)"


def _finish(run: dict[str, Any], out: TextIO, *, show_result: bool) -> int:
    took = f" in {format_duration(run['duration_ms'])}" if run.get("duration_ms") else ""
    print(f"Run {run['id']} {run['status']}{took}.", file=out)
    if show_result and run["status"] == "succeeded":
        print(json.dumps(run["output"], indent=2, ensure_ascii=False), file=out)
    if run.get("error"):
        error = run["error"]
        print(f"Error: {error.get('code')}: {error.get('message')}", file=out)
    return EXIT_OK if run["status"] == "succeeded" else EXIT_RUN_FAILED


class _Live:
    """A status line rewritten in place on a terminal (nothing elsewhere), under the
    lines that stay."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._tty = out.isatty()
        self._shown = False

    def line(self, text: str) -> None:
        self.clear()
        print(text, file=self._out, flush=True)

    def status(self, text: str) -> None:
        if self._tty:
            self._out.write(f"\r\033[K… {text}")
            self._out.flush()
            self._shown = True

    def clear(self) -> None:
        if self._shown:
            self._out.write("\r\033[K")
            self._shown = False


def _check_workflow(api: EngineApi, workflow: str) -> Any:
    """``workflow``'s definition; :class:`CliProblem` listing the workflows there are
    when the engine has none of that name."""
    try:
        return api.call("GET", f"/v1/workflows/{quote(workflow, safe='')}")["definition"]
    except CliProblem as problem:
        if problem.status == EXIT_USAGE and "401" not in str(problem):
            names = [w["name"] for w in api.call("GET", "/v1/workflows")["workflows"]]
            raise CliProblem(
                f"there is no workflow called {workflow!r}{did_you_mean(workflow, names)} "
                f"(there are: {', '.join(names)})",
                EXIT_USAGE,
            ) from None
        raise


def list_runs(
    api: EngineApi, *, workflow: str | None, status: str | None, limit: int, out: TextIO
) -> int:
    """Print the ``limit`` most recent runs, newest first, one a line (reading as many
    of the API's pages as that takes)."""
    params: dict[str, Any] = {}
    if workflow:
        params["workflow"] = workflow
    if status:
        params["status"] = status
    runs: list[dict[str, Any]] = []
    while len(runs) < limit:
        params["limit"] = min(RUNS_PAGE, limit - len(runs))
        page = api.call("GET", "/v1/runs", params=params)
        runs += page["runs"]
        if not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    if not runs:
        if workflow:
            _check_workflow(api, workflow)
        print("No runs.", file=out)
        return EXIT_OK
    print(f"{'RUN':36}  {'WORKFLOW':28}  {'STATUS':10}  {'CREATED':19}  TOOK", file=out)
    for run in runs:
        took = format_duration(run["duration_ms"]) if run.get("duration_ms") else ""
        print(
            f"{run['id']:36}  {run['workflow'][:28]:28}  {run['status']:10}  "
            f"{_local(run['created_at']):19}  {took}",
            file=out,
        )
    return EXIT_OK


def _local(stamp: str) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def resolve_run_id(api: EngineApi, text: str) -> str:
    """The run ``text`` names: a whole run id, or the start of exactly one run's id
    (as short as is unambiguous, like a git commit); :class:`CliProblem` otherwise."""
    given = text.strip().lower()
    try:
        return str(UUID(given))
    except ValueError:
        pass
    if not RUN_ID_START.fullmatch(given):
        raise CliProblem(
            f"{text!r} is not a run id: a run id looks like "
            "56aa47d5-4baf-4fc2-b8a9-54411ef04be0 (or its start); `dataworkflows runs` "
            "lists them",
            EXIT_USAGE,
        )
    # The API's text search matches the start of ids, and words of other fields too.
    found: list[str] = []
    params: dict[str, Any] = {"q": given, "limit": 200}
    for _ in range(PREFIX_PAGES):
        page = api.call("GET", "/v1/runs", params=params)
        found += [run["id"] for run in page["runs"] if run["id"].startswith(given)]
        if len(found) > 1 or not page.get("next_cursor"):
            break
        params["cursor"] = page["next_cursor"]
    if not found:
        raise CliProblem(f"there is no run whose id starts with {given}", EXIT_USAGE)
    if len(found) > 1:
        raise CliProblem(
            f"{given} is the start of several runs' ids ({', '.join(found[:3])}, ...); "
            "give more of it",
            EXIT_USAGE,
        )
    return found[0]


def show_logs(api: EngineApi, run_id: str, *, follow_run: bool, out: TextIO) -> int:
    """Print a run's header, its step attempts and its events (following it to its end
    when asked). ``run_id`` may be the start of the id (:func:`resolve_run_id`)."""
    detail = api.call("GET", f"/v1/runs/{resolve_run_id(api, run_id)}")
    run = detail["run"]
    print(
        f"Run {run['id']}  {run['workflow']} v{run['version']}  {run['status']}  "
        f"created {_local(run['created_at'])}  trigger {run['trigger'].get('source')}",
        file=out,
    )
    print("Events:", file=out)
    for event in detail["events"]:
        extra = event.get("detail") or {}
        shown = f"  {json.dumps(extra, ensure_ascii=False)}" if extra else ""
        print(f"  {_local(event['at'])}  {event['kind']}{shown}", file=out)
    print("Steps:", file=out)
    if follow_run and run["status"] not in ENDED:
        return follow(api, run["id"], out=out, show_result=True)
    for attempt in detail["steps"]:
        print(attempt_line(attempt, run), file=out)
    return _finish(run, out, show_result=True)
