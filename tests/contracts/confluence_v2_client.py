"""Atlassian's v2 client (atlassian-python-api 5.x ``ConfluenceV2``) against a
Confluence sandbox: run by tests/integration/test_confluence_sdk_contract.py in an
isolated environment of its own, since the 4.x classic client the rest of the tests
use cannot share one with it.

Usage: ``python confluence_v2_client.py <site URL> <email> <token>``; prints one JSON
object with what each call saw.
"""

import json
import sys

import requests
from atlassian import ConfluenceV2
from requests import HTTPError


def main() -> None:
    site, email, token = sys.argv[1:4]
    session = requests.Session()
    session.trust_env = False  # no proxy between the script and 127.0.0.1
    client = ConfluenceV2(
        url=f"{site}/wiki", username=email, password=token, session=session, timeout=10
    )
    seen: dict[str, object] = {}
    space = client.get_space_by_key("APOLLO")
    seen["space"] = {"id": space["id"], "key": space["key"]}
    pages = client.get_pages(space_id=space["id"], limit=5)
    seen["page_ids"] = [p["id"] for p in pages]
    page = client.get_page_by_id(pages[0]["id"], body_format="storage")
    seen["read"] = {"id": page["id"], "has_body": bool(page["body"]["storage"]["value"])}
    created = client.create_page(
        space_id=space["id"], title="Written by ConfluenceV2", body="<p>first</p>"
    )
    seen["created"] = {"id": created["id"], "version": created["version"]["number"]}
    # The v2 API requires the status of an update; the client sends the version it is
    # given plus one.
    updated = client.update_page(
        page_id=created["id"],
        title="Written by ConfluenceV2",
        body="<p>second</p>",
        status="current",
        version=created["version"]["number"],
    )
    seen["updated"] = {"version": updated["version"]["number"]}
    after = client.get_page_by_id(created["id"], body_format="storage")
    seen["after"] = after["body"]["storage"]["value"]
    try:
        client.get_page_by_id("999999999")
    except HTTPError as exc:
        seen["missing"] = exc.response.status_code if exc.response is not None else None
    except Exception as exc:  # the client may wrap it in its own ApiError
        seen["missing"] = type(exc).__name__
    print(json.dumps(seen))


if __name__ == "__main__":
    main()
