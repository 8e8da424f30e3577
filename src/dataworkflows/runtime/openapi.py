"""Make the generated OpenAPI document say what the API really answers.

Litestar documents what each handler declares. Some answers come from elsewhere and
hold for every operation alike, so they are added here, once, after generation:

- every error is an RFC 9457 problem document (``application/problem+json``),
  including the 400 Litestar documents for invalid parameters as plain JSON;
- an operation that needs the API key can answer 401;
- an operation that reads the database can answer 503 while it is unreachable;
- a request body struct that refuses unknown fields says so
  (``additionalProperties: false``), so clients know extras are an error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Final

import msgspec
from litestar import Litestar
from litestar._openapi.plugin import OpenAPIPlugin
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    RequestBody,
    Schema,
)

from dataworkflows.runtime.problems import PROBLEM_MEDIA_TYPE

__all__ = ["complete_openapi", "complete_when_built", "struct_schema"]

_METHODS: Final = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_PROBLEM_SCHEMA: Final = Reference(ref="#/components/schemas/ProblemDocument")
_GENERIC: Final = {
    400: "Invalid parameters or body; `errors` lists each field and problem",
    401: "Missing or invalid API key",
    415: "The body is not JSON and was not sent as application/json",
    503: "A dependency (the database, a connector) is not reachable right now; retry "
    "after `Retry-After` seconds",
}


def _problem(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={PROBLEM_MEDIA_TYPE: OpenAPIMediaType(schema=_PROBLEM_SCHEMA)},
    )


def _takes_json(operation: Operation) -> bool:
    """Whether the operation's body is JSON (a body of another type is a 415)."""
    body = operation.request_body
    return isinstance(body, RequestBody) and "application/json" in (body.content or {})


def _operations(schema: OpenAPI) -> Iterator[tuple[str, Operation]]:
    for path, item in (schema.paths or {}).items():
        for method in _METHODS:
            operation = getattr(item, method, None)
            if isinstance(operation, Operation):
                yield path, operation


def _struct_classes() -> dict[str, type[msgspec.Struct]]:
    found: dict[str, type[msgspec.Struct]] = {}
    pending: list[type[Any]] = [msgspec.Struct]
    while pending:
        cls = pending.pop()
        for sub in cls.__subclasses__():
            found.setdefault(sub.__name__, sub)
            pending.append(sub)
    return found


def complete_openapi(schema: OpenAPI, *, database_prefix: str = "/v1") -> None:
    """Add the answers every operation shares to ``schema`` (in place); see the module."""
    if schema.components is None or not schema.components.schemas:
        return
    has_problem = "ProblemDocument" in schema.components.schemas
    for path, operation in _operations(schema):
        responses = operation.responses or {}
        operation.responses = responses
        if not has_problem:
            continue
        takes_input = bool(operation.parameters or operation.request_body)
        wanted = {
            400: takes_input,
            401: bool(operation.security),
            415: _takes_json(operation),
            503: path.startswith(database_prefix),
        }
        for code, applies in wanted.items():
            if applies and str(code) not in responses:
                responses[str(code)] = _problem(_GENERIC[code])
        # Every error is a problem document, whoever documented it first.
        for status, response in list(responses.items()):
            if status.isdigit() and int(status) >= 400 and isinstance(response, OpenAPIResponse):
                content = response.content or {}
                if PROBLEM_MEDIA_TYPE not in content:
                    responses[status] = _problem(_GENERIC.get(int(status), response.description))
    structs = _struct_classes()
    for name, component in schema.components.schemas.items():
        cls = structs.get(name)
        if cls is None:
            continue
        if cls.__struct_config__.forbid_unknown_fields:
            component.additional_properties = False
        # Constraints on mapping keys (a dict of names): Litestar leaves them out.
        fields = _inline(msgspec.json.schema(cls)).get("properties", {})
        for field, field_schema in fields.items():
            for option in [field_schema, *field_schema.get("anyOf", [])]:
                keys = option.get("propertyNames")
                if keys and component.properties and field in component.properties:
                    _add_key_constraint(component.properties[field], _to_schema(keys))


def _add_key_constraint(target: Schema | Reference, keys: Schema) -> None:
    if isinstance(target, Schema):
        if target.type == OpenAPIType.OBJECT:
            target.property_names = keys
        for option in target.one_of or target.any_of or []:
            _add_key_constraint(option, keys)


_KEYWORDS: Final = {
    "maxLength": "max_length",
    "minLength": "min_length",
    "maxItems": "max_items",
    "minItems": "min_items",
    "minimum": "minimum",
    "maximum": "maximum",
    "pattern": "pattern",
    "enum": "enum",
    "format": "format",
    "title": "title",
    "description": "description",
    "default": "default",
    "required": "required",
}


def struct_schema(cls: type[msgspec.Struct], **replace: type[msgspec.Struct]) -> Schema:
    """The OpenAPI schema of a request body struct, from msgspec's own JSON Schema (so
    it says exactly what decoding the body into ``cls`` checks). ``replace`` gives the
    struct a free-form field is checked against afterwards (``settings=ReportOptions``)."""
    schema = _to_schema(_inline(msgspec.json.schema(cls)))
    for field, struct in replace.items():
        assert schema.properties is not None
        schema.properties[field] = _to_schema(_inline(msgspec.json.schema(struct)))
    return schema


def _inline(document: dict[str, Any]) -> dict[str, Any]:
    defs: dict[str, Any] = document.get("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(document)
    return resolved


def _to_schema(node: dict[str, Any]) -> Schema:
    kwargs: dict[str, Any] = {
        target: node[source] for source, target in _KEYWORDS.items() if source in node
    }
    if "type" in node:
        kwargs["type"] = OpenAPIType(node["type"])
    if "properties" in node:
        kwargs["properties"] = {k: _to_schema(v) for k, v in node["properties"].items()}
    if "items" in node:
        kwargs["items"] = _to_schema(node["items"])
    if "anyOf" in node:
        kwargs["any_of"] = [_to_schema(v) for v in node["anyOf"]]
    if "additionalProperties" in node:
        extra = node["additionalProperties"]
        kwargs["additional_properties"] = _to_schema(extra) if isinstance(extra, dict) else extra
    return Schema(**kwargs)


class _CompletingOpenAPIPlugin(OpenAPIPlugin):
    """Litestar's OpenAPI plugin, completing the document it builds (once, cached)."""

    __slots__ = ()

    def _build_openapi(self) -> OpenAPI:
        schema = super()._build_openapi()
        complete_openapi(schema)
        return schema


def complete_when_built(app: Litestar) -> None:
    """Have ``app`` complete its OpenAPI document (:func:`complete_openapi`) when it first
    builds it, however the app is served (a lifespan hook would not run under a test
    transport, and building it at start would slow every start).

    Litestar makes its plugin itself; it becomes the completing kind in place (the
    subclass adds no state, so the object stays the same shape).
    """
    if app.openapi_config is not None:
        app.plugins.get(OpenAPIPlugin).__class__ = _CompletingOpenAPIPlugin
