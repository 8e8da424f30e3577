"""The modelled subset of monday's GraphQL schema, with the resolvers attached.

:data:`SCHEMA_SDL` names its types and fields as monday spells them; graphql-core
executes any well-formed query over it (aliases, fragments, variables and
``__typename`` included). The resolvers are in :mod:`.resolvers`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from graphql import (
    GraphQLAbstractType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    build_schema,
)

from dataworkflows.sandboxes.monday.resolvers import RESOLVERS, ColumnValueView, Info

__all__ = ["SCHEMA_SDL", "build_sandbox_schema"]

SCHEMA_SDL: Final = """
scalar JSON

type Query {
  boards(ids: [ID!], limit: Int = 25, page: Int = 1, workspace_ids: [ID]): [Board]
  items(ids: [ID!]!, limit: Int = 25): [Item]
  next_items_page(cursor: String!, limit: Int = 25): ItemsResponse!
  me: User
  users(ids: [ID!], limit: Int): [User]
}

type Mutation {
  create_item(
    board_id: ID!
    item_name: String!
    group_id: String
    column_values: JSON
    create_labels_if_missing: Boolean
  ): Item
  change_multiple_column_values(
    board_id: ID!
    item_id: ID
    column_values: JSON!
    create_labels_if_missing: Boolean
  ): Item
}

type Board {
  id: ID!
  name: String!
  description: String
  state: String
  board_kind: String
  workspace_id: ID
  items_count: Int
  columns(ids: [String]): [Column]
  groups(ids: [String]): [Group]
  items_page(limit: Int = 25, cursor: String): ItemsResponse!
}

type Column {
  id: ID!
  title: String!
  type: String!
  settings_str: String
}

type Group {
  id: ID!
  title: String!
  color: String
  position: String
}

type ItemsResponse {
  cursor: String
  items: [Item!]!
}

type Item {
  id: ID!
  name: String!
  state: String
  created_at: String
  updated_at: String
  board: Board
  group: Group
  column_values(ids: [String!]): [ColumnValue!]!
}

interface ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type StatusValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  label: String
  index: Int
}

type DateValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  date: String
  time: String
}

type PeopleEntity {
  id: ID!
  kind: String
}

type PeopleValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  persons_and_teams: [PeopleEntity]
}

type TextValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type LongTextValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
}

type NumbersValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  number: Float
}

type MirrorValue implements ColumnValue {
  id: ID!
  column: Column!
  text: String
  type: String!
  value: JSON
  display_value: String!
}

type User {
  id: ID!
  name: String!
  email: String!
}
"""
"""The modelled subset of monday's schema (names and types as monday spells them)."""

_VALUE_TYPES: Final[Mapping[str, str]] = {
    "status": "StatusValue",
    "date": "DateValue",
    "people": "PeopleValue",
    "text": "TextValue",
    "long_text": "LongTextValue",
    "numbers": "NumbersValue",
    "mirror": "MirrorValue",
}


def _resolve_value_type(value: Any, _info: Info, _type: GraphQLAbstractType) -> str | None:
    return _VALUE_TYPES.get(value.type) if isinstance(value, ColumnValueView) else None


def build_sandbox_schema() -> GraphQLSchema:
    """:data:`SCHEMA_SDL` with the sandbox's resolvers attached."""
    schema = build_schema(SCHEMA_SDL)
    for type_name, resolvers in RESOLVERS.items():
        graphql_type = schema.get_type(type_name)
        assert isinstance(graphql_type, GraphQLObjectType), type_name
        for field_name, resolver in resolvers.items():
            # A typo here would silently fall back to attribute lookup; fail instead.
            graphql_type.fields[field_name].resolve = resolver
    interface = schema.get_type("ColumnValue")
    assert isinstance(interface, GraphQLInterfaceType)
    interface.resolve_type = _resolve_value_type
    return schema
