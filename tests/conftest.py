"""Shared fixtures: every test gets its own MLflow store under tmp_path and no network."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # matplotlib writes its font cache under the user's home unless told otherwise; it reads the
    # variable once per process, so it is set before any test imports it.
    import os
    import tempfile

    os.environ.setdefault("MPLCONFIGDIR", tempfile.mkdtemp(prefix="mplconfig-"))


@pytest.fixture(autouse=True)
def isolated_mlflow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point MLflow at a store inside tmp_path (created only if a test uses it)."""
    uri = f"sqlite:///{(tmp_path / 'mlruns' / 'mlflow.db').as_posix()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("DO_NOT_TRACK", "true")
    if "mlflow" in sys.modules:  # an earlier test in this process may have set it globally
        sys.modules["mlflow"].set_tracking_uri(uri)
    return uri


@pytest.fixture
def cloud(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator:
    """The offline Azure (tests/azure_fake) that the real azure-ai-ml client talks to."""
    from azure_fake import fake_azure

    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as fake:
        yield fake


@pytest.fixture(scope="session")
def diabetes_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled diabetes data as `invoke data` writes it."""
    from diabetes_model.dataset import write_bundled_dataset

    path = tmp_path_factory.mktemp("data") / "diabetes.csv"
    write_bundled_dataset(path, "target")
    return path
