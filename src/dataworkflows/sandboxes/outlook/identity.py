"""The Microsoft identity platform's token endpoint, as the Outlook sandbox answers it.

``POST /{tenant}/oauth2/v2.0/token`` with the client-credentials grant
(``client_secret`` in the form or as HTTP Basic): a token for
``https://graph.microsoft.com/.default``, or an error in Entra ID's shape (``error``,
an ``AADSTS`` ``error_description``, ``error_codes``, trace and correlation ids).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final, Protocol

from dataworkflows.sandboxes.outlook.demo_data import DOMAIN

__all__ = [
    "GRAPH_APP_ID",
    "GRAPH_RESOURCE",
    "AadError",
    "AppRegistration",
    "aad_body",
    "basic_credentials",
    "expired_secret",
    "instance_discovery",
    "known_tenant",
    "openid_configuration",
    "token_answer",
    "unknown_tenant",
]

GRAPH_RESOURCE: Final = "https://graph.microsoft.com"
GRAPH_APP_ID: Final = "00000003-0000-0000-c000-000000000000"
"""Microsoft Graph's application id (a scope may name it instead of the URL)."""


class AppRegistration(Protocol):
    """The app registration the sandbox issues tokens for."""

    tenant_id: str
    client_id: str
    client_secret: str
    token_ttl_s: int

    def issue_token(self) -> str:
        """A new access token for the app."""
        ...


@dataclass(frozen=True, slots=True)
class AadError:
    """A refusal of the token endpoint: HTTP status, OAuth error, AADSTS code, text."""

    status: int
    error: str
    code: int
    description: str


def aad_body(error: AadError) -> dict[str, Any]:
    """The JSON Entra ID answers a refusal with."""
    trace, correlation = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    return {
        "error": error.error,
        "error_description": f"AADSTS{error.code}: {error.description} Trace ID: {trace} "
        f"Correlation ID: {correlation} Timestamp: {stamp}",
        "error_codes": [error.code],
        "timestamp": stamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": f"https://login.microsoftonline.com/error?code={error.code}",
    }


def token_answer(
    app: AppRegistration, tenant: str, form: Mapping[str, str], basic: tuple[str, str] | None
) -> AadError | dict[str, Any]:
    """The token, or the error Entra ID answers this request with."""
    problem = _client_problem(app, tenant, form, basic) or _scope_problem(app, form["scope"])
    if problem is not None:
        return problem
    return {
        "token_type": "Bearer",
        "expires_in": app.token_ttl_s,
        "ext_expires_in": app.token_ttl_s,
        "access_token": app.issue_token(),
    }


def _client_problem(
    app: AppRegistration, tenant: str, form: Mapping[str, str], basic: tuple[str, str] | None
) -> AadError | None:
    if not known_tenant(app, tenant):
        return AadError(400, "invalid_request", 90002, unknown_tenant(tenant).description)
    for required in ("grant_type", "client_id", "scope"):
        if required == "client_id" and basic is not None:
            continue
        if not form.get(required):
            return AadError(
                400,
                "invalid_request",
                900144,
                f"The request body must contain the following parameter: '{required}'.",
            )
    if form["grant_type"] != "client_credentials":
        return AadError(
            400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type."
        )
    client_id = basic[0] if basic is not None else form["client_id"]
    if client_id != app.client_id:
        return AadError(
            400,
            "unauthorized_client",
            700016,
            f"Application with identifier '{client_id}' was not found in the directory "
            f"'{app.tenant_id}'. This can happen if the application has not been installed "
            "by the administrator of the tenant.",
        )
    secret = basic[1] if basic is not None else form.get("client_secret")
    if not secret:
        return AadError(
            401,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or "
            "'client_secret'.",
        )
    if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        return AadError(
            401,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the "
            "client secret value, not the client secret ID, for a secret added to app "
            f"'{app.client_id}'.",
        )
    return None


def _scope_problem(app: AppRegistration, scope: str) -> AadError | None:
    scopes = scope.split()
    resource_ok = all(
        s.rstrip("/").lower() in (f"{GRAPH_RESOURCE}/.default", f"{GRAPH_APP_ID}/.default")
        for s in scopes
    )
    if not all(s.endswith("/.default") for s in scopes):
        return AadError(
            400,
            "invalid_scope",
            1002012,
            f"The provided value for scope {scope} is not valid. Client credential flows "
            "must have a scope value with /.default suffixed to the resource identifier "
            "(application ID URI).",
        )
    if not resource_ok:
        return AadError(
            400,
            "invalid_resource",
            500011,
            f"The resource principal named {scopes[0].removesuffix('/.default')} was not found "
            f"in the tenant named {app.tenant_id}.",
        )
    return None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """Client id and secret of an ``Authorization: Basic`` header (client_secret_basic)."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except (binascii.Error, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    return (client_id, secret) if sep else None


def expired_secret(client_id: str) -> AadError:
    """Entra ID's answer once the app's client secret has expired (AADSTS7000222)."""
    return AadError(
        401,
        "invalid_client",
        7000222,
        f"The provided client secret keys for app '{client_id}' are expired. Visit the "
        "Azure portal to create new keys for your app.",
    )


def known_tenant(app: AppRegistration, tenant: str) -> bool:
    """Whether ``tenant`` (the id, or the tenant's domain) names the app's tenant."""
    return tenant.lower() in (
        app.tenant_id.lower(),
        DOMAIN,
        f"{DOMAIN.split('.')[0]}.onmicrosoft.com",
    )


def unknown_tenant(tenant: str) -> AadError:
    """Entra ID's answer for a tenant it does not know (AADSTS90002)."""
    return AadError(
        400,
        "invalid_tenant",
        90002,
        f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and "
        "are signing into the correct cloud.",
    )


def openid_configuration(base: str, tenant_id: str) -> dict[str, Any]:
    """The tenant's OpenID Connect discovery document
    (``/{tenant}/v2.0/.well-known/openid-configuration``), its endpoints on ``base``."""
    root = f"{base}/{tenant_id}"
    return {
        "token_endpoint": f"{root}/oauth2/v2.0/token",
        "token_endpoint_auth_methods_supported": [
            "client_secret_post",
            "private_key_jwt",
            "client_secret_basic",
        ],
        "jwks_uri": f"{base}/{tenant_id}/discovery/v2.0/keys",
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": f"{root}/v2.0",
        "request_uri_parameter_supported": False,
        "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
        "authorization_endpoint": f"{root}/oauth2/v2.0/authorize",
        "device_authorization_endpoint": f"{root}/oauth2/v2.0/devicecode",
        "http_logout_supported": True,
        "frontchannel_logout_supported": True,
        "end_session_endpoint": f"{root}/oauth2/v2.0/logout",
        "claims_supported": [
            "sub",
            "iss",
            "cloud_instance_name",
            "cloud_instance_host_name",
            "cloud_graph_host_name",
            "msgraph_host",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "acr",
            "nonce",
            "preferred_username",
            "name",
            "tid",
            "ver",
            "at_hash",
            "c_hash",
            "email",
        ],
        "kerberos_endpoint": f"{root}/kerberos",
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "cloud_graph_host_name": "graph.windows.net",
        "msgraph_host": "graph.microsoft.com",
        "rbac_url": "https://pas.windows.net",
    }


def instance_discovery(base: str, authorization_endpoint: str | None) -> dict[str, Any]:
    """``/common/discovery/instance``: where the tenant that ``authorization_endpoint``
    names keeps its discovery document, and the one host this "cloud" answers on."""
    host = base.split("://", 1)[-1]
    path = (authorization_endpoint or "").split(host, 1)[-1]
    tenant = path.strip("/").split("/")[0] or "common"
    return {
        "tenant_discovery_endpoint": f"{base}/{tenant}/v2.0/.well-known/openid-configuration",
        "api-version": "1.1",
        "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
    }
