"""Microsoft Entra ID (AAD): the OpenID metadata and the token endpoint that msal calls.

Tokens are shaped as JWTs (header, claims, signature; unsigned) whose claims carry the audience
(the scope's resource), the tenant and the expiry: azure-ai-ml decodes the Azure ML token it sends
along with a pipeline job and checks its audience. The other services accept only live tokens the
fake issued, so an expired or foreign token is a 401 just as in Azure.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from typing import TYPE_CHECKING

from azure_fake.http import Request, Response, error

if TYPE_CHECKING:
    from azure_fake.cloud import FakeAzure

LOGIN_HOST = r"login\.microsoftonline\.com"


def register(cloud: FakeAzure) -> None:
    router = cloud.router

    @router.route("GET", LOGIN_HOST, r"/(?P<tenant>[^/]+)/v2\.0/\.well-known/openid-configuration")
    def openid_configuration(request: Request) -> Response:
        base = f"https://login.microsoftonline.com/{request.params['tenant']}"
        return Response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "issuer": f"{base}/v2.0",
            },
        )

    @router.route("GET", LOGIN_HOST, r"/common/discovery/instance")
    def instance_discovery(request: Request) -> Response:
        # msal asks which hosts are aliases of the authority before it reports some errors.
        authority = request.query.get("authorization_endpoint", "")
        tenant = authority.split("/")[3] if authority.count("/") > 3 else "common"
        return Response(
            200,
            {
                "tenant_discovery_endpoint": f"https://login.microsoftonline.com/{tenant}"
                "/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [
                    {
                        "preferred_network": "login.microsoftonline.com",
                        "preferred_cache": "login.windows.net",
                        "aliases": ["login.microsoftonline.com", "login.windows.net"],
                    }
                ],
            },
        )

    @router.route("POST", LOGIN_HOST, r"/(?P<tenant>[^/]+)/oauth2/v2\.0/token")
    def token(request: Request) -> Response:
        form = request.form()
        if (form.get("client_id"), form.get("client_secret")) != cloud.service_principal:
            return Response(
                401,
                {
                    "error": "invalid_client",
                    "error_description": "AADSTS7000215: Invalid client secret provided.",
                },
            )
        scope = form.get("scope", "")
        access_token = jwt(scope, request.params["tenant"], cloud.token_lifetime)
        cloud.tokens[access_token] = time.time() + cloud.token_lifetime
        cloud.token_scopes.append(form.get("scope", ""))
        return Response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": cloud.token_lifetime,
                "ext_expires_in": cloud.token_lifetime,
                "access_token": access_token,
            },
        )


def jwt(scope: str, tenant: str, lifetime: float) -> str:
    """An unsigned JWT for the scope's resource ("https://ml.azure.com/.default" is for the
    audience "https://ml.azure.com"); the random signature keeps every token unique."""

    def part(values: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(values).encode()).rstrip(b"=").decode()

    now = int(time.time())
    audience = scope.split(" ")[0].removesuffix("/.default")
    claims = {"aud": audience, "tid": tenant, "iat": now, "exp": now + int(lifetime)}
    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}.{secrets.token_urlsafe(16)}"


def check_bearer(cloud: FakeAzure, request: Request) -> Response | None:
    """None when the request carries a live token of ours, else the 401 Azure would send."""
    header = request.headers.get("authorization", "")
    token = header.removeprefix("Bearer ").strip()
    expires = cloud.tokens.get(token)
    if expires is None or expires < time.time():
        cloud.rejected_tokens += 1
        return error(401, "InvalidAuthenticationToken", "The access token is invalid or expired.")
    return None
