"""Microsoft's own clients, unchanged, against the Graph sandbox over HTTPS: azure-identity's
ClientSecretCredential (discovery, then a token) and msgraph-sdk (listing, reading,
paging, errors, throttling), trusting only the CA the sandbox made at start."""

from __future__ import annotations

import ssl
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.identity.aio import ClientSecretCredential
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_authentication_azure.azure_identity_authentication_provider import (
    AzureIdentityAuthenticationProvider,
)
from msgraph_core import GraphClientFactory

from dataworkflows.connectors.outlook.graph_http import close_graph_http
from tests.support.net import free_port
from tests.support.outlook import CLIENT_ID, CLIENT_SECRET, TENANT_ID
from tests.support.processes import CliProcess
from tests.support.waiting import eventually

# The SDK's generated code warns about its own deprecated names on import.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from msgraph import GraphRequestAdapter, GraphServiceClient
    from msgraph.generated.models.o_data_errors.o_data_error import ODataError
    from msgraph.generated.users.item.messages.messages_request_builder import (
        MessagesRequestBuilder,
    )

pytestmark = [
    pytest.mark.acceptance,
    # msgraph's generated builders warn about their own deprecated classes when first
    # imported (lazily, on first use); that is the SDK talking to itself.
    pytest.mark.filterwarnings("ignore::DeprecationWarning:msgraph"),
]

MAILBOX = "maya.patel@example.com"
SCOPE = "https://graph.microsoft.com/.default"


class Sandbox:
    def __init__(self, base: str, ca_file: Path) -> None:
        self.base = base
        self.ca_file = ca_file
        self.context = ssl.create_default_context(cafile=str(ca_file))
        self.http = httpx.Client(verify=self.context)

    def fault(self, **fault: Any) -> None:
        response = self.http.post(f"{self.base}/sandbox/faults", json=fault)
        assert response.status_code == 204, response.text

    def api_requests(self) -> list[dict[str, Any]]:
        response = self.http.get(f"{self.base}/sandbox/requests")
        return [r for r in response.json() if r["path"].startswith("/v1.0/")]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sandbox]:
    """`serve sandbox outlook` with GRAPH_SANDBOX_TLS: HTTPS with a CA of its own."""
    cwd = tmp_path_factory.mktemp("graph-sdk")
    port = free_port()
    base = f"https://127.0.0.1:{port}"
    env = {
        "GRAPH_TENANT_ID": TENANT_ID,
        "GRAPH_CLIENT_ID": CLIENT_ID,
        "GRAPH_CLIENT_SECRET": CLIENT_SECRET,
        "GRAPH_API_URL": f"{base}/v1.0",
        "GRAPH_SANDBOX_TLS": "true",
        "DW_DATA_DIR": str(cwd / "state"),
        "DW_PORT": str(port),
    }
    ca_file = cwd / "state" / "sandbox-outlook" / "ca.pem"
    with CliProcess("serve", "sandbox", "outlook", env=env, cwd=cwd) as process:
        eventually(lambda: ca_file if ca_file.is_file() else None, what="the sandbox's CA")
        control = Sandbox(base, ca_file)
        process.wait_http(f"{base}/healthz", verify=control.context)
        yield control
        control.http.close()
        process.stop()


def credential(sandbox: Sandbox, secret: str = CLIENT_SECRET) -> ClientSecretCredential:
    """The credential as an azure-identity user writes it for a non-Microsoft authority."""
    return ClientSecretCredential(
        TENANT_ID,
        CLIENT_ID,
        secret,
        authority=sandbox.base,
        # The sandbox is not a cloud Microsoft knows: no instance discovery at
        # login.microsoftonline.com (nothing here may call it).
        disable_instance_discovery=True,
        connection_verify=str(sandbox.ca_file),
    )


@pytest.fixture
async def graph(sandbox: Sandbox) -> AsyncIterator[GraphServiceClient]:
    """msgraph-sdk, authenticated by azure-identity, with its base URL at the sandbox."""
    async with credential(sandbox) as signed_in:
        auth = AzureIdentityAuthenticationProvider(
            signed_in, scopes=[SCOPE], allowed_hosts=["127.0.0.1"]
        )
        http = GraphClientFactory.create_with_default_middleware(
            client=httpx.AsyncClient(verify=sandbox.context)
        )
        adapter = GraphRequestAdapter(auth, client=http)
        adapter.base_url = f"{sandbox.base}/v1.0"
        yield GraphServiceClient(request_adapter=adapter)
        # msgraph-core's transport wrapper has no aclose: its pooled connections are
        # closed by hand (what the product's own client does too).
        await close_graph_http(http)


def test_the_sandbox_publishes_the_identity_platform_discovery(sandbox: Sandbox) -> None:
    """The tenant's OpenID configuration names its token endpoint on the sandbox; an
    unknown tenant is refused as Entra ID refuses it."""
    found = sandbox.http.get(f"{sandbox.base}/{TENANT_ID}/v2.0/.well-known/openid-configuration")
    unknown = sandbox.http.get(
        f"{sandbox.base}/no-such-tenant/v2.0/.well-known/openid-configuration"
    )
    instance = sandbox.http.get(
        f"{sandbox.base}/common/discovery/instance",
        params={"authorization_endpoint": f"{sandbox.base}/{TENANT_ID}/oauth2/v2.0/authorize"},
    )
    assert found.status_code == 200
    assert found.json()["token_endpoint"] == f"{sandbox.base}/{TENANT_ID}/oauth2/v2.0/token"
    assert found.json()["issuer"] == f"{sandbox.base}/{TENANT_ID}/v2.0"
    assert unknown.status_code == 400
    assert unknown.json()["error"] == "invalid_tenant"
    assert "AADSTS90002" in unknown.json()["error_description"]
    assert instance.json()["tenant_discovery_endpoint"] == found.url


async def test_azure_identity_gets_a_token_and_names_a_wrong_secret(sandbox: Sandbox) -> None:
    """ClientSecretCredential reads the discovery document and gets a Graph token; a
    wrong secret fails with Entra ID's AADSTS code."""
    async with credential(sandbox) as good:
        token = await good.get_token(SCOPE)
    assert token.token.count(".") == 2
    async with credential(sandbox, "not-the-secret") as bad:
        with pytest.raises(ClientAuthenticationError, match="AADSTS7000215"):
            await bad.get_token(SCOPE)


async def test_msgraph_lists_reads_and_pages_messages(graph: GraphServiceClient) -> None:
    """A user's messages: a page of them, the next page through @odata.nextLink, and one
    message by id."""
    query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
        top=5, select=["subject", "receivedDateTime"], orderby=["receivedDateTime desc"]
    )
    config = RequestConfiguration(query_parameters=query)
    first = await graph.users.by_user_id(MAILBOX).messages.get(request_configuration=config)
    assert first is not None
    assert first.value
    assert len(first.value) == 5
    assert first.odata_next_link
    second = await graph.users.by_user_id(MAILBOX).messages.with_url(first.odata_next_link).get()
    assert second is not None
    assert second.value
    assert {m.id for m in first.value}.isdisjoint({m.id for m in second.value})
    one = await graph.users.by_user_id(MAILBOX).messages.by_message_id(first.value[0].id).get()
    assert one is not None
    assert one.subject == first.value[0].subject


async def test_msgraph_sees_not_found_as_an_odata_error(graph: GraphServiceClient) -> None:
    """An unknown mailbox is Graph's 404 ErrorItemNotFound-style OData error."""
    with pytest.raises(ODataError) as caught:
        await graph.users.by_user_id("nobody@example.com").messages.get()
    assert caught.value.response_status_code == 404
    assert caught.value.error is not None
    assert caught.value.error.code


async def test_msgraph_waits_out_throttling(sandbox: Sandbox, graph: GraphServiceClient) -> None:
    """A 429 with Retry-After is retried by the SDK's own retry handler, which succeeds."""
    before = len(sandbox.api_requests())
    sandbox.fault(kind="throttled", times=1, retry_after=1)
    folders = await graph.users.by_user_id(MAILBOX).mail_folders.get()
    assert folders is not None
    assert folders.value
    statuses = [r["status"] for r in sandbox.api_requests()[before:]]
    assert statuses == [429, 200]
