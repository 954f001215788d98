"""Copier task: turn the demo's names into the answers, in the files Copier just rendered.

The template's files hold no Jinja: each demo name is one literal that stands for one answer
(diabetes_model: the package, diabetes-regressor: the model, diabetes-model: the project and the
names made from it, cpu-cluster: the compute). Copier runs this after every render (the copy, and
the old and new renders of `copier update`) in the folder it rendered into, with its own Python:
so the standard library only, and the same answers give the same files every time.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

DEMO_PACKAGE = "diabetes_model"
# The template's own files: never part of a project (removed when adopting in place).
TEMPLATE_ONLY = ("copier.yml", ".copier", ".copier-answers.yml.jinja", "tests/test_template.py")
# Between these marker lines (the lines included) is what the deploy and monitoring parts add.
DEPLOY_BLOCK = re.compile(
    r"^[^\n]*copier: deploy-begin[^\n]*\n.*?^[^\n]*copier: deploy-end[^\n]*\n", re.M | re.S
)
# A line holding this marker (a table row, a list item) is one of those parts too.
DEPLOY_LINE = re.compile(r"^[^\n]*<!-- copier: deploy-line -->[^\n]*\n", re.M)
# What a project without those parts says instead: hidden in a comment here, shown there.
NO_DEPLOY_TEXT = re.compile(
    r"^[ \t]*<!-- copier: no-deploy-begin\n(.*?)^[ \t]*copier: no-deploy-end -->\n", re.M | re.S
)
# Without the deploy parts nothing serves, so a version becomes the champion when it is registered.
WITHOUT_DEPLOY = {
    "--champion-on deploy": "--champion-on registration",
    "[Serve, deploy and monitor](#serve-deploy-and-monitor)": "[Serve and monitor](#serve-and-monitor)",
}
# Between these marker lines is the demo's own description, replaced when the data is yours.
DEMO_BLOCK = re.compile(r"(<!-- copier: demo-begin -->\n).*?(<!-- copier: demo-end -->)", re.S)


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--template", type=Path, required=True)
    for name in (
        "project-name",
        "package-name",
        "model-name",
        "data-source",
        "data-sha256",
        "data-target",
        "data-task",
        "compute-name",
        "include-deploy",
    ):
        parser.add_argument(f"--{name}", required=True)
    return parser.parse_args(argv)


def shipped(template: Path) -> list[Path]:
    """The template's regular files, relative to it, as Copier may have rendered them."""
    found = []
    for path in sorted(template.rglob("*")):
        rel = path.relative_to(template)
        if rel.parts[0] == ".git" or "__pycache__" in rel.parts or path.is_symlink():
            continue
        if path.is_file() and not path.name.endswith(".jinja") and not _template_only(rel):
            found.append(rel)
    return found


def _template_only(rel: Path) -> bool:
    return any(rel == Path(name) or Path(name) in rel.parents for name in TEMPLATE_ONLY)


def moved(rel: Path, package: str) -> Path:
    """Where a template file lands: the package folder takes the package's name."""
    if rel.parts[:2] == ("src", DEMO_PACKAGE):
        return Path("src", package, *rel.parts[2:])
    return rel


def renamer(a: argparse.Namespace):
    """One pass over the text, so that an answer containing a demo name is never renamed twice."""
    names = {
        "DIABETES_MODEL": a.package_name.upper(),
        DEMO_PACKAGE: a.package_name,
        "diabetes-regressor": a.model_name,
        "diabetes-model": a.project_name,
        "cpu-cluster": a.compute_name,
    }
    pattern = re.compile("|".join(re.escape(name) for name in names))
    return lambda text: pattern.sub(lambda match: names[match.group(0)], text)


def table_name(source: str) -> str:
    """The file name `invoke data` gives the table: the last part of the path or the URL's path."""
    path = urlsplit(source).path if "://" in source else source
    return PurePosixPath(path.replace("\\", "/")).name


def own_data(rel: str, text: str, a: argparse.Namespace) -> str:
    """Point the settings and the specs at the user's table instead of the bundled one."""
    name = table_name(a.data_source)
    if rel == "invoke.yaml":
        values = {
            "data_source": a.data_source,
            "data_sha256": a.data_sha256,
            "data_path": f"data/{name}",
            "target": a.data_target,
            "task": a.data_task,
            "features": "",
        }
        for key, value in values.items():  # a JSON string is a YAML string, quoted as needed
            line = f"  {key}: {json.dumps(value)}"
            text = re.sub(rf"^  {key}:.*$", lambda _, x=line: x, text, count=1, flags=re.M)
    if rel == "README.md" or rel.startswith("azureml/"):
        text = text.replace("data/diabetes.csv", f"data/{name}")
    text = re.sub(
        r"^(description: ).*[Dd]iabetes.*$",
        lambda m: f"{m.group(1)}{json.dumps(f'{a.data_target} from the columns of {name}')}",
        text,
        flags=re.M,
    )
    return DEMO_BLOCK.sub(
        lambda m: (
            f"{m.group(1)}The model predicts `{a.data_target}` from the columns of "
            f"`{name}` ({a.data_source}).\n{m.group(2)}"
        ),
        text,
    )


def formatted(root: Path, files: list[Path]) -> None:
    """New names change line lengths and import order, and a removed block leaves blank lines
    and imports that only it used: let ruff settle them."""
    code = [str(p) for p in files if p.suffix in {".py", ".ipynb"} and p.is_file()]
    ruff = [sys.executable, "-m", "ruff"]
    if not code or subprocess.run([*ruff, "--version"], capture_output=True).returncode:
        ruff = [shutil.which("ruff") or ""]
        if not ruff[0]:
            print("rename: ruff not found; run `ruff format` and `ruff check --fix` once yourself")
            return
    quiet = {"cwd": root, "capture_output": True}
    subprocess.run([*ruff, "check", "--fix", "--select", "I,F401", "--quiet", *code], **quiet)
    subprocess.run([*ruff, "format", "--quiet", *code], **quiet)


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    root = Path.cwd()
    deploy = a.include_deploy.lower() in {"true", "1", "yes"}
    rename = renamer(a)
    written = []
    for rel in shipped(a.template):
        source, target = root / rel, root / moved(rel, a.package_name)
        if source != target and source.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            source.replace(target)
        if not target.is_file():
            continue  # excluded by _exclude, or deleted in the project
        try:
            text = target.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary: copied as it is
        new = rename(text)
        if a.data_source != "bundled":
            new = own_data(rel.as_posix(), new, a)
        if not deploy:
            new = NO_DEPLOY_TEXT.sub(r"\1", DEPLOY_LINE.sub("", DEPLOY_BLOCK.sub("", new)))
            for demo_text, answer in WITHOUT_DEPLOY.items():
                new = new.replace(demo_text, answer)
        if new != text:
            target.write_text(new, encoding="utf-8")  # in place: the file mode stays
            written.append(target)
    demo = root / "src" / DEMO_PACKAGE
    if a.package_name != DEMO_PACKAGE and demo.is_dir():
        for folder in [*sorted((p for p in demo.rglob("*") if p.is_dir()), reverse=True), demo]:
            if not any(folder.iterdir()):
                folder.rmdir()  # only the folders the move emptied
    if root.resolve() != a.template.resolve():
        for name in TEMPLATE_ONLY:  # a "Use this template" checkout adopted in place
            path = root / name
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    if written:
        formatted(root, written)
    return 0


if __name__ == "__main__":
    sys.exit(main())
