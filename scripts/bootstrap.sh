#!/usr/bin/env bash
# From a fresh clone to a trained model in one command: a virtual environment (.venv) with the
# runtime pins and the development tools (pyproject.toml's dependencies and its dev extra), the
# bundled data, and a first training run tracked and registered in MLflow.
# Safe to run again: it reuses .venv and installs only what changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    echo "error: this project needs Python 3.11 or newer; install it or run with PYTHON=/path/to/python3.11" >&2
    exit 1
fi

if [ ! -x .venv/bin/python ]; then
    "$python" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet --editable ".[dev]"

.venv/bin/invoke data train
echo
echo "Ready. Activate the environment with 'source .venv/bin/activate', then 'invoke --list'."
