"""Run notebooks top to bottom with nbclient and keep the executed copies:
`python -m diabetes_model.workstation.notebooks notebooks --output notebooks/executed`
(`invoke notebooks`).

The kernel is always this interpreter, under the notebooks' kernel name: a kernel spec written to a
temporary folder, so no Jupyter install in the user's home is needed or changed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from diabetes_model.console import Say
from diabetes_model.errors import UserError, first_line

# The kernel the notebooks name in their metadata; the devcontainer registers it for the editor.
KERNEL_NAME = "diabetes-model"


@dataclass(frozen=True)
class Executed:
    source: Path
    output: Path
    seconds: float
    error: str | None  # what stopped it, in one line; None when every cell ran


def notebooks_in(paths: Iterable[Path], match: str = "") -> list[Path]:
    """The .ipynb files given, or found directly in the folders given, by name."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if p.is_file())
        elif path.suffix == ".ipynb" and path.is_file():
            found.append(path)
        else:
            raise UserError(f"{path} is not a notebook or a folder of notebooks; check the path")
    chosen = [p for p in found if match in p.name]
    if not chosen:
        what = f" matching '{match}'" if match else ""
        raise UserError(f"no notebooks{what} in {', '.join(map(str, paths))}")
    return chosen


def execute_notebook(
    source: Path,
    output: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: int = 600,
) -> Executed:
    """Execute every cell in order in a fresh kernel and write the executed copy to `output`,
    also when a cell fails (the copy then ends with that cell's error)."""
    try:
        import nbformat
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
    except ImportError as missing:
        raise UserError(
            f"running notebooks needs the development tools ({missing.name} is missing): "
            "pip install -e '.[dev]'"
        ) from None

    try:
        notebook = nbformat.read(source, as_version=4)
    except (OSError, ValueError) as error:  # nbformat's NotJSONError is a ValueError
        raise UserError(
            f"{source} is not a readable notebook ({first_line(str(error))}); restore it from git"
        ) from None
    started = time.perf_counter()
    error = None
    with tempfile.TemporaryDirectory(prefix="notebook-kernel-") as scratch:
        client = NotebookClient(
            notebook,
            km=_kernel_manager(Path(scratch)),
            timeout=timeout,
            resources={"metadata": {"path": str(cwd or source.parent)}},
        )
        try:
            # cleanup_kc: shut the kernel down afterwards, although the manager is ours.
            client.execute(env=dict(os.environ if env is None else env), cleanup_kc=True)
        except CellExecutionError as failure:
            error = f"{failure.ename}: {first_line(failure.evalue)}"
        except CellTimeoutError:
            error = f"a cell ran longer than {timeout}s; raise --timeout or make it faster"
        except DeadKernelError as failure:
            error = f"the kernel died ({first_line(str(failure))})"
    seconds = time.perf_counter() - started
    _write_whole(notebook, output)
    return Executed(source, output, seconds, error)


def _kernel_manager(scratch: Path):
    """This interpreter as the notebooks' kernel, from a kernel spec in `scratch`: no Jupyter
    install in the user's home is needed or changed."""
    from ipykernel.kernelspec import write_kernel_spec
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager

    kernels = scratch / "kernels"
    write_kernel_spec(kernels / KERNEL_NAME, overrides={"display_name": KERNEL_NAME})
    return AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(kernels)]),
        # Beside the kernel spec rather than in the user's Jupyter runtime folder.
        connection_file=str(scratch / "connection.json"),
        # CurveZMQ on the loopback sockets where pyzmq supports it, else plain TCP as before.
        transport_encryption="auto",
    )


def execute_all(
    sources: Iterable[Path],
    output_dir: Path,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: int = 600,
    say: Say = print,
) -> list[Executed]:
    """Execute each notebook in turn; one line for each, naming the cell error if there is one."""
    results = []
    for source in sources:
        say(f"running {source.name} ...")
        done = execute_notebook(source, output_dir / source.name, cwd=cwd, env=env, timeout=timeout)
        outcome = f"FAILED: {done.error}" if done.error else "ok"
        say(f"  {outcome} in {done.seconds:.1f}s, executed copy: {done.output}")
        results.append(done)
    return results


def _write_whole(notebook, output: Path) -> None:
    import nbformat

    output.parent.mkdir(parents=True, exist_ok=True)
    partial = output.with_name(f".{output.name}.partial")
    nbformat.write(notebook, partial)
    partial.replace(output)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m diabetes_model.workstation.notebooks", description=__doc__
    )
    parser.add_argument("paths", nargs="+", type=Path, help="notebooks, or folders of notebooks")
    parser.add_argument("--output", type=Path, required=True, help="folder for the executed copies")
    parser.add_argument("--match", default="", help="only notebooks whose file name contains this")
    parser.add_argument("--timeout", type=int, default=600, help="seconds each cell may take")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        sources = notebooks_in(args.paths, args.match)
        results = execute_all(sources, args.output, timeout=args.timeout)
    except UserError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    failed = [done for done in results if done.error]
    if failed:
        names = ", ".join(done.source.name for done in failed)
        print(f"error: {names} failed; open the executed copies to see the cell", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
