"""monday's API 2025-07 schema, part two: boards, items, users, updates and tags.

Names, types and arguments as monday's published schema spells them; the column value
types are in :mod:`.sdl_values`, the root types in :mod:`.sdl_root`.
"""

from __future__ import annotations

from typing import Final

__all__ = ["BOARDS_SDL"]

BOARDS_SDL: Final = """
type Board {
  activity_logs(
    column_ids: [String]
    from: ISO8601DateTime
    group_ids: [String]
    item_ids: [ID!]
    limit: Int = 25
    page: Int = 1
    to: ISO8601DateTime
    user_ids: [ID!]
  ): [ActivityLogType]
  board_folder_id: ID
  board_kind: BoardKind!
  columns(ids: [String], types: [ColumnType!]): [Column]
  communication: JSON
  creator: User!
  description: String
  groups(ids: [String]): [Group]
  id: ID!
  item_terminology: String
  items_count: Int
  items_limit: Int
  items_page(cursor: String, limit: Int! = 25, query_params: ItemsQuery): ItemsResponse!
  name: String!
  owners: [User]!
  permissions: String!
  state: State!
  subscribers: [User]!
  tags: [Tag]
  team_owners(limit: Int, page: Int): [Team!]
  team_subscribers(limit: Int, page: Int): [Team!]
  top_group: Group!
  type: BoardObjectType
  updated_at: ISO8601DateTime
  updates(ids: [ID!], limit: Int = 25, page: Int = 1): [Update]
  url: String!
  views(ids: [ID!], type: String): [BoardView]
  workspace: Workspace
  workspace_id: ID
}

type Column {
  archived: Boolean!
  description: String
  id: ID!
  revision: String!
  settings_str: String!
  title: String!
  type: ColumnType!
  width: Int
}

type Group {
  archived: Boolean
  color: String!
  deleted: Boolean
  id: ID!
  items_page(cursor: String, limit: Int! = 25, query_params: ItemsQuery): ItemsResponse!
  position: String!
  title: String!
}

type ItemsResponse {
  cursor: String
  items: [Item!]!
}

type Item {
  assets(assets_source: AssetsSource, column_ids: [String]): [Asset]
  board: Board
  column_values(ids: [String!], types: [ColumnType!]): [ColumnValue!]!
  created_at: Date
  creator: User
  creator_id: String!
  email: String!
  group: Group
  id: ID!
  linked_items(link_to_item_column_id: String!, linked_board_id: ID!): [Item!]!
  name: String!
  parent_item: Item
  relative_link: String
  state: State
  subitems: [Item]
  subscribers: [User]!
  updated_at: Date
  updates(ids: [ID!], limit: Int = 25, page: Int = 1): [Update!]
  url: String!
}

enum AssetsSource {
  all
  columns
  gallery
}

type Asset {
  created_at: Date
  file_extension: String!
  file_size: Int!
  id: ID!
  name: String!
  original_geometry: String
  public_url: String!
  uploaded_by: User!
  url: String!
  url_thumbnail: String
}

type Tag {
  color: String!
  id: ID!
  name: String!
}

type Update {
  assets: [Asset]
  body: String!
  created_at: Date
  creator: User
  creator_id: String
  edited_at: Date!
  id: ID!
  item: Item
  item_id: String
  likes: [Like!]!
  pinned_to_top: [UpdatePin!]!
  replies: [Reply!]
  text_body: String
  updated_at: Date
  viewers(limit: Int = 100, page: Int = 1): [Watcher!]!
}

type Reply {
  body: String!
  created_at: Date
  creator: User
  creator_id: String
  edited_at: Date!
  id: ID!
  kind: String!
  likes: [Like!]!
  pinned_to_top: [UpdatePin!]!
  text_body: String
  updated_at: Date
  viewers(limit: Int = 100, page: Int = 1): [Watcher!]!
}

type Like {
  created_at: Date
  creator: User
  creator_id: String
  id: ID!
  reaction_type: String
  updated_at: Date
}

type UpdatePin {
  item_id: ID!
}

type Watcher {
  medium: String!
  user: User
  user_id: ID!
}

type User {
  account: Account!
  birthday: Date
  country_code: String
  created_at: Date
  current_language: String
  email: String!
  enabled: Boolean!
  id: ID!
  is_admin: Boolean
  is_guest: Boolean
  is_pending: Boolean
  is_verified: Boolean
  is_view_only: Boolean
  join_date: Date
  last_activity: Date
  location: String
  mobile_phone: String
  name: String!
  out_of_office: OutOfOffice
  phone: String
  photo_original: String
  photo_small: String
  photo_thumb: String
  photo_thumb_small: String
  photo_tiny: String
  sign_up_product_kind: String
  teams(ids: [ID!]): [Team]
  time_zone_identifier: String
  title: String
  url: String!
  utc_hours_diff: Int
}

type OutOfOffice {
  active: Boolean
  disable_notifications: Boolean
  end_date: Date
  start_date: Date
  type: String
}

type Team {
  id: ID!
  is_guest: Boolean
  name: String!
  owners(ids: [ID!]): [User!]!
  picture_url: String
  users(
    emails: [String]
    ids: [ID!]
    kind: UserKind
    limit: Int
    name: String
    newest_first: Boolean
    non_active: Boolean
    page: Int
  ): [User]
}

type Account {
  active_members_count: Int
  country_code: String
  first_day_of_the_week: FirstDayOfTheWeek!
  id: ID!
  logo: String
  name: String!
  plan: Plan
  products: [AccountProduct]
  show_timeline_weekends: Boolean!
  sign_up_product_kind: String
  slug: String!
  tier: String
}

type Plan {
  max_users: Int!
  period: String
  tier: String
  version: Int!
}

type AccountProduct {
  default_workspace_id: ID
  id: ID
  kind: String
}

type Workspace {
  account_product: AccountProduct
  created_at: Date
  description: String
  id: ID
  is_default_workspace: Boolean
  kind: WorkspaceKind
  name: String!
  owners_subscribers(limit: Int = 25, page: Int = 1): [User]
  state: State
  team_owners_subscribers(limit: Int = 25, page: Int = 1): [Team!]
  teams_subscribers(limit: Int = 25, page: Int = 1): [Team]
  users_subscribers(limit: Int = 25, page: Int = 1): [User]
}

type ActivityLogType {
  account_id: String!
  created_at: String!
  data: String!
  entity: String!
  event: String!
  id: String!
  user_id: String!
}

type BoardView {
  id: ID!
  name: String!
  settings_str: String!
  type: String!
  view_specific_data_str: String!
}
"""
"""``Board``, ``Column``, ``Group``, ``Item``, ``User``, ``Update``, ``Tag`` and kin."""
