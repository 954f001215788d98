"""What `invoke deploy` says as it goes, and the summary it leaves in GitHub Actions: each step,
the candidate's metrics against the champion it was judged with, the decision, and links to the
pipeline job in Studio and to the endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from diabetes_model.console import Say
from diabetes_model.run_summary import append_step_summary, markdown, tag_metrics

if TYPE_CHECKING:
    from diabetes_model.azure.release import Release
    from diabetes_model.project import Project


@dataclass
class Report:
    """The lines said and the rows of the summary, gathered while deploying."""

    project: Project
    environ: Mapping[str, str]
    say: Say
    steps: list[tuple[str, str]] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    def step(self, name: str, what: str) -> None:
        self.say(f"{name}: {what}")
        self.steps.append((name, what))

    def who(self) -> tuple[str, str]:
        """Who deploys (the GitHub actor in CI, else the git author) and the CI run's URL."""
        from diabetes_model.gitinfo import git_info
        from diabetes_model.governance import Provenance

        provenance = Provenance.collect(git_info(self.project.root), self.environ)
        return provenance.triggered_by or "unknown", provenance.ci_run_url

    def chosen(self, name: str, release: Release, champion: str | None) -> None:
        """The version to deploy, why it may ship, and how it was judged."""
        how = "named by hand" if release.trigger == "manual" else "chosen by the gate"
        self.step("model", f"{name}:{release.version}, {how}; gate: {release.verdict}")
        self.step("champion before", f"version {champion}" if champion else "none")
        self.metrics = tag_metrics(release.tags)
        job = release.tags.get("pipeline.run")
        if job:
            arm_id = self.project.azure.workspace().arm_id
            self.links.append(
                f"[pipeline {job} in Studio](https://ml.azure.com/runs/{job}?wsid={arm_id})"
            )

    def link_endpoint(self, endpoint: str) -> None:
        from diabetes_model.azure.endpoints import studio_endpoint_url

        url = studio_endpoint_url(self.project.azure.workspace(), endpoint)
        self.links.append(f"[endpoint {endpoint} in Studio]({url})")

    def nothing(self, reason: str) -> None:
        """Nothing deployed: said in one line, and summarized."""
        self.say(reason)
        self.summarize("Deploy: nothing deployed", reason)

    def failed(self, error: str) -> None:
        """A deployment that stopped after choosing its version: the summary says where."""
        if self.steps:
            self.summarize("Deploy failed", f"not deployed: {error}")

    def summarize(self, title: str, verdict: str) -> None:
        text = markdown(title, self.steps, verdict, " · ".join(self.links), self.metrics)
        append_step_summary(self.environ, text)
