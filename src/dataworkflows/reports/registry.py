"""Registering templates and projects: checked before stored, from the API or shipped files.

Shipped files live in the workflows directory: ``templates/<name>.j2`` (the file
``project-status.slack.j2`` is the template ``project-status.slack``) and
``projects.yaml`` (``projects: [{key, name, monday_board_ids, ...}]``). They are
registered at every start and it is harmless: an unchanged template keeps its version,
and what an operator changed through the API is not overwritten (a template version
registered later stays the latest; a project written through the API keeps its
fields). Invalid files are logged and skipped, like the engine's shipped workflows.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec
import yaml

from dataworkflows.reports.store import (
    PROJECT_KEY_PATTERN,
    ProjectFields,
    ProjectRegistration,
    ProjectSource,
    ReportStore,
    TemplateFormat,
    TemplateRegistration,
)
from dataworkflows.reports.summary import ReportOptions
from dataworkflows.reports.templates import (
    TemplateProblem,
    checksum_of,
    compile_template,
    format_of,
    load_template_files,
    name_problem,
)
from dataworkflows.runtime.logging import get_logger
from dataworkflows.runtime.problems import FieldError

__all__ = [
    "ProjectProblem",
    "ShippedRegistration",
    "project_fields",
    "register_project",
    "register_shipped",
    "register_template",
]

_log = get_logger(__name__)
_KEY_RE: Final = re.compile(PROJECT_KEY_PATTERN)


class ProjectProblem(Exception):
    """A project is not valid; ``errors`` name each field and what is wrong."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors


async def register_template(
    store: ReportStore, name: str, source: str, *, skip_known: bool = False
) -> tuple[TemplateFormat, TemplateRegistration]:
    """Check and store a template's source; (its format, the version it has now).

    Raises :class:`~dataworkflows.reports.templates.TemplateProblem` naming ``name``
    or ``source`` (with the line) when it is not valid.
    """
    problem = name_problem(name)
    if problem is not None:
        raise TemplateProblem([FieldError(field="name", message=problem)])
    fmt = format_of(name)
    # Compiling is CPU work on untrusted text (bounded by size and nesting): keep the
    # event loop free meanwhile.
    await asyncio.to_thread(compile_template, source, format=fmt, name=name)
    registration = await store.put_template(
        name=name, format=fmt, source=source, checksum=checksum_of(source), skip_known=skip_known
    )
    if registration.created:
        _log.info("template registered", template=name, version=registration.version)
    return fmt, registration


_UNKNOWN_FIELD_RE: Final = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")


def _validation_field(exc: msgspec.ValidationError, prefix: str) -> FieldError:
    # msgspec: "Expected `str`, got `int` - at `$.settings.timezone`"
    text = str(exc)
    message, sep, where = text.rpartition(" - at `$")
    if not sep:
        message, where = text, ""
    path = where.rstrip("`").lstrip(".")
    unknown = _UNKNOWN_FIELD_RE.match(message)
    if unknown:
        path = ".".join(part for part in (path, unknown.group("name")) if part)
        message = "is not a known field"
    joined = ".".join(part for part in (prefix, path) if part)
    return FieldError(field=joined or "body", message=message)


def project_fields(key: str, document: Any) -> ProjectFields:
    """A project's fields from a JSON/YAML document, with its settings checked.

    Raises :class:`ProjectProblem` naming each bad field.
    """
    errors: list[FieldError] = []
    if not _KEY_RE.match(key):
        errors.append(
            FieldError(
                field="key",
                message="must be lower-case letters, digits, - and _ (at most 63, e.g. apollo)",
            )
        )
    try:
        fields = msgspec.convert(document, ProjectFields)
    except msgspec.ValidationError as exc:
        raise ProjectProblem([*errors, _validation_field(exc, "")]) from None
    try:
        msgspec.convert(fields.settings, ReportOptions)
    except msgspec.ValidationError as exc:
        errors.append(_validation_field(exc, "settings"))
    if errors:
        raise ProjectProblem(errors)
    return fields


async def register_project(
    store: ReportStore, key: str, document: Any, *, source: ProjectSource = "api"
) -> ProjectRegistration:
    """Check and store a project; :class:`ProjectProblem` when it is not valid."""
    fields = project_fields(key, document)
    registration = await store.put_project(key, fields, source=source)
    if registration.changed:
        _log.info("project registered", project=key, created=registration.created)
    return registration


@dataclass
class ShippedRegistration:
    """What :func:`register_shipped` registered, and what it skipped and why."""

    templates: list[str] = field(default_factory=list)
    projects: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


async def register_shipped(store: ReportStore, directory: Path) -> ShippedRegistration:
    """Register ``directory/templates/*.j2`` and ``directory/projects.yaml``.

    Idempotent; invalid files or entries are logged and skipped, never raised.
    """
    result = ShippedRegistration()
    templates_dir = directory / "templates"
    if templates_dir.is_dir():
        for file in await asyncio.to_thread(load_template_files, templates_dir):
            if file.error is not None:
                _skip(result, "shipped template not registered", file.path, file.error)
                continue
            try:
                await register_template(store, file.name, file.source, skip_known=True)
            except TemplateProblem as problem:
                _skip(result, "shipped template not registered", file.path, str(problem))
                continue
            result.templates.append(file.name)
    projects_file = directory / "projects.yaml"
    if projects_file.is_file():
        for key, document, error in await asyncio.to_thread(_read_projects, projects_file):
            if error is not None:
                _skip(result, "shipped project not registered", projects_file, error)
                continue
            try:
                await register_project(store, key, document, source="shipped")
            except ProjectProblem as problem:
                _skip(result, "shipped project not registered", projects_file, f"{key}: {problem}")
                continue
            result.projects.append(key)
    return result


def _skip(result: ShippedRegistration, event: str, path: Path, problem: str) -> None:
    _log.error(event, file=str(path), problem=problem)
    result.problems.append(f"{path.name}: {problem}")


def _read_projects(path: Path) -> list[tuple[str, Any, str | None]]:
    """(key, the rest of the entry, what is wrong) per entry of a projects file."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [("", None, f"cannot read it: {' '.join(str(exc).split())}")]
    entries = document.get("projects") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        return [("", None, "expected a mapping with a list under 'projects'")]
    found: list[tuple[str, Any, str | None]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            found.append(("", None, f"projects[{index}]: expected a mapping with a 'key'"))
            continue
        rest = {k: v for k, v in entry.items() if k != "key"}
        found.append((entry["key"], rest, None))
    return found
