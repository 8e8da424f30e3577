"""Fields of monday's API the sandbox does not model, and how it answers them.

The sandbox's schema models boards, items, columns, every column value type,
subitems, users, updates, webhooks and complexity. monday's API has many more root
queries and mutations (audit logs, docs blocks, dashboards, forms, the marketplace...)
and a few more fields on the modelled types. Asked for one of those, the sandbox
answers the way monday answers a field the account may not use: the rest of the
request is executed as usual, and that field is ``null`` with an error at its path,
``extensions.code`` ``UserUnauthorizedException`` and ``status_code`` 403, whose
message says the sandbox does not model it. A field that monday does not have at
all is still refused as monday refuses it (``GRAPHQL_VALIDATION_FAILED``).

The names are those of monday's published schema (mondaycom/mcp,
``schema.graphql``), less what :mod:`.schema` declares; ``tests`` check the two do
not overlap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from graphql import (
    REMOVE,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLNamedType,
    GraphQLSchema,
    InlineFragmentNode,
    NameNode,
    OperationDefinitionNode,
    SelectionSetNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)

__all__ = ["PLACEHOLDER", "UNMODELLED", "Unmodelled", "answer_unmodelled", "strip_unmodelled"]

_NAMES: Final = {
    "Account": "created_at is_during_trial is_trial_expired",
    "AccountProduct": "tier",
    "Board": (
        "access_level columns_namespace created_at created_from_board_id folder "
        "hierarchy_type inferred_metadata manual_metadata object_type_unique_key owner "
        "updates_page"
    ),
    "BoardRelationValue": "is_leaf",
    "BoardView": (
        "access_level filter filter_team_id filter_user_id settings sort source_view_id tags"
    ),
    "ButtonValue": "is_leaf",
    "CheckboxValue": "is_leaf",
    "ColorPickerValue": "is_leaf",
    "Column": "capabilities settings",
    "ColumnValue": "is_leaf",
    "CountryValue": "is_leaf",
    "CreationLogValue": "is_leaf",
    "DateValue": "is_leaf",
    "DependencyValue": "dependency_links is_leaf",
    "DirectDocValue": "is_leaf",
    "DocValue": "is_leaf",
    "Document": "blocks updated_at",
    "DropdownValue": "is_leaf",
    "EmailValue": "is_leaf",
    "FileValue": "is_leaf",
    "Folder": "app_feature_slug custom_icon font_weight",
    "FormulaValue": "is_leaf",
    "GroupValue": "is_leaf",
    "HourValue": "is_leaf",
    "IntegrationValue": "is_leaf",
    "Item": "description updates_page",
    "ItemIdValue": "is_leaf",
    "LastUpdatedValue": "is_leaf",
    "Like": "attribution_entity_ref attribution_entity_type",
    "LinkValue": "is_leaf",
    "LocationValue": "is_leaf",
    "LongTextValue": "is_leaf",
    "MirrorValue": "is_leaf",
    "Mutation": (
        "activate_form activate_managed_column activate_users "
        "add_content_to_doc_from_markdown add_file_to_column add_file_to_update "
        "add_required_column add_subscribers_to_board add_subscribers_to_object "
        "add_teams_to_board add_teams_to_workspace add_users_to_board add_users_to_team "
        "add_users_to_workspace archive_board archive_group archive_object "
        "assign_department_members assign_department_owner assign_team_owners "
        "attach_dropdown_managed_column attach_status_managed_column backfill_items "
        "batch_extend_trial_period batch_update_dependency_column bulk_archive_items "
        "bulk_delete_items bulk_object_schema_column_actions change_column_metadata "
        "change_column_title change_item_position clear_item_updates "
        "clear_users_department complexity configure_categorize_ai_column "
        "configure_extract_ai_column configure_improve_text_ai_column "
        "configure_open_block_ai_column configure_person_assignment_ai_column "
        "configure_summarize_ai_column configure_translate_ai_column "
        "configure_write_me_ai_column connect_board_to_object_schema "
        "connect_project_to_portfolio convert_board_to_project create_app "
        "create_app_feature create_article create_board create_column "
        "create_custom_activity create_dashboard create_department create_doc "
        "create_doc_block create_doc_blocks create_dropdown_column "
        "create_dropdown_managed_column create_favorite create_folder create_form "
        "create_form_question create_form_tag create_group "
        "create_marketplace_app_discount create_notification create_object "
        "create_object_relations create_object_schema create_object_schema_columns "
        "create_or_get_tag create_portfolio create_project create_service_user "
        "create_status_column create_status_managed_column create_team "
        "create_timeline_item create_validation_rule create_view create_view_table "
        "create_widget create_workspace deactivate_form deactivate_managed_column "
        "deactivate_users delete_app_lifecycle_subscription delete_article delete_board "
        "delete_board_automation delete_column delete_custom_activity delete_dashboard "
        "delete_department delete_doc delete_doc_block delete_doc_blocks delete_favorite "
        "delete_folder delete_form_tag delete_group delete_managed_column "
        "delete_marketplace_app_discount delete_object delete_object_relation "
        "delete_object_schema delete_question delete_subscribers_from_board delete_team "
        "delete_teams_from_board delete_teams_from_workspace delete_timeline_item "
        "delete_users_from_workspace delete_validation_rule delete_view delete_widget "
        "delete_workspace detach_boards_from_object_schema duplicate_board duplicate_doc "
        "duplicate_group duplicate_item edit_update enroll_items_to_sequence "
        "execute_integration_block grant_marketplace_app_discount import_doc_from_html "
        "increase_app_subscription_operations ingest_items install_app invite_users "
        "like_update move_item_to_board pin_to_top promote_app publish_article "
        "publish_object regenerate_service_user_token remove_ai_from_column "
        "remove_mock_app_subscription remove_required_column remove_team_owners "
        "remove_users_from_team revoke_service_user_tokens run_prompt "
        "set_board_permission set_form_password set_item_description_content "
        "set_mock_app_subscription set_object_schema_column_active_state shorten_form_url "
        "unassign_department_owners undo_action uninstall_app unlike_update "
        "unpin_from_top unpublish_object update_app update_app_feature "
        "update_app_lifecycle_subscription update_article_block update_assets_on_item "
        "update_board update_board_hierarchy update_column update_dashboard "
        "update_department update_dependency_column update_directory_resources_attributes "
        "update_doc_block update_doc_name update_dropdown_column "
        "update_dropdown_managed_column update_email_domain update_favorite_position "
        "update_folder update_form update_form_question update_form_settings update_group "
        "update_multiple_users update_mute_board_settings update_notification_setting "
        "update_object update_object_schema update_object_schema_columns "
        "update_overview_hierarchy update_status_column update_status_managed_column "
        "update_users_role update_validation_rule update_view update_view_table "
        "update_workspace use_template"
    ),
    "NumbersValue": "is_leaf",
    "PeopleValue": "is_leaf",
    "PersonValue": "is_leaf",
    "PhoneValue": "is_leaf",
    "ProgressValue": "is_leaf",
    "Query": (
        "account_connections account_roles account_trigger_statistics "
        "account_triggers_statistics_by_entity_id aggregate all_widgets_schema "
        "allowed_sequences_to_enroll analytics_events app app_installs app_subscription "
        "app_subscription_operations app_subscriptions apps_monetization_info "
        "apps_monetization_status article_blocks articles ask_developer_docs "
        "audit_event_catalogue audit_logs block_events board_automations board_candidates "
        "board_dependencies brand_kit campaign campaigns connection connection_board_ids "
        "connections custom_activity departments dependency_column_config "
        "doc_version_diff doc_version_history empty export_events export_graph "
        "export_markdown_from_doc favorites fetch_job_status form "
        "get_app_lifecycle_subscriptions get_column_type_schema get_directory_resources "
        "get_object_schemas get_view_schema_by_type insight insights item_dependency "
        "job_status knowledge_base_search managed_column marketplace_ai_search "
        "marketplace_app_discounts marketplace_fulltext_search marketplace_hybrid_search "
        "marketplace_vector_search mute_board_settings notetaker notifications "
        "notifications_settings object_relations object_types_unique_keys objects "
        "platform_api replies search segment segments service_user_tokens service_users "
        "settings sprints template_installation_status timeline timeline_item tool_events "
        "trigger_event trigger_events usage user_configs user_connections validations"
    ),
    "RatingValue": "is_leaf",
    "Reply": "assets",
    "StatusValue": "is_leaf",
    "SubtasksValue": "display_value is_leaf",
    "TagsValue": "is_leaf",
    "Team": "created_at",
    "TeamValue": "is_leaf",
    "TextValue": "is_leaf",
    "TimeTrackingValue": "duration is_leaf",
    "TimelineValue": "is_leaf",
    "UnsupportedValue": "is_leaf",
    "Update": "original_creation_date",
    "User": (
        "account_id account_products activity_logs bb_visitor_id became_active_at "
        "custom_field_metas custom_field_values department invitation_method is_deleted "
        "is_email_confirmed kind photo_url serial_number status user_config"
    ),
    "VoteValue": "is_leaf",
    "WeekValue": "is_leaf",
    "Workspace": "settings",
    "WorldClockValue": "is_leaf",
}

UNMODELLED: Final[Mapping[str, frozenset[str]]] = {
    type_name: frozenset(names.split()) for type_name, names in _NAMES.items()
}
"""Per type, the fields monday has that the sandbox does not model."""
_MAX_DEPTH: Final = 64
PLACEHOLDER: Final = "sandbox_placeholder"
"""The alias of what stands in a selection set left empty (dropped from the answer)."""


@dataclass(frozen=True, slots=True)
class Unmodelled:
    """One unmodelled field a request asked for: where its answer goes (the response
    keys from the root), and which field it is (``Query.audit_logs``)."""

    path: tuple[str, ...]
    field: str
    line: int
    column: int


def strip_unmodelled(
    schema: GraphQLSchema, document: DocumentNode
) -> tuple[DocumentNode, list[Unmodelled]]:
    """``document`` without the unmodelled fields it asks for (a copy; the original is
    untouched when there are none), and each one asked for, once per place in the
    answer. Fields unknown to monday too are left for validation to refuse."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    found: list[Unmodelled] = []

    def walk(
        selections: SelectionSetNode | None,
        parent: GraphQLNamedType | None,
        path: tuple[str, ...],
        seen: frozenset[str],
    ) -> None:
        if selections is None or parent is None or len(path) > _MAX_DEPTH:
            return
        for selection in selections.selections:
            if isinstance(selection, FieldNode):
                name, key = selection.name.value, (selection.alias or selection.name).value
                fields = getattr(parent, "fields", {})
                if name in fields:
                    walk(
                        selection.selection_set,
                        get_named_type(fields[name].type),
                        (*path, key),
                        seen,
                    )
                elif name in UNMODELLED.get(parent.name, ()):
                    line, column = _location(selection)
                    found.append(Unmodelled((*path, key), f"{parent.name}.{name}", line, column))
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                inner = schema.get_type(condition.name.value) if condition else parent
                walk(selection.selection_set, inner, path, seen)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments.get(selection.name.value)
                if fragment is not None and fragment.name.value not in seen:
                    inner = schema.get_type(fragment.type_condition.name.value)
                    walk(fragment.selection_set, inner, path, seen | {fragment.name.value})

    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            root = schema.get_root_type(definition.operation)
            walk(definition.selection_set, root, (), frozenset())
    if not found:
        return document, []
    return _without(schema, document), found


class _Pruner(Visitor):
    """Removes the unmodelled fields (with type information from :class:`TypeInfo`) and
    fills a selection set left empty with a placeholder."""

    def __init__(self, type_info: TypeInfo) -> None:
        super().__init__()
        self.type_info = type_info

    def enter_field(self, node: FieldNode, *_: Any) -> Any:
        parent = self.type_info.get_parent_type()
        name = node.name.value
        unmodelled = parent is not None and name in UNMODELLED.get(parent.name, ())
        if unmodelled and name not in getattr(parent, "fields", {}):
            return REMOVE
        return None

    def leave_selection_set(self, node: SelectionSetNode, *_: Any) -> Any:
        if node.selections:
            return None
        # GraphQL has no empty selection sets: ask for the type, dropped from the answer.
        placeholder = FieldNode(
            alias=NameNode(value=PLACEHOLDER),
            name=NameNode(value="__typename"),
            arguments=(),
            directives=(),
        )
        return SelectionSetNode(selections=(placeholder,))


def _without(schema: GraphQLSchema, document: DocumentNode) -> DocumentNode:
    """``document`` whose selection sets leave the unmodelled fields out (a new tree)."""
    type_info = TypeInfo(schema)
    pruned: DocumentNode = visit(document, TypeInfoVisitor(type_info, _Pruner(type_info)))
    return pruned


def _location(node: FieldNode) -> tuple[int, int]:
    if node.loc is None:
        return 0, 0
    where = node.loc.source.get_location(node.loc.start)
    return where.line, where.column


def answer_unmodelled(data: dict[str, Any] | None, found: list[Unmodelled]) -> list[dict[str, Any]]:
    """Put ``null`` where each unmodelled field's answer goes (in every object of a list),
    drop the placeholders :func:`strip_unmodelled` added; the errors, one per place."""
    errors: list[dict[str, Any]] = []
    if data is None:
        return errors

    def place(node: Any, rest: tuple[str, ...], at: list[str | int], each: Unmodelled) -> None:
        if isinstance(node, list):
            for index, element in enumerate(node):
                place(element, rest, [*at, index], each)
        elif isinstance(node, dict):
            node.pop(PLACEHOLDER, None)
            if len(rest) == 1:
                node[rest[0]] = None
                errors.append(_error(each, [*at, rest[0]]))
            elif rest[0] in node:
                place(node[rest[0]], rest[1:], [*at, rest[0]], each)

    for each in found:
        place(data, each.path, [], each)
    return errors


def _error(each: Unmodelled, path: list[str | int]) -> dict[str, Any]:
    """The error monday gives for a field the account may not use, saying why here."""
    return {
        "message": f"The monday sandbox does not model {each.field}; monday's API answers "
        "it for accounts that may use it.",
        "locations": [{"line": each.line, "column": each.column}],
        "path": path,
        "extensions": {
            "code": "UserUnauthorizedException",
            "status_code": 403,
            "error_data": {"field": each.field, "sandbox": "not modelled"},
        },
    }
