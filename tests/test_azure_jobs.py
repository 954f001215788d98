"""`invoke train --remote`: the real azure-ai-ml client submits the job spec through the offline
Azure fake, and the job the service receives is the one the spec describes."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from azure_fake import FakeAzure, fake_azure
from projects import make_project

from diabetes_model.azure import assets, jobs
from diabetes_model.azure.workspace import connect
from diabetes_model.errors import UserError
from diabetes_model.gitinfo import GitInfo, git_info

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def data_file(tmp_path: Path, diabetes_csv: Path) -> Path:
    path = tmp_path / "diabetes.csv"
    path.write_bytes(diabetes_csv.read_bytes())
    return path


def project_for(tmp_path: Path, data_file: Path, **azure):
    """The repository's project with its data file and outputs under tmp_path."""
    azure = {"output_dir": str(tmp_path / "out"), **azure}
    return make_project(tmp_path, project={"data_path": str(data_file)}, azure=azure)


def submission(**changes) -> jobs.Submission:
    return jobs.Submission(ROOT / "azureml" / "train.yml", **changes)


class Said(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    def text(self) -> str:
        return "\n".join(self)


def submit(tmp_path, data_file, said=None, project=None, **options) -> int:
    return jobs.submit(
        project or project_for(tmp_path, data_file),
        options.pop("submission", None) or submission(),
        say=said if said is not None else Said(),
        sleep=lambda seconds: None,
        **options,
    )


def only_job(cloud: FakeAzure) -> dict:
    [name] = cloud.jobs_created
    return cloud.job(name)["properties"]


def test_the_service_receives_the_spec_command_environment_data_compute_and_provenance(
    cloud, tmp_path, data_file
):
    said = Said()
    assert submit(tmp_path, data_file, said) == 0

    job = only_job(cloud)
    spec = yaml.safe_load((ROOT / "azureml" / "train.yml").read_text())
    assert job["command"] == " ".join(spec["command"].split())
    env_version = assets.environment_hash(
        "mcr.microsoft.com/azureml/openmpi5.0-ubuntu24.04:latest",
        yaml.safe_load((ROOT / "environment.yml").read_text()),
    )
    assert job["environmentId"].endswith(f"/environments/diabetes-model-env/versions/{env_version}")
    data_version = assets.file_hash(data_file)
    assert job["inputs"]["data"]["uri"].endswith(
        f"/data/diabetes-model-data/versions/{data_version}"
    )
    assert job["inputs"]["learning_rate"]["value"] == str(spec["inputs"]["learning_rate"])
    assert job["computeId"].endswith("/computes/cpu-cluster")
    assert job["experimentName"] == "diabetes-model"
    git = git_info(ROOT)
    assert job["displayName"] == f"train diabetes-model {git.short}"
    assert job["tags"] == {"commit": git.commit, "branch": git.branch, "author": git.author}
    assert "notificationSetting" not in job
    # The code snapshot is src/: the package the command imports, without caches.
    uploaded = [n for n in cloud.blobs[cloud.default_storage] if "/src/" in n]
    assert any(n.endswith("/src/diabetes_model/train.py") for n in uploaded)
    assert not any("__pycache__" in n or ".egg-info" in n for n in uploaded)
    assert "code snapshot: src/" in said.text()
    assert "Studio: https://ml.azure.com/runs/" in said.text()


def test_flags_become_inputs_and_extra_arguments_of_the_same_command(cloud, tmp_path, data_file):
    chosen = submission(
        overrides={"learning_rate": 0.05, "max_depth": 5},
        extra_args=("--no-register",),
        compute="gpu-cluster",
        job_name="diabetes-train-42",
    )
    submit(tmp_path, data_file, submission=chosen)

    job = cloud.job("diabetes-train-42")["properties"]
    assert job["inputs"]["learning_rate"]["value"] == "0.05"
    assert job["inputs"]["max_depth"]["value"] == "5"
    assert job["command"].endswith("--max-depth ${{inputs.max_depth}} --no-register")
    assert job["computeId"].endswith("/computes/gpu-cluster")


def test_an_unknown_input_is_refused_before_anything_is_sent(cloud, tmp_path, data_file):
    with pytest.raises(UserError, match="has no input"):
        submit(tmp_path, data_file, submission=submission(overrides={"nope": 1}))
    assert cloud.jobs_created == []


def test_environment_and_data_are_registered_once_and_reused(cloud, tmp_path, data_file):
    said = Said()
    submit(tmp_path, data_file, said)
    submit(tmp_path, data_file, said)

    assert len(cloud.requests_to("PUT", r"/environments/[^/]+/versions/")) == 1
    assert len(cloud.requests_to("PUT", r"/data/[^/]+/versions/")) == 1
    assert len([n for n in cloud.blobs[cloud.default_storage] if n.endswith("/diabetes.csv")]) == 1
    assert "(reused)" in said.text()
    assert len(cloud.jobs_created) == 2


def test_changed_data_becomes_a_new_data_version(cloud, tmp_path, data_file):
    submit(tmp_path, data_file)
    data_file.write_text(data_file.read_text() + data_file.read_text().splitlines()[1] + "\n")
    submit(tmp_path, data_file)

    assert len(cloud.assets("data")) == 2


def test_a_dry_run_contacts_nothing_and_writes_a_job_that_load_job_accepts(
    monkeypatch, tmp_path, data_file
):
    from azure.ai.ml import load_job

    with fake_azure(monkeypatch, home=str(tmp_path / "home")) as cloud:
        for name in ("AZURE_CLIENT_SECRET", "AZURE_SUBSCRIPTION_ID"):
            monkeypatch.delenv(name)
        said = Said()
        assert submit(tmp_path, data_file, said, dry_run=True) == 0
        assert cloud.requests == []

    written = tmp_path / "out" / "train-job.yml"
    assert written.read_text().startswith("$schema: https://azuremlschemas.azureedge.net/")
    job = load_job(source=written)
    assert job.inputs["data"]._data["path"] == f"diabetes-model-data:{assets.file_hash(data_file)}"
    assert job.environment.startswith("diabetes-model-env:")
    assert job.tags["commit"] == git_info(ROOT).commit
    assert "train-job.yml (nothing was submitted)" in said.text()


def test_stream_follows_the_job_and_exits_zero_when_it_completes(
    cloud, tmp_path, data_file, capsys
):
    said = Said()
    assert submit(tmp_path, data_file, said, stream=True) == 0
    out = capsys.readouterr().out
    assert "Running: python -m diabetes_model.train" in out
    assert "training finished" in out
    assert said[-1].endswith("completed")


@pytest.mark.parametrize("outcome", ["Failed", "Canceled"])
def test_a_job_that_does_not_complete_exits_non_zero_with_one_clear_line(
    cloud, tmp_path, data_file, outcome
):
    cloud.job_statuses = ["Queued", "Running", outcome]
    cloud.job_error = "ValueError: Input contains NaN" if outcome == "Failed" else None

    with pytest.raises(UserError, match=rf"ended {outcome}; its logs are in Studio: https://"):
        submit(tmp_path, data_file, stream=True)


def test_no_credentials_is_one_line_that_says_how_to_log_in(
    cloud, monkeypatch, tmp_path, data_file
):
    for name in ("AZURE_TENANT_ID", "AZURE_CLIENT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("PATH", str(tmp_path / "no-tools"))  # no az, azd or pwsh to fall back on

    with pytest.raises(UserError, match="no usable Azure credentials: log in with `az login`"):
        submit(tmp_path, data_file)
    assert cloud.jobs_created == []
    assert cloud.imds_probes >= 1  # the managed-identity probe went to the fake, not the network


def test_a_wrong_client_secret_is_refused_with_the_same_advice(cloud, tmp_path, data_file):
    cloud.service_principal = (cloud.service_principal[0], "another-secret")

    with pytest.raises(UserError, match="AZURE_CLIENT_SECRET") as raised:
        submit(tmp_path, data_file)
    assert "fake-client-secret" not in str(raised.value)


def test_an_unknown_workspace_names_the_workspace_and_the_variables(
    cloud, monkeypatch, tmp_path, data_file
):
    monkeypatch.setenv("AZUREML_WORKSPACE_NAME", "no-such-ws")

    with pytest.raises(
        UserError, match=r"workspace 'no-such-ws' not found.*AZUREML_WORKSPACE_NAME"
    ):
        submit(tmp_path, data_file)


def test_a_401_from_azure_ml_says_the_credentials_were_refused(cloud, tmp_path, data_file):
    cloud.fail("GET", r"/workspaces/ws-fake$", 401)

    with pytest.raises(UserError, match=r"Azure refused the credentials \(401\)"):
        submit(tmp_path, data_file)


def test_a_missing_workspace_setting_is_named_with_how_to_set_it(
    cloud, monkeypatch, tmp_path, data_file
):
    monkeypatch.delenv("AZURE_RESOURCE_GROUP")

    with pytest.raises(UserError, match=r"set AZURE_RESOURCE_GROUP \(or --resource-group\)"):
        submit(tmp_path, data_file)


@pytest.mark.parametrize("status", [429, 503])
def test_throttling_and_outages_are_retried_until_the_job_is_created(
    cloud, tmp_path, data_file, status
):
    cloud.fail("PUT", r"/jobs/", status, times=1, headers={"Retry-After": "0"})
    cloud.fail("GET", r"/runs/[^/]+/details", status, times=1, headers={"Retry-After": "0"})

    assert submit(tmp_path, data_file, stream=True) == 0
    assert len(cloud.requests_to("PUT", r"/jobs/")) == 2
    assert len(cloud.jobs_created) == 1


def test_waiting_resumes_after_the_stream_breaks_on_an_outage(cloud, tmp_path, data_file):
    # No SDK retries here, so the outage reaches the wait loop, which waits and resumes.
    cloud.fail("GET", r"/runs/[^/]+/details", 503, times=2)
    said, slept = Said(), []

    code = jobs.submit(
        project_for(tmp_path, data_file),
        submission(),
        stream=True,
        say=said,
        sleep=slept.append,
        client_factory=lambda workspace, **options: connect(workspace, retry_total=0, **options),
    )

    assert code == 0
    assert slept == [2, 4]
    assert said.text().count("retrying in") == 2


def test_waiting_survives_token_refreshes(cloud, tmp_path, data_file):
    cloud.token_lifetime = 60  # well inside azure-core's refresh margin: each call re-acquires

    assert submit(tmp_path, data_file, stream=True) == 0
    assert len(cloud.tokens) > 3
    assert cloud.rejected_tokens == 0


def test_notifications_ask_azure_ml_to_email_when_the_job_ends(cloud, tmp_path, data_file):
    emails = "ml-team@example.com, lead@example.com"
    submit(tmp_path, data_file, project=project_for(tmp_path, data_file, notify_emails=emails))

    assert only_job(cloud)["notificationSetting"] == {
        "emailOn": ["JobCompleted", "JobFailed", "JobCancelled"],
        "emails": ["ml-team@example.com", "lead@example.com"],
    }


def test_a_resolved_spec_that_does_not_load_names_the_spec_to_fix_and_leaves_nothing(tmp_path):
    bad = {"$schema": "https://azuremlschemas.azureedge.net/latest/commandJob.schema.json"}
    spec = ROOT / "azureml" / "train.yml"
    with pytest.raises(UserError, match=r"^azureml/train\.yml does not resolve .* fix it there$"):
        jobs.write_spec({**bad, "type": "command"}, tmp_path / "job.yml", spec)
    assert list(tmp_path.iterdir()) == []


def test_a_checkout_without_commits_is_named_as_such_not_truncated(tmp_path):
    assert git_info(tmp_path).short == "uncommitted"  # tmp_path is not a git checkout
    commit = GitInfo("0123456789abcdef", "main", "a", "message", dirty=False)
    assert commit.short == "0123456"


def test_a_parquet_table_is_uploaded_as_parquet_and_the_job_reads_that_file(
    cloud, tmp_path, diabetes_csv
):
    import pandas as pd

    table = tmp_path / "diabetes.parquet"
    pd.read_csv(diabetes_csv).to_parquet(table)
    submit(tmp_path, table)

    uploaded = [n for n in cloud.blobs[cloud.default_storage] if n.endswith(".parquet")]
    assert [Path(n).name for n in uploaded] == ["diabetes.parquet"]
    [(name, asset)] = cloud.assets("data").items()
    assert name == f"diabetes-model-data:{assets.file_hash(table)}"
    assert asset["properties"]["dataUri"].endswith("/diabetes.parquet")
    assert only_job(cloud)["inputs"]["data"]["jobInputType"] == "uri_file"
