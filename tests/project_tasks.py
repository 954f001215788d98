"""The project's tasks.py loaded as a module, for tests that call tasks with invoke's MockContext."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_project_tasks() -> ModuleType:
    spec = importlib.util.spec_from_file_location("project_tasks_module", ROOT / "tasks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
