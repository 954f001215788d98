"""Benchmarks of the local loop, each against a baseline measured in the same run (medians).

    python benchmarks/local_loop.py [--runs 5] [--big-rows 1000000]

1. `invoke --list` in this project against `invoke --list` on an empty task file (target < 0.5 s).
2. `invoke train` against benchmarks/autolog_baseline.py, which does what the common examples do:
   mlflow.autolog() around a fit of the same pipeline on the same data (target: at most half its time).
3. Time and peak memory of `invoke train` on a synthetic CSV of 1,000,000 rows and 20 columns.

Every MLflow run goes to a temporary SQLite store; nothing in the project is touched. The runs of two
commands alternate, so a slower or busier moment of the machine hits both alike.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
INVOKE = str(BIN / "invoke")


def timed(
    command: list[str], cwd: Path, env: dict[str, str], check: bool = True
) -> tuple[float, int]:
    """Wall time of one command, and the peak resident memory (KiB) of its largest process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    # ru_maxrss of children is a high-water mark over all of them: read it as the peak only when
    # it grew, which is why the big-data run goes first in its own process (see main).
    return elapsed, max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before)


def alternate(commands: dict[str, tuple[list[str], Path, dict[str, str]]], runs: int):
    # invoke exits 1 on an empty task file ("No tasks found"), after doing all the work we time.
    times: dict[str, list[float]] = {name: [] for name in commands}
    for name, (command, cwd, env) in commands.items():  # warm-up: caches, store creation
        timed(command, cwd, env, check=name != "empty")
    for _ in range(runs):
        for name, (command, cwd, env) in commands.items():
            times[name].append(timed(command, cwd, env, check=name != "empty")[0])
    return {name: statistics.median(values) for name, values in times.items()}, times


def environment(store: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def synthetic_csv(path: Path, rows: int, columns: int = 20) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    features = rng.normal(size=(rows, columns - 1))
    weights = rng.normal(size=columns - 1)
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(columns - 1)])
    frame["target"] = features @ weights + rng.normal(scale=0.5, size=rows)
    frame.to_csv(path, index=False)


def bench_big(rows: int, runs: int) -> None:
    """Runs in a child process of its own so that ru_maxrss is this workload's alone."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "big.csv"
        synthetic_csv(data, rows)
        env = environment(tmp_path / "store")
        command = [INVOKE, "train", "--data", str(data), "--no-register"]
        results = [timed(command, ROOT, env) for _ in range(runs)]
        seconds = statistics.median(t for t, _ in results)
        peak_mib = max(m for _, m in results) / 1024
        size_mib = data.stat().st_size / 2**20
        print(f"| `invoke train`, {rows:,} rows x 20 columns ({size_mib:.0f} MiB CSV) "
              f"| {seconds:.1f} s | peak RSS {peak_mib:,.0f} MiB | runs: "
              + ", ".join(f"{t:.1f}" for t, _ in results) + " |")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--only-big", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.only_big:
        bench_big(args.big_rows, args.runs)
        return

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

    print()
    print("| measurement | median time | memory | runs (s) |")
    print("| --- | --- | --- | --- |")
    sys.stdout.flush()
    subprocess.run(
        [
            sys.executable,
            __file__,
            "--only-big",
            "--runs",
            str(args.runs),
            "--big-rows",
            str(args.big_rows),
        ],
        check=True,
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
