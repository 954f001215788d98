"""Benchmarks of the local loop, each against a baseline measured in the same run (medians).

    python benchmarks/local_loop.py [--runs 5]

1. `invoke --list` in this project against `invoke --list` on an empty task file (target < 0.5 s).
2. `invoke train` against benchmarks/autolog_baseline.py, which does what the common examples do:
   mlflow.autolog() around a fit of the same pipeline on the same data (target: at most half its time).
Large tables have their own benchmark against a bare fit: benchmarks/big_tables.py.

Every MLflow run goes to a temporary SQLite store; nothing in the project is touched. The runs of two
commands alternate, so a slower or busier moment of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INVOKE = str(BIN / "invoke")


def timed(command: list[str], cwd: Path, env: dict[str, str], check: bool = True) -> float:
    """Wall time of one command."""
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    return elapsed


def alternate(commands: dict[str, tuple[list[str], Path, dict[str, str]]], runs: int):
    # invoke exits 1 on an empty task file ("No tasks found"), after doing all the work we time.
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, (command, cwd, env) in commands.items():  # warm-up: caches, store creation
        timed(command, cwd, env, check=name != "empty")
    for _ in range(runs):
        for name, (command, cwd, env) in commands.items():
            times[name].append(timed(command, cwd, env, check=name != "empty"))
    return {name: statistics.median(values) for name, values in times.items()}, times


def environment(store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.runs} runs\n")
    print("| measurement | ours | baseline | ratio | runs (ours / baseline) |")
    print("| --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        empty = tmp_path / "empty"
        empty.mkdir()
        (empty / "tasks.py").write_text("")
        env = environment(tmp_path / "store")
        medians, raw = alternate(
            {
                "ours": ([INVOKE, "--list"], ROOT, env),
                "empty": ([INVOKE, "--list"], empty, env),
            },
            args.runs,
        )
        report("`invoke --list`", medians["ours"], medians["empty"], raw["ours"], raw["empty"])

        data = tmp_path / "diabetes.csv"
        subprocess.run([INVOKE, "data", "--output", str(data)], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        medians, raw = alternate(
            {
                "ours": ([INVOKE, "train", "--data", str(data)], ROOT, env),
                # In the temporary folder: autolog's artifacts go to ./mlruns of the working folder.
                "autolog": (
                    [sys.executable, str(ROOT / "benchmarks" / "autolog_baseline.py"), str(data)],
                    tmp_path,
                    env,
                ),
            },
            args.runs,
        )
        report(
            "`invoke train` vs autolog",
            medians["ours"],
            medians["autolog"],
            raw["ours"],
            raw["autolog"],
        )


def report(
    name: str, ours: float, baseline: float, ours_runs: list[float], base_runs: list[float]
) -> None:
    runs = (
        ", ".join(f"{t:.2f}" for t in ours_runs) + " / " + ", ".join(f"{t:.2f}" for t in base_runs)
    )
    print(f"| {name} | {ours:.2f} s | {baseline:.2f} s | {ours / baseline:.2f} | {runs} |")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
