"""monday's API 2025-07 schema, part one: scalars, enums, inputs and the root types.

The SDL names types, fields, arguments and defaults as monday's published schema
(``https://api.monday.com/v2/get_schema?format=sdl&version=2025-07``) spells them, for
the parts the sandbox serves: boards, items, columns and column values, subitems, users,
updates, tags, workspaces and complexity. :mod:`.schema` joins the parts.
"""

from __future__ import annotations

from typing import Final

__all__ = ["ROOT_SDL"]

ROOT_SDL: Final = '''
"""A JSON value (monday sends and takes JSON-encoded strings)."""
scalar JSON

"""A date or date and time, as an ISO 8601 string."""
scalar Date

"""An ISO 8601 date and time."""
scalar ISO8601DateTime

"""A value to compare against in an items query rule (a scalar or a list)."""
scalar CompareValue

type Query {
  boards(
    ids: [ID!]
    board_kind: BoardKind
    limit: Int = 25
    page: Int = 1
    state: State = active
    order_by: BoardsOrderBy
    workspace_ids: [ID]
  ): [Board]
  items(
    ids: [ID!]
    limit: Int = 25
    page: Int = 1
    newest_first: Boolean
    exclude_nonactive: Boolean
  ): [Item]
  next_items_page(cursor: String!, limit: Int! = 25): ItemsResponse!
  items_page_by_column_values(
    board_id: ID!
    columns: [ItemsPageByColumnValuesQuery!]
    cursor: String
    limit: Int! = 25
  ): ItemsResponse!
  complexity: Complexity
  me: User
  users(
    ids: [ID!]
    kind: UserKind
    newest_first: Boolean
    limit: Int
    page: Int
    emails: [String]
    name: String
    non_active: Boolean
  ): [User]
  teams(ids: [ID!]): [Team]
  account: Account
  tags(ids: [ID!]): [Tag]
  updates(ids: [ID!], limit: Int = 25, page: Int = 1): [Update!]
  workspaces(
    ids: [ID!]
    kind: WorkspaceKind
    limit: Int = 25
    page: Int = 1
    state: State = active
    order_by: WorkspacesOrderBy
  ): [Workspace]
  """The API version that answered this request."""
  version: Version!
  """Every API version and its state."""
  versions: [Version!]
  """Docs (none in the demo account)."""
  docs(
    ids: [ID!]
    object_ids: [ID!]
    limit: Int = 25
    order_by: DocsOrderBy
    page: Int = 1
    workspace_ids: [ID]
  ): [Document]
  """Folders (none in the demo account)."""
  folders(ids: [ID!], workspace_ids: [ID], limit: Int = 25, page: Int = 1): [Folder]
  """A board's webhooks."""
  webhooks(board_id: ID!, app_webhooks_only: Boolean): [Webhook]
  """Files uploaded to the account (none in the demo account)."""
  assets(ids: [ID!]!): [Asset]
}

"""An API version."""
type Version {
  display_name: String!
  kind: VersionKind!
  value: String!
}

enum VersionKind {
  current
  deprecated
  dev
  maintenance
  old__maintenance
  old_previous_maintenance
  previous_maintenance
  release_candidate
}

enum DocsOrderBy {
  created_at
  used_at
}

enum FolderColor {
  AQUAMARINE
  BRIGHT_BLUE
  BRIGHT_GREEN
  CHILI_BLUE
  DARK_ORANGE
  DARK_PURPLE
  DARK_RED
  DONE_GREEN
  INDIGO
  LIPSTICK
  NULL
  PURPLE
  SOFIA_PINK
  STUCK_RED
  SUNSET
  WORKING_ORANGE
}

"""A folder in a workspace."""
type Folder {
  children: [Board]!
  color: FolderColor
  created_at: Date!
  id: ID!
  name: String!
  owner_id: ID
  parent: Folder
  sub_folders: [Folder]!
  workspace: Workspace!
}

enum WebhookEventType {
  change_column_value
  change_name
  change_specific_column_value
  change_status_column_value
  change_subitem_column_value
  change_subitem_name
  create_column
  create_item
  create_subitem
  create_subitem_update
  create_update
  delete_update
  edit_update
  item_archived
  item_deleted
  item_moved_to_any_group
  item_moved_to_specific_group
  item_restored
  move_subitem
  subitem_archived
  subitem_deleted
}

"""A webhook registered on a board."""
type Webhook {
  board_id: ID!
  config: String
  event: WebhookEventType!
  id: ID!
}

type Mutation {
  create_item(
    board_id: ID!
    item_name: String!
    group_id: String
    column_values: JSON
    create_labels_if_missing: Boolean
    position_relative_method: PositionRelative
    relative_to: ID
  ): Item
  change_multiple_column_values(
    item_id: ID
    board_id: ID!
    column_values: JSON!
    create_labels_if_missing: Boolean
  ): Item
  change_column_value(
    item_id: ID
    column_id: String!
    board_id: ID!
    value: JSON!
    create_labels_if_missing: Boolean
  ): Item
  change_simple_column_value(
    item_id: ID
    column_id: String!
    board_id: ID!
    value: String
    create_labels_if_missing: Boolean
  ): Item
  create_subitem(
    parent_item_id: ID!
    item_name: String!
    column_values: JSON
    create_labels_if_missing: Boolean
  ): Item
  move_item_to_group(item_id: ID, group_id: String!): Item
  archive_item(item_id: ID): Item
  delete_item(item_id: ID): Item
  create_update(body: String!, item_id: ID, parent_id: ID): Update
  delete_update(id: ID!): Update
  create_webhook(board_id: ID!, url: String!, event: WebhookEventType!, config: JSON): Webhook
  delete_webhook(id: ID!): Webhook
}

"""The complexity of the query and the budget left in the current minute."""
type Complexity {
  after: Int!
  before: Int!
  query: Int!
  reset_in_x_seconds: Int!
}

enum BoardKind {
  private
  public
  share
}

enum State {
  active
  all
  archived
  deleted
}

enum BoardsOrderBy {
  created_at
  used_at
}

enum BoardObjectType {
  board
  custom_object
  document
  sub_items_board
}

enum ColumnType {
  auto_number
  board_relation
  button
  checkbox
  color_picker
  country
  creation_log
  date
  dependency
  direct_doc
  doc
  dropdown
  email
  file
  formula
  group
  hour
  integration
  item_assignees
  item_id
  last_updated
  link
  location
  long_text
  mirror
  name
  numbers
  people
  person
  phone
  progress
  rating
  status
  subtasks
  tags
  team
  text
  time_tracking
  timeline
  unsupported
  vote
  week
  world_clock
}

enum PositionRelative {
  after_at
  before_at
}

enum UserKind {
  all
  guests
  non_guests
  non_pending
}

enum WorkspaceKind {
  closed
  open
  template
}

enum WorkspacesOrderBy {
  created_at
}

enum FirstDayOfTheWeek {
  monday
  sunday
}

enum Kind {
  person
  team
}

enum NumberValueUnitDirection {
  left
  right
}

enum FileLinkValueKind {
  box
  dropbox
  google_drive
  link
  onedrive
}

enum ItemsQueryOperator {
  and
  or
}

enum ItemsQueryRuleOperator {
  any_of
  not_any_of
  is_empty
  is_not_empty
  greater_than
  greater_than_or_equals
  lower_than
  lower_than_or_equal
  between
  not_contains_text
  contains_text
  contains_terms
  starts_with
  ends_with
  within_the_next
  within_the_last
}

enum ItemsOrderByDirection {
  asc
  desc
}

input ItemsQuery {
  groups: [ItemsQueryGroup!]
  ids: [ID!]
  operator: ItemsQueryOperator = and
  order_by: [ItemsQueryOrderBy!]
  rules: [ItemsQueryRule!]
}

input ItemsQueryGroup {
  groups: [ItemsQueryGroup!]
  operator: ItemsQueryOperator = and
  rules: [ItemsQueryRule!]
}

input ItemsQueryRule {
  column_id: ID!
  compare_attribute: String
  compare_value: CompareValue!
  operator: ItemsQueryRuleOperator = any_of
}

input ItemsQueryOrderBy {
  column_id: String!
  direction: ItemsOrderByDirection = asc
}

input ItemsPageByColumnValuesQuery {
  column_id: String!
  column_values: [String]!
}
'''
"""Scalars, enums, inputs, ``Query``, ``Mutation`` and ``Complexity``."""
