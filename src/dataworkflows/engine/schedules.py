"""Schedules: a workflow started on a cron calendar, in a time zone.

A schedule names a workflow, a cron expression (five fields, or a macro such as
``@hourly``), an IANA time zone and the run's inputs. Each *tick* (an instant the
expression names in that zone) starts one run whose idempotency key is the tick's
identity, ``schedule:<name>:<tick in UTC>``: however many engines see the tick, the
database keeps one run for it.

Daylight-saving changes follow Debian's cron, as cronsim (the cron library, written
for Healthchecks) implements it: a time that a spring-forward skips fires right after
the change; a time that a fall-back repeats fires once.

Ticks missed while no engine ran are handled as the schedule says (``missed``):
``skip`` them, run ``once`` (for the latest of them), or run ``each`` of them (the
latest ``missed_limit``). A tick counts as missed when it is more than
:data:`ON_TIME_S` old by the time an engine sees it; an engine on time runs it
whatever the policy.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Final, Literal
from uuid import UUID, uuid5
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
from cronsim import CronSim, CronSimError

from dataworkflows.engine.definitions import DefinitionError, validation_problem
from dataworkflows.runtime.limits import LimitExceeded, check_structure
from dataworkflows.runtime.problems import FieldError

__all__ = [
    "MACROS",
    "ON_TIME_S",
    "Calendar",
    "FirePlan",
    "MissedPolicy",
    "ScheduleSpec",
    "parse_schedule",
    "plan_ticks",
    "schedule_key",
    "sealing_id",
    "tick_key",
]

MissedPolicy = Literal["skip", "once", "each"]

ON_TIME_S: Final = 60.0
"""A tick seen at most this late runs whatever ``missed`` says: the engine was merely
busy, not stopped."""
MAX_MISSED_LIMIT: Final = 100
SCHEDULE_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
MAX_CRON_CHARS: Final = 200
MAX_ZONE_CHARS: Final = 64

MACROS: Final = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
"""Vixie cron's macros, as the five fields each stands for (cronsim takes fields only)."""

# How far back to look for missed ticks, widened until enough are found; ticks older
# than the widest window are dropped (a schedule stopped for years starts afresh).
_LOOKBACK: Final = (
    timedelta(hours=2),
    timedelta(days=2),
    timedelta(days=64),
    timedelta(days=4 * 366),
)
_SCAN_LIMIT: Final = 20_000
"""Ticks looked at per window at most: the work of one plan stays bounded."""

_SCHEDULES_NS: Final = UUID("6f2d1c8e-3b1a-4d5e-9a77-5d3c2b1a0f9e")


class ScheduleSpec(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A schedule as declared in ``schedules.yaml`` or sent to ``PUT /v1/schedules/{name}``."""

    name: str
    workflow: str
    cron: str
    timezone: str = "UTC"
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    missed: MissedPolicy = "once"
    missed_limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_MISSED_LIMIT)] = 10
    description: str = ""
    paused: bool | None = None
    """None: as it is (new schedules start unpaused)."""

    def checksum_fields(self) -> dict[str, Any]:
        """What makes two declarations the same schedule (pausing is state, not shape)."""
        fields = msgspec.to_builtins(self)
        fields.pop("paused", None)
        return dict(fields)


@dataclasses.dataclass(frozen=True, slots=True)
class Calendar:
    """A checked cron expression in a time zone: the instants it names."""

    expression: str
    zone: ZoneInfo

    @classmethod
    def parse(cls, expression: str, timezone: str) -> Calendar:
        """The calendar, or :class:`DefinitionError` naming ``cron`` or ``timezone``."""
        problems: list[FieldError] = []
        zone: ZoneInfo | None = None
        try:
            zone = ZoneInfo(timezone) if 0 < len(timezone) <= MAX_ZONE_CHARS else None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            zone = None
        if zone is None:
            problems.append(
                FieldError(
                    field="timezone",
                    message=f"{timezone[:80]!r} is not an IANA time zone "
                    "(e.g. 'Europe/Berlin', 'UTC')",
                )
            )
        fields = _expand(expression)
        if isinstance(fields, FieldError):
            problems.append(fields)
        if problems:
            raise DefinitionError(problems)
        assert zone is not None
        assert isinstance(fields, str)
        calendar = cls(fields, zone)
        try:
            calendar.after(datetime.now(UTC))
        except StopIteration:
            raise DefinitionError(
                [FieldError(field="cron", message="never fires (no date matches it)")]
            ) from None
        return calendar

    def after(self, instant: datetime) -> datetime:
        """The first tick strictly after ``instant``, in UTC."""
        return next(self._ticks(instant))

    def explain(self) -> str:
        """The expression in words ("At 09:00 on Monday")."""
        try:
            return str(CronSim(self.expression, datetime.now(self.zone)).explain())
        except Exception:  # an explanation is a courtesy; it must never fail a request
            return self.expression

    def upcoming(self, instant: datetime, count: int) -> list[datetime]:
        """The next ``count`` ticks after ``instant``, in UTC."""
        ticks = self._ticks(instant)
        return [next(ticks) for _ in range(count)]

    def _ticks(self, instant: datetime) -> Iterator[datetime]:
        for tick in CronSim(self.expression, instant.astimezone(self.zone)):
            yield tick.astimezone(UTC)

    def between(self, start: datetime, end: datetime) -> tuple[list[datetime], bool]:
        """Ticks in [start, end], oldest first, and whether all were seen (at most
        :data:`_SCAN_LIMIT` are)."""
        found: list[datetime] = []
        for tick in self._ticks(start - timedelta(microseconds=1)):
            if tick > end:
                return found, True
            if len(found) >= _SCAN_LIMIT:
                return found, False
            found.append(tick)
        return found, True  # pragma: no cover - cron calendars do not end


def _expand(expression: str) -> str | FieldError:
    """The five fields of ``expression`` (macros expanded), or the problem with it."""
    text = " ".join(expression.split())
    if len(text) > MAX_CRON_CHARS:
        return FieldError(field="cron", message=f"is longer than {MAX_CRON_CHARS} characters")
    if text.startswith("@"):
        fields = MACROS.get(text.lower())
        if fields is None:
            known = ", ".join(MACROS)
            return FieldError(field="cron", message=f"{text!r} is not a macro; known: {known}")
        return fields
    if len(text.split(" ")) != 5:
        return FieldError(
            field="cron",
            message="needs five fields (minute hour day-of-month month day-of-week), "
            "e.g. '0 9 * * MON', or a macro such as '@hourly'",
        )
    try:
        CronSim(text, datetime(2000, 1, 1, tzinfo=UTC))
    except CronSimError as exc:
        return FieldError(field="cron", message=f"{text!r}: {str(exc).lower()}")
    return text


@dataclasses.dataclass(frozen=True, slots=True)
class FirePlan:
    """What to do about a schedule that is due."""

    ticks: list[datetime]
    """Ticks to start a run for, oldest first."""
    skipped: int
    """Missed ticks not run (counted within the lookback)."""
    next_fire_at: datetime
    """The first tick after now: when to look again."""


def plan_ticks(
    calendar: Calendar,
    *,
    due: datetime,
    now: datetime,
    missed: MissedPolicy,
    limit: int,
) -> FirePlan:
    """The ticks to run for a schedule due since ``due`` (its stored next fire time).

    Ticks within :data:`ON_TIME_S` of ``now`` run; older ones are missed, and run as
    ``missed`` says: none, the latest one (unless an on-time tick runs anyway), or the
    latest ``limit``.
    """
    next_fire_at = calendar.after(now)
    if due > now:
        return FirePlan([], 0, due)
    on_time_from = now - timedelta(seconds=ON_TIME_S)
    wanted = {"skip": 0, "once": 1, "each": limit}[missed]
    ticks: list[datetime] = []
    for window in _LOOKBACK:
        start = max(due, now - window)
        ticks, complete = calendar.between(start, now)
        late = [t for t in ticks if t < on_time_from]
        if start == due or len(late) >= wanted or not complete:
            break
    late = [t for t in ticks if t < on_time_from]
    on_time = [t for t in ticks if t >= on_time_from]
    if missed == "skip" or (missed == "once" and on_time):
        chosen: list[datetime] = []
    else:
        chosen = late[-wanted:]
    return FirePlan(
        ticks=chosen + on_time, skipped=len(late) - len(chosen), next_fire_at=next_fire_at
    )


def parse_schedule(document: Any, *, name: str | None = None) -> tuple[ScheduleSpec, Calendar]:
    """A schedule declaration checked: its shape, name, cron expression and time zone.

    ``name`` is the schedule's name when it comes from elsewhere (the URL). Raises
    :class:`DefinitionError` listing every problem, each naming its field.
    """
    try:
        check_structure(document, what="the schedule")
    except LimitExceeded as exc:
        raise DefinitionError([FieldError(field="(schedule)", message=str(exc))]) from None
    if not isinstance(document, dict):
        raise DefinitionError(
            [FieldError(field="(schedule)", message="must be a mapping with workflow and cron")]
        )
    nul = _first_nul(document, "")
    if nul is not None:
        # PostgreSQL text cannot hold NUL; no schedule needs one.
        raise DefinitionError(
            [FieldError(field=nul or "(schedule)", message="holds a NUL character")]
        )
    if name is not None:
        if "name" in document and document["name"] != name:
            raise DefinitionError(
                [
                    FieldError(
                        field="name",
                        message=f"is {str(document['name'])[:80]!r} but the URL says {name!r}",
                    )
                ]
            )
        document = {**document, "name": name}
    try:
        spec = msgspec.convert(document, ScheduleSpec, strict=False)
    except msgspec.ValidationError as exc:
        raise DefinitionError([validation_problem(exc, "", ScheduleSpec)]) from None
    problems: list[FieldError] = []
    if not SCHEDULE_NAME_RE.fullmatch(spec.name):
        problems.append(
            FieldError(
                field="name",
                message="must be 1-63 lower-case letters, digits, '-' or '_', starting with a "
                "letter or digit",
            )
        )
    calendar: Calendar | None = None
    try:
        calendar = Calendar.parse(spec.cron, spec.timezone)
    except DefinitionError as exc:
        problems.extend(exc.problems)
    if problems:
        raise DefinitionError(problems)
    assert calendar is not None
    return spec, calendar


def _first_nul(value: Any, path: str) -> str | None:
    """The path of the first string (key or value) holding a NUL character, if any."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}".lstrip(".") if isinstance(key, str) else path
            if isinstance(key, str) and "\x00" in key:
                return path or "(schedule)"
            found = _first_nul(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _first_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def tick_key(schedule: str, tick: datetime) -> str:
    """The idempotency key of a tick's run: the same on every engine."""
    return f"schedule:{schedule}:{tick.astimezone(UTC).isoformat()}"


def schedule_key(schedule: str) -> str:
    """The prefix every run of ``schedule`` has as its idempotency key."""
    return f"schedule:{schedule}:"


def sealing_id(schedule: str) -> UUID:
    """The id a schedule's secret inputs are sealed under (as a run's are under its id)."""
    return uuid5(_SCHEDULES_NS, schedule)
