#!/usr/bin/env bash
# postCreateCommand: runs once the codespace is yours, where your Codespaces secrets exist.
# Logs in with the service principal when its three secrets are set, sets the az defaults for the
# workspace, and warns (never fails) when something is missing. No secret value is ever printed:
# az output is turned off and any error text has the secret values replaced before it is shown.
# The client secret never goes on a command line, where `ps` would show it: az reads it from stdin.
set -uo pipefail

# Replaced by *** in any text shown: the client secret, and the ids when they are GUIDs (a GUID
# cannot be part of a word). The resource group and workspace are names, not secrets: a group
# called "rg" must not turn "args" into "a***s".
GUID_NAMES=(AZURE_SUBSCRIPTION_ID AZURE_TENANT_ID AZURE_CLIENT_ID)
GUID='^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$'

say() { printf 'post-create: %s\n' "$*"; }
warn() { printf 'post-create: WARNING: %s\n' "$*" >&2; }

redact() {
    local text=$1 name value
    if [[ -n ${AZURE_CLIENT_SECRET:-} ]]; then
        text=${text//"$AZURE_CLIENT_SECRET"/"***"}
    fi
    for name in "${GUID_NAMES[@]}"; do
        value=${!name:-}
        if [[ $value =~ $GUID ]]; then
            text=${text//"$value"/"***"}
        fi
    done
    printf '%s\n' "$text"
}

missing_of() {
    local name
    for name in "$@"; do
        [[ -n ${!name:-} ]] || printf '%s ' "$name"
    done
}

if ! command -v az >/dev/null 2>&1; then
    warn "the Azure CLI is not installed; skipping the Azure login. Rebuild the container."
    exit 0
fi

logged_in=false
missing=$(missing_of AZURE_TENANT_ID AZURE_CLIENT_ID AZURE_CLIENT_SECRET)
if [[ -z $missing ]]; then
    # az reads an argument written @- from stdin (and @FILE from a file). printf is a bash builtin
    # and the pipe is in memory: the secret is in no process's arguments and in no file.
    if output=$(printf '%s' "$AZURE_CLIENT_SECRET" | az login --service-principal \
        --username "$AZURE_CLIENT_ID" --password=@- --tenant "$AZURE_TENANT_ID" \
        --output none 2>&1); then
        logged_in=true
        say "logged in to Azure with the service principal from your Codespaces secrets."
    else
        warn "az login with the service principal failed: $(redact "$output")"
        warn "check the secrets AZURE_TENANT_ID, AZURE_CLIENT_ID, AZURE_CLIENT_SECRET, then run: invoke login"
    fi
else
    warn "not logged in to Azure: Codespaces secrets missing: ${missing% }."
    warn "add them (github.com/settings/codespaces) and rebuild, or run 'invoke login' (device code)."
fi

if [[ $logged_in == true && -n ${AZURE_SUBSCRIPTION_ID:-} ]]; then
    if output=$(az account set --subscription "$AZURE_SUBSCRIPTION_ID" --output none 2>&1); then
        say "selected the subscription from AZURE_SUBSCRIPTION_ID."
    else
        warn "could not select the subscription in AZURE_SUBSCRIPTION_ID: $(redact "$output")"
    fi
elif [[ $logged_in == true ]]; then
    warn "AZURE_SUBSCRIPTION_ID is not set; az uses the service principal's default subscription."
fi

defaults=() names=()
if [[ -n ${AZURE_RESOURCE_GROUP:-} ]]; then
    defaults+=("group=$AZURE_RESOURCE_GROUP") names+=(group)
fi
if [[ -n ${AZUREML_WORKSPACE_NAME:-} ]]; then
    defaults+=("workspace=$AZUREML_WORKSPACE_NAME") names+=(workspace)
fi
if ((${#defaults[@]} > 0)); then
    if output=$(az configure --defaults "${defaults[@]}" --output none 2>&1); then
        say "az defaults set from your secrets: ${names[*]}"
    else
        warn "could not set the az defaults: $(redact "$output")"
    fi
fi
missing=$(missing_of AZURE_RESOURCE_GROUP AZUREML_WORKSPACE_NAME)
if [[ -n $missing ]]; then
    warn "Codespaces secrets missing: ${missing% }; 'az ml' commands need --resource-group/--workspace-name."
fi

say "run 'invoke doctor' to see what is ready."
exit 0
