#!/usr/bin/env bash
# onCreateCommand: tools that do not depend on the repository's content (runs in prebuilds too).
# The azure-cli feature skips a failed `az extension add` silently, so check for `ml` here and
# install it when it is missing. Nothing here may stop the codespace from being created.
set -uo pipefail

say() { printf 'on-create: %s\n' "$*"; }
warn() { printf 'on-create: WARNING: %s\n' "$*" >&2; }

if ! command -v az >/dev/null 2>&1; then
    warn "the Azure CLI is not installed; rebuild the container (Codespaces: Rebuild Container)."
elif az extension show --name ml --output none >/dev/null 2>&1; then
    say "Azure CLI extension 'ml' is installed."
else
    say "Azure CLI extension 'ml' is missing; installing it."
    if az extension add --name ml --yes --output none && az extension show --name ml --output none >/dev/null 2>&1; then
        say "Azure CLI extension 'ml' installed."
    else
        warn "could not install the Azure CLI extension 'ml'; run: az extension add --name ml --yes"
    fi
fi

# The tests lint the shell scripts with ShellCheck; install it for them.
if ! command -v shellcheck >/dev/null 2>&1; then
    if ! { sudo apt-get update -qq && sudo apt-get install -y -qq shellcheck; }; then
        warn "could not install shellcheck; run: sudo apt-get install -y shellcheck"
    fi
fi
exit 0
