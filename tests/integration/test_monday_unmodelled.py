"""monday fields the sandbox does not model are answered as monday answers a field the
account may not use (null at its path, a 403 UserUnauthorizedException error naming
it), the rest of the request as usual; fields monday lacks too are still refused."""

from __future__ import annotations

from graphql import GraphQLInterfaceType, GraphQLObjectType

from dataworkflows.sandboxes.monday.schema import build_sandbox_schema
from dataworkflows.sandboxes.monday.unmodelled import PLACEHOLDER, UNMODELLED
from tests.integration.test_monday_sandbox import Served, served

__all__ = ["served"]  # the fixture, shared with the sandbox's other tests

ROADMAP = "5012345601"


async def test_unmodelled_root_and_nested_fields_are_null_with_a_403_each(served: Served) -> None:
    """A query mixing modelled and unmodelled fields gets its data, with null and one
    error (path with list indexes, location, code) for each unmodelled place."""
    answer = await served.post(
        f"""{{
          me {{ id }}
          audit_logs(limit: 1) {{ timestamp }}
          boards(ids: [{ROADMAP}]) {{ id name owner {{ id }} updates_page {{ cursor }} }}
        }}"""
    )
    assert answer.status_code == 200
    body = answer.json()
    data = body["data"]
    assert data["me"]["id"]
    assert data["audit_logs"] is None
    (board,) = data["boards"]
    assert (board["id"], board["owner"], board["updates_page"]) == (ROADMAP, None, None)
    assert board["name"]
    by_path = {tuple(e["path"]): e for e in body["errors"]}
    assert set(by_path) == {
        ("audit_logs",),
        ("boards", 0, "owner"),
        ("boards", 0, "updates_page"),
    }
    error = by_path[("audit_logs",)]
    assert error["extensions"]["code"] == "UserUnauthorizedException"
    assert error["extensions"]["status_code"] == 403
    assert "does not model Query.audit_logs" in error["message"]
    assert error["locations"] == [{"line": 3, "column": 11}]


async def test_an_unmodelled_mutation_changes_nothing_and_says_so(served: Served) -> None:
    """create_board is monday's but not the sandbox's: null, an error, no board made;
    nothing of the sandbox's own placeholder shows."""
    before = await served.data("{ boards(limit: 100) { id } }")
    answer = await served.post(
        'mutation { create_board(board_name: "Launch", board_kind: public) { id } }'
    )
    body = answer.json()
    assert body["data"] == {"create_board": None}
    assert PLACEHOLDER not in answer.text
    assert body["errors"][0]["path"] == ["create_board"]
    assert body["errors"][0]["extensions"]["error_data"]["field"] == "Mutation.create_board"
    assert await served.data("{ boards(limit: 100) { id } }") == before


async def test_fragments_and_aliases_are_followed(served: Served) -> None:
    """An unmodelled field inside a named fragment and under an alias is answered at
    the alias, wherever the fragment is spread."""
    answer = await served.post(
        f"""query {{ first: boards(ids: [{ROADMAP}]) {{ ...B }} }}
        fragment B on Board {{ id made: created_at columns {{ id settings }} }}"""
    )
    body = answer.json()
    (board,) = body["data"]["first"]
    assert board["made"] is None
    assert board["columns"]
    assert all(c["settings"] is None and c["id"] for c in board["columns"])
    paths = {tuple(e["path"]) for e in body["errors"]}
    assert ("first", 0, "made") in paths
    assert ("first", 0, "columns", 0, "settings") in paths


async def test_fields_monday_lacks_too_are_still_refused(served: Served) -> None:
    """A field no monday API has is a GRAPHQL_VALIDATION_FAILED, as monday answers it."""
    answer = await served.post("{ me { id } boards { nonsense } }")
    body = answer.json()
    assert "data" not in body
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


def test_the_unmodelled_names_are_not_in_the_sandbox_schema() -> None:
    """Each listed field belongs to a type the sandbox declares, which lacks it (a field
    modelled later must leave the list)."""
    schema = build_sandbox_schema()
    for type_name, names in UNMODELLED.items():
        declared = schema.get_type(type_name)
        assert isinstance(declared, GraphQLObjectType | GraphQLInterfaceType), type_name
        assert not names & set(declared.fields), type_name
