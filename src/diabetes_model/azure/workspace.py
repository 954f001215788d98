"""The connection to the Azure ML workspace, and Azure's errors turned into one actionable line."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

from diabetes_model.azure.settings import AzureSettings, Workspace
from diabetes_model.errors import UserError, first_line

ARM_SCOPE = "https://management.azure.com/.default"
LOGIN_HELP = (
    "log in with `az login` (`az login --use-device-code` in a Codespace), "
    "or set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for a service principal"
)


def credential() -> Any:
    """DefaultAzureCredential: a service principal from the environment (Codespaces secrets, CI),
    else the Azure CLI's login. Browser pop-ups are off: tasks run in terminals and CI."""
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(exclude_interactive_browser_credential=True)


def connect(
    workspace: Workspace,
    credential_factory: Callable[[], Any] = credential,
    **client_options: Any,
) -> Any:
    """An MLClient for the workspace, checked: credentials work and the workspace exists.

    `client_options` go to the SDK's pipeline (for example `raw_request_hook`, `retry_total`).
    """
    from azure.ai.ml import MLClient
    from azure.core.exceptions import ResourceNotFoundError

    token_credential = credential_factory()
    with azure_errors(workspace):
        token_credential.get_token(ARM_SCOPE)
        client = MLClient(
            token_credential,
            workspace.subscription_id,
            workspace.resource_group,
            workspace.workspace_name,
            **{k: v for k, v in client_options.items() if v is not None},
        )
        try:
            client.workspaces.get(workspace.workspace_name)
        except ResourceNotFoundError:
            raise UserError(
                f"workspace '{workspace.workspace_name}' not found in resource group "
                f"'{workspace.resource_group}': check AZUREML_WORKSPACE_NAME and "
                "AZURE_RESOURCE_GROUP (az ml workspace list --resource-group NAME)"
            ) from None
    return client


@contextlib.contextmanager
def azure_errors(workspace: Workspace) -> Iterator[None]:
    """Turn the Azure SDK's expected failures into a UserError that says what to do."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ResourceNotFoundError,
        ServiceRequestError,
    )

    try:
        yield
    except ClientAuthenticationError as error:
        if getattr(error, "status_code", None) in (401, 403):
            raise UserError(
                f"Azure refused the credentials ({error.status_code}): {LOGIN_HELP}; the identity "
                f"needs a role such as AzureML Data Scientist on workspace "
                f"'{workspace.workspace_name}'"
            ) from None
        raise UserError(f"no usable Azure credentials: {LOGIN_HELP}") from None
    except ResourceNotFoundError as error:
        raise UserError(f"not found in Azure ML: {first_line(error)}") from None
    except HttpResponseError as error:
        status = error.status_code
        if status == 429 or (status or 0) >= 500:
            raise UserError(
                f"Azure ML is unavailable ({status}) after several retries; try again later"
            ) from None
        raise UserError(f"Azure ML refused the request ({status}): {first_line(error)}") from None
    except ServiceRequestError as error:
        raise UserError(
            f"cannot reach Azure ({first_line(error)}); check the network and try again"
        ) from None


@contextlib.contextmanager
def workspace_client(azure: AzureSettings, **client_options: Any) -> Iterator[Any]:
    """The configured workspace's MLClient, inside `azure_errors`: what every remote task uses."""
    workspace = azure.workspace()
    client = connect(workspace, **client_options)
    with azure_errors(workspace):
        yield client
