"""What git says about the code, as runs, jobs and model versions record it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from diabetes_model.gitinfo import git_info
from diabetes_model.lineage import collect_lineage

GIT = ["git", "-c", "user.name=Ada", "-c", "user.email=ada@example.org"]


def commit_all(repo: Path, message: str) -> str:
    subprocess.run([*GIT, "add", "."], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", message], cwd=repo, check=True)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_clean_checkout_gives_its_commit_author_and_message_and_is_not_dirty(tmp_path):
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=tmp_path, check=True)
    (tmp_path / "model.py").write_text("x = 1\n")
    commit = commit_all(tmp_path, "Train on the new features")

    info = git_info(tmp_path)
    assert (info.commit, info.branch, info.author) == (commit, "main", "Ada")
    assert info.message == "Train on the new features"
    assert info.dirty is False and info.short == commit[:7]


def test_a_changed_tracked_file_makes_the_checkout_dirty_in_the_lineage(tmp_path):
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "model.py").write_text("x = 1\n")
    (tmp_path / "d.csv").write_text("a,target\n1,2\n")
    commit_all(tmp_path, "first")
    assert collect_lineage(tmp_path / "d.csv", 1, cwd=tmp_path).as_tags()["git.dirty"] == "false"

    (tmp_path / "model.py").write_text("x = 2\n")
    tags = collect_lineage(tmp_path / "d.csv", 1, cwd=tmp_path).as_tags()
    assert tags["git.dirty"] == "true"


def test_outside_a_checkout_the_commit_is_named_uncommitted_and_dirtiness_unknown(tmp_path):
    (tmp_path / "d.csv").write_text("a,target\n1,2\n")
    tags = collect_lineage(tmp_path / "d.csv", 1, cwd=tmp_path).as_tags()
    assert (tags["git.commit"], tags["git.dirty"]) == ("uncommitted", "unknown")
