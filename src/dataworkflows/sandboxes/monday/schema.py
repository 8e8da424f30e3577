"""monday's GraphQL schema (API 2025-07) for the parts the sandbox serves, resolvers attached.

:data:`SCHEMA_SDL` joins :mod:`.sdl_root` (scalars, enums, inputs, ``Query``,
``Mutation``, ``Complexity``), :mod:`.sdl_boards` (boards, groups, columns, items,
users, updates, tags, workspaces) and :mod:`.sdl_values` (``ColumnValue`` and every
value type), spelled as monday's published schema spells them. graphql-core executes
any well-formed query over it (aliases, fragments, variables and ``__typename``
included). The ``Query``/``Mutation`` resolvers are in :mod:`.resolvers`, the others in
:mod:`.fields`, those of updates in :mod:`.update_resolvers`; every other field reads
the attribute or key of its name and, when the demo data has none, answers what monday
answers when there is nothing: null, ``[]`` for lists, or the default
:data:`.fields.NOTHING` names for non-null fields.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from graphql import (
    GraphQLAbstractType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLSchema,
    build_schema,
    get_nullable_type,
    is_list_type,
)

from dataworkflows.sandboxes.monday.fields import FIELD_RESOLVERS, NOTHING
from dataworkflows.sandboxes.monday.paging import Info
from dataworkflows.sandboxes.monday.resolvers import ROOT_RESOLVERS
from dataworkflows.sandboxes.monday.sdl_boards import BOARDS_SDL
from dataworkflows.sandboxes.monday.sdl_root import ROOT_SDL
from dataworkflows.sandboxes.monday.sdl_values import VALUE_TYPES, VALUES_SDL
from dataworkflows.sandboxes.monday.update_resolvers import UPDATE_RESOLVERS
from dataworkflows.sandboxes.monday.views import ColumnValueView
from dataworkflows.sandboxes.monday.webhook_resolvers import WEBHOOK_RESOLVERS

__all__ = ["SCHEMA_SDL", "build_sandbox_schema"]

SCHEMA_SDL: Final = ROOT_SDL + BOARDS_SDL + VALUES_SDL
"""The schema the sandbox serves (names and types as monday spells them)."""

_MISSING: Final = object()


def _resolve_value_type(value: Any, _info: Info, _type: GraphQLAbstractType) -> str | None:
    if not isinstance(value, ColumnValueView):
        return None
    return VALUE_TYPES.get(value.type, "UnsupportedValue")


def _read_or_nothing(name: str, nothing: object) -> Callable[..., Any]:
    """A resolver reading ``name`` from the parent, ``nothing`` when it has none."""

    def resolve(source: object, _info: Info, **_arguments: Any) -> Any:
        if isinstance(source, Mapping):
            value = source.get(name, _MISSING)
        else:
            value = getattr(source, name, _MISSING)
        if value is _MISSING or callable(value):
            return [] if nothing is _LIST else nothing
        return value

    return resolve


_LIST: Final = object()


def _nothing_for(type_name: str, field_name: str, field_type: GraphQLOutputType) -> object:
    if (type_name, field_name) in NOTHING:
        return NOTHING[(type_name, field_name)]
    return _LIST if is_list_type(get_nullable_type(field_type)) else None


def build_sandbox_schema() -> GraphQLSchema:
    """:data:`SCHEMA_SDL` with the sandbox's resolvers attached."""
    schema = build_schema(SCHEMA_SDL)
    for resolvers in (ROOT_RESOLVERS, FIELD_RESOLVERS, UPDATE_RESOLVERS, WEBHOOK_RESOLVERS):
        for type_name, by_field in resolvers.items():
            graphql_type = schema.get_type(type_name)
            assert isinstance(graphql_type, GraphQLObjectType), type_name
            for field_name, resolver in by_field.items():
                # A typo here would silently fall back to attribute lookup; fail instead.
                graphql_type.fields[field_name].resolve = resolver
    for type_name, named in schema.type_map.items():
        if not isinstance(named, GraphQLObjectType) or type_name.startswith("__"):
            continue
        for field_name, field in named.fields.items():
            if field.resolve is None:
                nothing = _nothing_for(type_name, field_name, field.type)
                field.resolve = _read_or_nothing(field_name, nothing)
    interface = schema.get_type("ColumnValue")
    assert isinstance(interface, GraphQLInterfaceType)
    interface.resolve_type = _resolve_value_type
    return schema
