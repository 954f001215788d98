"""Running notebooks: this interpreter as the kernel, the executed copy kept also when a cell
fails, and one line per notebook."""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from diabetes_model.errors import UserError
from diabetes_model.workstation import notebooks as notebook_run


@pytest.fixture
def failing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # The kernel inherits the environment: its IPython profile and caches go under tmp_path.
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    notebook = new_notebook(
        metadata={"kernelspec": {"name": notebook_run.KERNEL_NAME, "display_name": "x"}},
        cells=[
            new_code_cell("import os, sys\nprint(sys.executable)\nprint(os.getcwd())"),
            new_code_cell("1 / 0"),
            new_code_cell("print('after the error')"),
        ],
    )
    path = tmp_path / "notebooks" / "broken.ipynb"
    path.parent.mkdir()
    nbformat.write(notebook, path)
    return path


def test_a_failing_cell_stops_the_run_keeps_the_copy_and_exits_1(failing, tmp_path, capsys):
    out = tmp_path / "executed"
    assert notebook_run.main([str(failing.parent), "--output", str(out), "--timeout", "60"]) == 1

    stdout, stderr = capsys.readouterr()
    assert "FAILED: ZeroDivisionError: division by zero" in stdout
    assert stderr == "error: broken.ipynb failed; open the executed copies to see the cell\n"
    executed = nbformat.read(out / "broken.ipynb", as_version=4)
    first, error, after = executed.cells
    # The kernel is this interpreter, started in the notebook's folder.
    assert first.outputs[0].text.split("\n")[:2] == [sys.executable, str(failing.parent)]
    assert error.outputs[-1].output_type == "error"
    assert after.execution_count is None and after.outputs == []
    assert [p.name for p in out.iterdir()] == ["broken.ipynb"]  # no partial file left


def test_notebooks_are_found_in_folders_and_filtered_by_name(tmp_path):
    for name in ("02-b.ipynb", "01-a.ipynb", "notes.txt"):
        (tmp_path / name).write_text("{}")
    assert [p.name for p in notebook_run.notebooks_in([tmp_path])] == ["01-a.ipynb", "02-b.ipynb"]
    assert [p.name for p in notebook_run.notebooks_in([tmp_path], "02")] == ["02-b.ipynb"]
    with pytest.raises(UserError, match="no notebooks matching 'zz' in"):
        notebook_run.notebooks_in([tmp_path], "zz")
    with pytest.raises(UserError, match=r"notes\.txt is not a notebook or a folder of notebooks"):
        notebook_run.notebooks_in([tmp_path / "notes.txt"])


def test_a_wrong_path_is_one_line_and_exit_1(tmp_path, capsys):
    assert notebook_run.main([str(tmp_path / "missing.ipynb"), "--output", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_a_notebook_that_is_not_json_is_one_line_and_exit_1(tmp_path, capsys):
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{ not json")
    assert notebook_run.main([str(broken), "--output", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {broken} is not a readable notebook (") and err.count("\n") == 1
    assert "restore it from git" in err
    assert not (tmp_path / "out").exists()
