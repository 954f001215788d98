"""`invoke serve`: a registered model on this machine, with Azure ML's inference server.

It resolves a version in the local MLflow registry, copies it to
`outputs/serving/models/NAME/VERSION` (what Azure ML mounts as AZUREML_MODEL_DIR), and runs
azmlinfsrv with `score.py`, bound to the loopback address. `invoke predict` (predict.py) calls it.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from diabetes_model.errors import UserError, first_line

# Its path, not the module: importing it would import the inference server (Flask and more).
SCORE_SCRIPT = Path(__file__).resolve().with_name("score.py")
DEFAULT_PORT = 5001  # azmlinfsrv's own default
DEFAULT_HOST = "127.0.0.1"
MODELS_DIR = Path("outputs") / "serving" / "models"
INPUT_LOG = Path("outputs") / "serving" / "inputs.jsonl"


@dataclass(frozen=True)
class ModelRef:
    """A registered model version."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}/{self.version}"


@dataclass(frozen=True)
class ServerPlan:
    """The command that starts the inference server, and the environment it needs."""

    argv: tuple[str, ...]
    env: Mapping[str, str]
    url: str
    model: str = ""
    input_log: Path | None = None

    @property
    def command(self) -> str:
        import shlex

        return shlex.join(self.argv)


def prepare(
    root: Path,
    tracking_uri: str,
    model_name: str,
    model: str = "",
    *,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    workers: int = 1,
) -> ServerPlan:
    """`invoke serve`: resolve the version, copy it under outputs/, and plan the server."""
    ref = parse_model_ref(model) if model else latest_version(tracking_uri, model_name)
    model_dir = download_model(tracking_uri, ref, root / MODELS_DIR)
    plan = server_plan(model_dir, port=port, host=host, input_log=root / INPUT_LOG, workers=workers)
    return dataclasses.replace(plan, model=str(ref), input_log=root / INPUT_LOG)


def parse_model_ref(text: str) -> ModelRef:
    """'NAME/VERSION' -> ModelRef; anything else is a user error."""
    name, _, version = text.rpartition("/")
    if not name or not version.isdigit():
        raise UserError(f"--model '{text}' is not NAME/VERSION (for example diabetes-regressor/3)")
    return ModelRef(name, version)


def latest_version(tracking_uri: str, model_name: str) -> ModelRef:
    """The newest version of `model_name` in the MLflow registry at `tracking_uri`."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        versions = client.search_model_versions(f"name = '{model_name}'")
    except (MlflowException, SQLAlchemyError) as error:
        raise UserError(
            f"cannot read the model registry at {tracking_uri}: {first_line(error)}"
        ) from None
    if not versions:
        raise UserError(
            f"no registered versions of '{model_name}' in {tracking_uri}: run `invoke train` first"
        )
    newest = max(versions, key=lambda version: int(version.version))
    return ModelRef(model_name, str(newest.version))


def download_model(tracking_uri: str, ref: ModelRef, models_dir: Path) -> Path:
    """Copy a registered version to `models_dir/NAME/VERSION`, replacing an older copy.

    Copied afresh every time: a new store may reuse a version number for a different model. The
    store is asked explicitly (MLflow's `models:/` URIs would read the process-wide registry).
    """
    import mlflow
    import yaml
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    target = models_dir / ref.name / ref.version
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{ref.version}-", dir=target.parent))
    try:
        client = MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
        source = client.get_model_version_download_uri(ref.name, ref.version)
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=source, dst_path=str(partial), tracking_uri=tracking_uri
        )
        # What MLflow itself writes beside a registered model it downloads.
        meta = {"model_name": ref.name, "model_version": ref.version}
        (Path(local) / "registered_model_meta").write_text(yaml.safe_dump(meta))
        shutil.rmtree(target, ignore_errors=True)
        Path(local).rename(target)
    except (MlflowException, SQLAlchemyError) as error:
        raise UserError(
            f"cannot load model {ref} from {tracking_uri} ({first_line(error)}); "
            "list versions with `invoke ui`"
        ) from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return target


def server_plan(
    model_dir: Path,
    port: int = DEFAULT_PORT,
    host: str = DEFAULT_HOST,
    input_log: Path | None = None,
    workers: int = 1,
    python: str = sys.executable,
) -> ServerPlan:
    """How to run azmlinfsrv with score.py on `model_dir`, as a managed online endpoint runs it."""
    if not 0 < port < 65536:
        raise UserError(f"--port {port} is not a TCP port: pick one from 1 to 65535")
    if workers < 1:
        raise UserError(f"--workers {workers} must be at least 1")
    argv = (
        python,
        "-m",
        "diabetes_model.serving.server",
        "--host",
        host,
        "--entry_script",
        str(SCORE_SCRIPT),
        "--model_dir",
        str(Path(model_dir).resolve()),
        "--port",
        str(port),
        "--worker_count",
        str(workers),
    )
    env = {"AML_APP_ROOT": str(SCORE_SCRIPT.parents[2])}
    if input_log is not None:
        env["DIABETES_MODEL_INPUT_LOG"] = str(Path(input_log).resolve())
    return ServerPlan(argv=argv, env=env, url=f"http://{host}:{port}/score")
