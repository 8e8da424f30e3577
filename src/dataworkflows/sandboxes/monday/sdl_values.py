"""monday's API 2025-07 schema, part three: the ``ColumnValue`` interface and its types.

Every value type monday documents implements ``ColumnValue`` (``column``, ``id``,
``text``, ``type``, ``value``) and adds its own fields, e.g. ``display_value`` for
mirror, board relation and dependency columns. :data:`VALUE_TYPES` maps a column's
``type`` to the value type that answers for it (``UnsupportedValue`` for the rest).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

__all__ = ["VALUES_SDL", "VALUE_TYPES"]

_COMMON: Final = """  column: Column!
  id: ID!
  text: String
  type: ColumnType!
  value: JSON
"""

_LINKED: Final = """  display_value: String!
  linked_item_ids: [ID!]!
  linked_items: [Item!]!
  updated_at: Date
"""

# Each value type's own fields, after the ColumnValue ones; by type name.
_OWN_FIELDS: Final[Mapping[str, str]] = {
    "AutoNumberValue": "  number: Int\n",
    "BoardRelationValue": _LINKED,
    "ButtonValue": "  color: String\n  label: String!\n",
    "CheckboxValue": "  checked: Boolean\n  updated_at: Date\n",
    "ColorPickerValue": "  color: String\n  updated_at: Date\n",
    "CountryValue": "  country: Country\n  updated_at: Date\n",
    "CreationLogValue": "  created_at: Date!\n  creator: User!\n  creator_id: ID!\n",
    "DateValue": "  date: String\n  icon: String\n  time: String\n  updated_at: Date\n",
    "DependencyValue": _LINKED,
    "DirectDocValue": "  file: FileDocValue\n",
    "DocValue": "  file: FileDocValue\n",
    "DropdownValue": "  values: [DropdownValueOption!]!\n",
    "EmailValue": "  email: String\n  label: String\n  updated_at: Date\n",
    "FileValue": "  files: [FileValueItem!]!\n",
    "FormulaValue": "  display_value: String!\n",
    "GroupValue": "  group: Group\n  group_id: ID\n",
    "HourValue": "  hour: Int\n  minute: Int\n  updated_at: Date\n",
    "IntegrationValue": (
        "  entity_id: ID\n  issue_api_url: ID\n  issue_id: String\n  updated_at: Date\n"
    ),
    "ItemIdValue": "  item_id: ID!\n",
    "LastUpdatedValue": "  updated_at: Date\n  updater: User\n  updater_id: ID\n",
    "LinkValue": "  updated_at: Date\n  url: String\n  url_text: String\n",
    "LocationValue": (
        "  address: String\n  city: String\n  city_short: String\n  country: String\n"
        "  country_short: String\n  lat: Float\n  lng: Float\n  place_id: String\n"
        "  street: String\n  street_number: String\n  street_number_short: String\n"
        "  street_short: String\n  updated_at: Date\n"
    ),
    "LongTextValue": "  updated_at: Date\n",
    "MirrorValue": "  display_value: String!\n  mirrored_items: [MirroredItem!]!\n",
    "NumbersValue": "  direction: NumberValueUnitDirection\n  number: Float\n  symbol: String\n",
    "PeopleValue": "  persons_and_teams: [PeopleEntity!]\n  updated_at: Date\n",
    "PersonValue": "  person_id: ID\n  updated_at: Date\n",
    "PhoneValue": "  country_short_name: String\n  phone: String\n  updated_at: Date\n",
    "ProgressValue": "",
    "RatingValue": "  rating: Int\n  updated_at: Date\n",
    "StatusValue": (
        "  index: Int\n  is_done: Boolean\n  label: String\n"
        "  label_style: StatusLabelStyle\n  update_id: ID\n  updated_at: Date\n"
    ),
    "SubtasksValue": "  subitems: [Item!]!\n  subitems_ids: [ID!]!\n",
    "TagsValue": "  tag_ids: [Int!]!\n  tags: [Tag!]!\n",
    "TeamValue": "  team_id: Int\n  updated_at: Date\n",
    "TextValue": "",
    "TimeTrackingValue": (
        "  history: [TimeTrackingHistoryItem!]!\n  running: Boolean\n"
        "  started_at: Date\n  updated_at: Date\n"
    ),
    "TimelineValue": (
        "  from: Date\n  to: Date\n  updated_at: Date\n  visualization_type: String\n"
    ),
    "UnsupportedValue": "",
    "VoteValue": (
        "  updated_at: Date\n  vote_count: Int!\n  voter_ids: [ID!]!\n  voters: [User!]!\n"
    ),
    "WeekValue": "  end_date: Date\n  start_date: Date\n",
    "WorldClockValue": "  timezone: String\n  updated_at: Date\n",
}

VALUE_TYPES: Final[Mapping[str, str]] = {
    "auto_number": "AutoNumberValue",
    "board_relation": "BoardRelationValue",
    "button": "ButtonValue",
    "checkbox": "CheckboxValue",
    "color_picker": "ColorPickerValue",
    "country": "CountryValue",
    "creation_log": "CreationLogValue",
    "date": "DateValue",
    "dependency": "DependencyValue",
    "direct_doc": "DirectDocValue",
    "doc": "DocValue",
    "dropdown": "DropdownValue",
    "email": "EmailValue",
    "file": "FileValue",
    "formula": "FormulaValue",
    "group": "GroupValue",
    "hour": "HourValue",
    "integration": "IntegrationValue",
    "item_id": "ItemIdValue",
    "last_updated": "LastUpdatedValue",
    "link": "LinkValue",
    "location": "LocationValue",
    "long_text": "LongTextValue",
    "mirror": "MirrorValue",
    "numbers": "NumbersValue",
    "people": "PeopleValue",
    "person": "PersonValue",
    "phone": "PhoneValue",
    "progress": "ProgressValue",
    "rating": "RatingValue",
    "status": "StatusValue",
    "subtasks": "SubtasksValue",
    "tags": "TagsValue",
    "team": "TeamValue",
    "text": "TextValue",
    "time_tracking": "TimeTrackingValue",
    "timeline": "TimelineValue",
    "vote": "VoteValue",
    "week": "WeekValue",
    "world_clock": "WorldClockValue",
}
"""Which value type answers for a column of each ``type`` (else ``UnsupportedValue``)."""

_SUPPORT_SDL: Final = """
interface ColumnValue {
@COMMON@}

type Country {
  code: String!
  name: String!
}

type DropdownValueOption {
  id: ID!
  label: String!
}

type PeopleEntity {
  id: ID!
  kind: Kind
}

type StatusLabelStyle {
  border: String!
  color: String!
}

type TimeTrackingHistoryItem {
  created_at: Date!
  ended_at: Date
  ended_user_id: ID
  id: ID!
  manually_entered_end_date: Boolean!
  manually_entered_end_time: Boolean!
  manually_entered_start_date: Boolean!
  manually_entered_start_time: Boolean!
  started_at: Date
  started_user_id: ID
  status: String
  updated_at: Date
}

type MirroredItem {
  linked_board: Board!
  linked_board_id: ID!
  linked_item: Item!
  mirrored_value: MirroredValue
}

union MirroredValue = Board | @VALUES@

union FileValueItem = FileAssetValue | FileDocValue | FileLinkValue

type FileAssetValue {
  asset: Asset!
  asset_id: ID!
  created_at: Date!
  creator: User
  creator_id: ID
  is_image: Boolean!
  name: String!
}

type FileDocValue {
  created_at: Date!
  creator: User
  creator_id: ID
  doc: Document!
  file_id: ID!
  object_id: ID!
  url: String
}

type FileLinkValue {
  created_at: Date!
  creator: User
  creator_id: ID
  file_id: ID!
  kind: FileLinkValueKind!
  name: String!
  url: String
}

type Document {
  created_at: Date
  created_by: User
  doc_folder_id: ID
  doc_kind: BoardKind!
  id: ID!
  name: String!
  object_id: ID!
  relative_url: String
  settings: JSON
  url: String
  workspace: Workspace
  workspace_id: ID
}
""".replace("@COMMON@", _COMMON).replace("@VALUES@", " | ".join(sorted(_OWN_FIELDS)))

VALUES_SDL: Final = _SUPPORT_SDL + "".join(
    f"\ntype {name} implements ColumnValue {{\n{_COMMON}{own}}}\n"
    for name, own in sorted(_OWN_FIELDS.items())
)
"""``ColumnValue``, every value type implementing it, and the types they refer to."""
