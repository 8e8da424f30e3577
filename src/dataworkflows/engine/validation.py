"""Checking a definition against the connector catalogs, and compiling it for runs.

:func:`compile_workflow` reports every problem it finds, each with its path: unknown
connectors and actions, literal inputs that do not match the action's input schema,
references to unknown steps, to steps that have not ended by then (later ones, or,
with ``needs``, ones the step does not wait for) and to undeclared inputs, duplicate
ids, bad ``needs`` and steps that wait for each other, and expressions that do not
compile. Its result is what the executor runs, compiled once
per definition version.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from dataworkflows.contracts import ActionDescriptor
from dataworkflows.engine.conditions import ConditionError, condition_source
from dataworkflows.engine.definitions import (
    DefinitionError,
    RetryPolicy,
    Step,
    WorkflowDefinition,
)
from dataworkflows.engine.expressions import (
    CompiledValue,
    allowed_roots,
    compile_condition,
    compile_value,
)
from dataworkflows.engine.waiting import WAIT_ACTIONS
from dataworkflows.runtime.problems import FieldError
from dataworkflows.runtime.struct_errors import did_you_mean

__all__ = ["CompiledStep", "CompiledWorkflow", "compile_workflow"]


@dataclass(frozen=True, slots=True)
class CompiledStep:
    """A step ready to execute."""

    index: int
    id: str
    action: str
    with_: CompiledValue
    condition: CompiledValue | None
    foreach: CompiledValue | None
    concurrency: int
    retry: RetryPolicy
    timeout: float | None
    on_error: str
    needs: tuple[str, ...] = ()
    """The ids of the steps that must end before this one starts."""
    joins: bool = False
    """It declares ``needs``: when every step it needs was skipped, it is skipped too
    (a branch that did not run stays off; a join after branches runs)."""


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    """A definition version ready to execute."""

    name: str
    version: int
    definition: WorkflowDefinition
    steps: tuple[CompiledStep, ...]
    output: CompiledValue | None
    concurrent: bool = False
    """Some step declares ``needs``: steps run as a dependency graph, not in order."""

    @property
    def timeout_seconds(self) -> float | None:
        """The run deadline, in seconds from the run's start."""
        return self.definition.timeout_seconds


class _Checker:
    def __init__(
        self, definition: WorkflowDefinition, catalog: Mapping[str, ActionDescriptor] | None
    ) -> None:
        self.definition = definition
        self.catalog = catalog
        self.problems: list[FieldError] = []
        self.positions = {step.id: i for i, step in reversed(list(enumerate(definition.steps)))}
        self.graph = any(step.needs is not None for step in definition.steps)
        self.needs = self._needs()
        self.ancestors = self._ancestors()

    def _needs(self) -> list[tuple[str, ...]]:
        """Each step's direct dependencies: its ``needs``, or the step before it."""
        steps = self.definition.steps
        result: list[tuple[str, ...]] = []
        for index, step in enumerate(steps):
            if step.needs is None:
                result.append((steps[index - 1].id,) if index > 0 else ())
                continue
            needs: list[str] = []
            for position, name in enumerate(step.needs):
                at = f"steps[{index}].needs[{position}]"
                if name == step.id:
                    self.problem(at, f"a step cannot need itself ({name!r})")
                elif name not in self.positions:
                    self.problem(at, f"unknown step {name!r}")
                elif name in needs:
                    self.problem(at, f"{name!r} is listed twice")
                else:
                    needs.append(name)
            result.append(tuple(needs))
        return result

    def _ancestors(self) -> list[frozenset[str]] | None:
        """Every step each step transitively waits for; None (and a problem) on a cycle."""
        steps = self.definition.steps
        index_of = self.positions
        state: dict[int, str] = {}
        found: dict[int, frozenset[str]] = {}

        def visit(index: int, path: list[int]) -> frozenset[str] | None:
            if state.get(index) == "done":
                return found[index]
            if state.get(index) == "visiting":
                cycle = [steps[i].id for i in path[path.index(index) :]] + [steps[index].id]
                self.problem(
                    f"steps[{index}].needs", f"steps wait for each other: {' -> '.join(cycle)}"
                )
                return None
            state[index] = "visiting"
            collected: set[str] = set()
            for name in self.needs[index]:
                parent = index_of[name]
                above = visit(parent, [*path, index])
                if above is None:
                    return None
                collected.add(name)
                collected.update(above)
            state[index] = "done"
            found[index] = frozenset(collected)
            return found[index]

        for index in range(len(steps)):
            if visit(index, []) is None:
                return None
        return [found[i] for i in range(len(steps))]

    def problem(self, field: str, message: str) -> None:
        self.problems.append(FieldError(field=field, message=message))

    def references(
        self, value: CompiledValue, field: str, *, step_index: int | None, in_foreach: bool
    ) -> None:
        allowed = allowed_roots(in_foreach=in_foreach)
        for ref in sorted(value.references, key=lambda r: (r.root, r.attr or "")):
            if ref.attr is None:
                if ref.root not in allowed:
                    hint = (
                        " (item and index exist only in the with of a foreach step)"
                        if ref.root in ("item", "index")
                        else "; use inputs, steps or run"
                    )
                    self.problem(field, f"unknown name {ref.root!r}{hint}")
                continue
            if ref.root == "inputs" and ref.attr not in self.definition.inputs:
                self.problem(field, f"refers to undeclared input {ref.attr!r}")
            if ref.root == "steps":
                position = self.positions.get(ref.attr)
                if position is None:
                    self.problem(field, f"refers to unknown step {ref.attr!r}")
                elif step_index is not None and position == step_index:
                    self.problem(field, f"refers to its own step {ref.attr!r}")
                elif step_index is not None and not self.graph and position > step_index:
                    self.problem(field, f"refers to step {ref.attr!r}, which runs later")
                elif (
                    step_index is not None
                    and self.ancestors is not None
                    and ref.attr not in self.ancestors[step_index]
                ):
                    self.problem(
                        field,
                        f"refers to step {ref.attr!r}, which it does not wait for "
                        "(add it to needs)",
                    )

    def compile(self, raw: Any, field: str, *, condition: bool = False) -> CompiledValue | None:
        try:
            return compile_condition(raw) if condition else compile_value(raw)
        except ValueError as exc:
            self.problem(field, str(exc))
            return None

    def step(self, index: int, step: Step) -> CompiledStep | None:
        at = f"steps[{index}]"
        first = self.positions[step.id]
        if first != index:
            self.problem(f"{at}.id", f"duplicate id {step.id!r} (also steps[{first}])")
        descriptor = self.action(step, at)
        in_foreach = step.foreach is not None

        with_values: dict[str, CompiledValue] = {}
        for key, raw in step.with_.items():
            compiled = self.compile(raw, f"{at}.with.{key}")
            if compiled is not None:
                self.references(
                    compiled, f"{at}.with.{key}", step_index=index, in_foreach=in_foreach
                )
                with_values[key] = compiled
        if descriptor is not None:
            self.literal_inputs(step, with_values, descriptor, at)

        condition = None
        if step.if_ is not None:
            try:
                source = condition_source(step.if_)
            except ConditionError as exc:
                self.problem(f"{at}.if{exc.path}", str(exc))
                return None
            condition = self.compile(source, f"{at}.if", condition=True)
            if condition is not None:
                self.references(condition, f"{at}.if", step_index=index, in_foreach=False)
        foreach = None
        if step.foreach is not None and step.uses in WAIT_ACTIONS:
            self.problem(f"{at}.foreach", "a wait step waits once; it cannot use foreach")
        if step.foreach is not None:
            foreach = self.compile(step.foreach, f"{at}.foreach", condition=True)
            if foreach is not None:
                self.references(foreach, f"{at}.foreach", step_index=index, in_foreach=False)

        with_compiled = compile_value(step.with_) if len(with_values) == len(step.with_) else None
        if with_compiled is None or (step.if_ is not None and condition is None):
            return None
        if step.foreach is not None and foreach is None:
            return None
        return CompiledStep(
            index=index,
            id=step.id,
            action=step.uses,
            with_=with_compiled,
            condition=condition,
            foreach=foreach,
            concurrency=step.concurrency,
            retry=step.retry,
            timeout=None if step.timeout is None else float(step.timeout),
            on_error=step.on_error,
            needs=self.needs[index],
            joins=bool(step.needs),
        )

    def action(self, step: Step, at: str) -> ActionDescriptor | None:
        if self.catalog is None:
            return None
        descriptor = self.catalog.get(step.uses)
        if descriptor is not None:
            return descriptor
        connector = step.connector
        offered = sorted(n.split(".", 1)[1] for n in self.catalog if n.startswith(f"{connector}."))
        if offered:
            self.problem(
                f"{at}.uses",
                f"unknown action {step.uses!r}; {connector} offers: {', '.join(offered)}",
            )
        else:
            known = sorted({n.split(".", 1)[0] for n in self.catalog})
            self.problem(
                f"{at}.uses", f"unknown connector {connector!r}; known: {', '.join(known)}"
            )
        return None

    def literal_inputs(
        self,
        step: Step,
        values: Mapping[str, CompiledValue],
        descriptor: ActionDescriptor,
        at: str,
    ) -> None:
        """Check the literal part of ``with`` against the action's input schema."""
        literal = {k: v.literal for k, v in values.items() if v.is_literal}
        computed = {k for k, v in values.items() if not v.is_literal}
        validator = Draft202012Validator(descriptor.input_schema)
        for error in validator.iter_errors(literal):
            path = [str(p) for p in error.absolute_path]
            if error.validator == "required" and not path:
                missing = error.message.split("'")[1] if "'" in error.message else ""
                if missing in computed:
                    continue
                self.problem(f"{at}.with.{missing}", f"is required by {step.uses}")
                continue
            if error.validator == "additionalProperties" and not path:
                declared = _declared(descriptor.input_schema)
                for key in sorted(set(literal) - set(declared)):
                    self.problem(
                        f"{at}.with.{key}",
                        f"is not an input of {step.uses}{did_you_mean(key, declared)}",
                    )
                continue
            field = ".".join([f"{at}.with", *path]) if path else f"{at}.with"
            self.problem(field, error.message)


def _declared(schema: Mapping[str, Any]) -> set[str]:
    """Property names of an object schema, following a top-level $ref into $defs."""
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        schema = schema.get("$defs", {}).get(ref.removeprefix("#/$defs/"), {})
    properties = schema.get("properties", {})
    return set(properties) if isinstance(properties, dict) else set()


def compile_workflow(
    definition: WorkflowDefinition,
    *,
    catalog: Mapping[str, ActionDescriptor] | None,
    version: int = 0,
) -> CompiledWorkflow:
    """Check ``definition`` and compile it; :class:`DefinitionError` lists every problem.

    With ``catalog`` None the connector checks are skipped (a stored version that
    passed them when it was registered).
    """
    checker = _Checker(definition, catalog)
    steps = [checker.step(i, step) for i, step in enumerate(definition.steps)]
    output = None
    if definition.output is not None:
        output = checker.compile(definition.output, "output")
        if output is not None:
            checker.references(output, "output", step_index=None, in_foreach=False)
    if checker.problems:
        raise DefinitionError(checker.problems)
    assert all(s is not None for s in steps)
    return CompiledWorkflow(
        name=definition.name,
        version=version,
        definition=definition,
        steps=tuple(s for s in steps if s is not None),
        output=output,
        concurrent=checker.graph,
    )
