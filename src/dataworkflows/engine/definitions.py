"""The workflow definition format: YAML (or JSON) into msgspec structs.

Parsing checks the shape of a definition and reports every problem it can find,
each with its path (``steps[2].with.board_id``): each input and each step is checked
on its own, so one bad step does not hide the problems of the next. What needs the
connector catalogs (actions, their inputs) and the expressions is checked in
:mod:`dataworkflows.engine.validation`.

Example::

    name: board-digest
    description: Count a board's items per group.
    inputs:
      board_id: {type: string}
      limit: {type: integer, default: 100}
    timeout: 10m
    steps:
      - id: items
        uses: monday.list_items
        with: {board_id: "{{ inputs.board_id }}"}
        retry: {attempts: 5, initial_delay: 500ms, max_delay: 30s}
      - id: notify
        uses: slack.post_message
        if: "{{ steps.items.output.items | length > 0 }}"
        with:
          channel: C123
          text: "{{ steps.items.output.items | length }} items"
    output:
      count: "{{ steps.items.output.items | length }}"
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any, Final, Literal, cast

import msgspec
import yaml

from dataworkflows.runtime.limits import LimitExceeded, check_structure, check_yaml
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.struct_errors import field_problem

__all__ = [
    "INPUT_TYPES",
    "DefinitionError",
    "InputSpec",
    "RetryPolicy",
    "Step",
    "WorkflowDefinition",
    "canonical_checksum",
    "parse_definition",
    "parse_duration",
]

InputType = Literal["string", "integer", "number", "boolean", "list", "object"]
INPUT_TYPES: Final = ("string", "integer", "number", "boolean", "list", "object")

WORKFLOW_NAME_RE: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
IDENTIFIER_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_USES_RE: Final = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_DURATION_RE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}
MAX_STEPS: Final = 200
MAX_DURATION_S: Final = 30 * 24 * 3600.0
MAX_RETRY_WAIT_S: Final = 3600.0
"""No retry waits longer than an hour, whatever an upstream asks for."""


class DefinitionError(Exception):
    """A definition is invalid; ``problems`` lists every problem found, with its path."""

    def __init__(self, problems: list[FieldError]) -> None:
        super().__init__("; ".join(f"{p.field}: {p.message}" for p in problems))
        self.problems = problems


def parse_duration(value: float | int | str, *, field: str = "duration") -> float:
    """Seconds from ``0.5``, ``"500ms"``, ``"2s"``, ``"5m"``, ``"1h"`` or ``"2d"``."""
    if isinstance(value, bool):
        raise ValueError(
            f"{field} must be a number of seconds or a string like '500ms', '2s', '5m'"
        )
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION_RE.match(value)
        if match is None:
            raise ValueError(
                f"{field} must be a number of seconds or a string like '500ms', '2s', '5m', "
                f"got {value!r}"
            )
        seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds < 0:
        raise ValueError(f"{field} must not be negative")
    if not math.isfinite(seconds) or seconds > MAX_DURATION_S:
        raise ValueError(f"{field} must be at most 30 days")
    return seconds


Duration = float | int | str


class InputSpec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """A declared workflow input: its type, and whether it is required or has a default."""

    type: InputType = "string"
    description: str = ""
    required: bool | None = None
    """Default: required unless a default is given."""
    default: Any = msgspec.UNSET

    def __post_init__(self) -> None:
        if self.default is not msgspec.UNSET:
            if self.required:
                raise ValueError("an input with a default cannot be required")
            problem = type_problem(self.type, self.default)
            if problem:
                raise ValueError(f"default {problem}")

    @property
    def is_required(self) -> bool:
        """Whether a run must supply this input."""
        if self.required is not None:
            return self.required
        return self.default is msgspec.UNSET


def type_problem(expected: InputType, value: Any) -> str | None:
    """Why ``value`` is not of input type ``expected``, or None."""
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "list": isinstance(value, list),
        "object": isinstance(value, dict),
    }[expected]
    if ok:
        return None
    article = "an" if expected in ("integer", "object") else "a"
    return f"must be {article} {expected}, got {_json_type(value)}"


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


class RetryPolicy(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """How often and how patiently a failing step is tried again.

    ``attempts`` counts every try (1 = no retry). The n-th retry waits
    ``min(max_delay, initial_delay * 2**(n-1))`` plus up to ``jitter`` seconds, and at
    least the ``retry_after_s`` the connector asked for. Only errors the connector marks
    retryable are retried.
    """

    attempts: int = 3
    initial_delay: Duration = 1.0
    max_delay: Duration = 30.0
    jitter: Duration = 1.0

    def __post_init__(self) -> None:
        if not 1 <= self.attempts <= 100:
            raise ValueError("attempts must be between 1 and 100")
        initial = parse_duration(self.initial_delay, field="initial_delay")
        maximum = parse_duration(self.max_delay, field="max_delay")
        jitter = parse_duration(self.jitter, field="jitter")
        if maximum < initial:
            raise ValueError("max_delay must not be shorter than initial_delay")
        # Stored as seconds from here on, whatever the YAML said.
        msgspec.structs.force_setattr(self, "initial_delay", initial)
        msgspec.structs.force_setattr(self, "max_delay", maximum)
        msgspec.structs.force_setattr(self, "jitter", jitter)

    def delay(self, retry: int, *, jitter_fraction: float, retry_after_s: float | None) -> float:
        """Seconds to wait before retry number ``retry`` (1-based)."""
        initial, maximum, jitter = (
            float(cast(float, v)) for v in (self.initial_delay, self.max_delay, self.jitter)
        )
        backoff = min(maximum, initial * 2.0 ** (retry - 1))
        wait = backoff + jitter * jitter_fraction
        return min(max(wait, retry_after_s or 0.0), MAX_RETRY_WAIT_S)


class Step(
    msgspec.Struct,
    forbid_unknown_fields=True,
    kw_only=True,
    omit_defaults=True,
    rename={"with_": "with", "if_": "if"},
):
    """One step: a connector action called with ``with``, optionally per item."""

    id: str
    uses: str
    description: str = ""
    with_: dict[str, Any] = msgspec.field(default_factory=dict)
    if_: str | bool | dict[str, Any] | None = None
    """An expression, or ``all``/``any``/``not`` of them (see engine.conditions)."""
    foreach: str | list[Any] | None = None
    concurrency: int = 4
    retry: RetryPolicy = msgspec.field(default_factory=RetryPolicy)
    timeout: Duration | None = None
    on_error: Literal["fail", "continue"] = "fail"
    needs: list[str] | None = None
    """The steps this one waits for. Unset: the step before it (steps run in order);
    ``[]``: none, it starts with the run. Steps whose needs are met run concurrently."""

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not IDENTIFIER_RE.match(self.id):
            problems.append(
                f"id {self.id!r} must start with a letter or _ and hold only letters, digits "
                "and _ (it is used as steps.<id> in expressions)"
            )
        if not _USES_RE.match(self.uses):
            problems.append(
                f"uses {self.uses!r} must be <connector>.<action>, e.g. monday.list_items"
            )
        if not 1 <= self.concurrency <= 1000:
            problems.append("concurrency must be between 1 and 1000")
        if self.timeout is not None:
            try:
                timeout = parse_duration(self.timeout, field="timeout")
                if timeout <= 0:
                    raise ValueError("timeout must be positive")
            except ValueError as exc:
                problems.append(str(exc))
            else:
                msgspec.structs.force_setattr(self, "timeout", timeout)
        if problems:
            raise ValueError("; ".join(problems))

    @property
    def connector(self) -> str:
        """The connector part of ``uses``."""
        return self.uses.split(".", 1)[0]


class WorkflowDefinition(
    msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True
):
    """A whole workflow."""

    name: str
    description: str = ""
    inputs: dict[str, InputSpec] = msgspec.field(default_factory=dict)
    steps: list[Step] = msgspec.field(default_factory=list)
    output: Any = None
    timeout: Duration | None = None
    """The run's deadline, counted from its start."""

    @property
    def timeout_seconds(self) -> float | None:
        """``timeout`` in seconds."""
        return None if self.timeout is None else float(self.timeout)


class _Envelope(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: str
    description: str = ""
    inputs: dict[str, Any] = msgspec.field(default_factory=dict)
    steps: list[Any] = msgspec.field(default_factory=list)
    output: Any = None
    timeout: Duration | None = None


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses a key repeated in one mapping (YAML says it is an error)."""


def _construct_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in mapping:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} appears twice in one mapping", mark
            )
        mapping[key] = loader.construct_object(value_node, deep=True)
    return mapping


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    _construct_mapping,
)


def load_yaml(text: str) -> Any:
    """Parse YAML text; :class:`DefinitionError` (with line and column) when malformed or
    over a limit of :mod:`~dataworkflows.runtime.limits` (checked before it is built)."""
    try:
        check_yaml(text)
    except LimitExceeded as exc:
        raise DefinitionError([FieldError(field="(definition)", message=str(exc))]) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "(yaml)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise DefinitionError(
            [FieldError(field=where, message=f"invalid YAML: {problem}")]
        ) from None


def validation_problem(exc: msgspec.ValidationError, prefix: str, target: Any) -> FieldError:
    """A msgspec validation error, raised converting to ``target``, as the field it
    names (under ``prefix``) and its message, saying what ``target`` takes there."""
    path, message = field_problem(exc, target)
    field = ".".join(part for part in (prefix, path) if part) or "(definition)"
    return FieldError(field=field.replace(".[", "["), message=message)


def parse_definition(document: Any) -> WorkflowDefinition:
    """Check the shape of a definition (YAML text, or the already-parsed structure).

    Raises :class:`DefinitionError` listing every problem found.
    """
    data = load_yaml(document) if isinstance(document, str) else document
    try:
        check_structure(data, what="the definition")
    except LimitExceeded as exc:
        raise DefinitionError([FieldError(field="(definition)", message=str(exc))]) from None
    if not isinstance(data, dict):
        raise DefinitionError(
            [FieldError(field="(definition)", message="must be a mapping with name and steps")]
        )
    try:
        envelope = msgspec.convert(data, _Envelope, strict=False)
    except msgspec.ValidationError as exc:
        raise DefinitionError([validation_problem(exc, "", _Envelope)]) from None

    problems: list[FieldError] = []
    if not WORKFLOW_NAME_RE.fullmatch(envelope.name):
        problems.append(
            FieldError(
                field="name",
                message="must be 1-63 lower-case letters, digits, '-' or '_', starting with a "
                "letter or digit",
            )
        )
    timeout: float | None = None
    if envelope.timeout is not None:
        try:
            timeout = parse_duration(envelope.timeout, field="timeout")
            if timeout <= 0:
                raise ValueError("timeout must be positive")
        except ValueError as exc:
            problems.append(FieldError(field="timeout", message=str(exc)))

    inputs: dict[str, InputSpec] = {}
    for name, raw in envelope.inputs.items():
        if not IDENTIFIER_RE.match(str(name)):
            problems.append(
                FieldError(field=f"inputs.{name}", message="input names must be identifiers")
            )
            continue
        try:
            inputs[name] = msgspec.convert(raw if raw is not None else {}, InputSpec, strict=False)
        except msgspec.ValidationError as exc:
            problems.append(validation_problem(exc, f"inputs.{name}", InputSpec))

    steps: list[Step] = []
    if not envelope.steps:
        problems.append(FieldError(field="steps", message="a workflow needs at least one step"))
    if len(envelope.steps) > MAX_STEPS:
        problems.append(FieldError(field="steps", message=f"at most {MAX_STEPS} steps"))
    for index, raw in enumerate(envelope.steps):
        try:
            steps.append(msgspec.convert(raw, Step, strict=False))
        except msgspec.ValidationError as exc:
            problems.append(validation_problem(exc, f"steps[{index}]", Step))
    if problems:
        raise DefinitionError(problems)
    return WorkflowDefinition(
        name=envelope.name,
        description=envelope.description,
        inputs=inputs,
        steps=steps,
        output=envelope.output,
        timeout=timeout,
    )


def canonical_checksum(definition: WorkflowDefinition) -> str:
    """SHA-256 of the definition's canonical JSON: formatting and comments do not count."""
    encoded = msgspec.json.encode(msgspec.to_builtins(definition), order="sorted")
    return hashlib.sha256(encoded).hexdigest()
