"""`invoke train` on large tables against a bare read + split + fit of the same pipeline, in the same
run (medians of the alternating runs; wall time and peak memory of each command's process tree).

    python benchmarks/big_tables.py [--runs 3] [--rows 1000000] [--only numeric|classification]

Two tables of 1,000,000 rows, generated with a fixed seed:
- numeric: 19 normal features and a numeric target (regression), 374 MiB of CSV;
- classification: 15 numbers (two with 1% missing) and 5 text columns of 4 to 250 categories (0.5%
  to 5% missing), and a three-class target, about 315 MiB.

Targets: `invoke train --no-register` at most 1.3x the bare run's time, with peak memory at most
1.2x the bare run's. Every MLflow run goes to a temporary store; nothing in the project is touched.
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


def numeric_table(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    features = rng.normal(size=(rows, 19))
    frame = pd.DataFrame(features, columns=[f"x{i}" for i in range(19)])
    frame["target"] = features @ rng.normal(size=19) + rng.normal(scale=0.5, size=rows)
    frame.to_csv(path, index=False)


def classification_table(path: Path, rows: int, seed: int = 0) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numbers = rng.normal(size=(rows, 15))
    score = numbers @ rng.normal(scale=0.6, size=15)
    frame = pd.DataFrame(numbers, columns=[f"x{i}" for i in range(15)])
    for i in (13, 14):
        frame.loc[rng.random(rows) < 0.01, f"x{i}"] = np.nan
    for j, (count, missing) in enumerate(
        zip((4, 12, 30, 100, 250), (0.005, 0.01, 0.02, 0.03, 0.05), strict=True)
    ):
        weights = 1.0 / np.arange(1, count + 1)  # a few common categories, many rare ones
        codes = rng.choice(count, size=rows, p=weights / weights.sum())
        score += rng.normal(scale=0.8, size=count)[codes]
        values = np.array([f"c{j}_{c:03d}" for c in range(count)], dtype=object)[codes]
        values[rng.random(rows) < missing] = None
        frame[f"c{j}"] = values
    score += rng.logistic(size=rows)
    frame["target"] = np.searchsorted(np.quantile(score, [0.5, 0.8]), score)
    frame.to_csv(path, index=False)


def measured(command: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds, and peak resident MiB of the largest process of the command's tree."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE)  # fmt: skip
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        sys.exit(f"benchmark command failed: {' '.join(command)}\n{process.stderr.read()[-2000:]}")
    return seconds, usage.ru_maxrss / 1024


def compare(name: str, data: Path, runs: int, store: Path) -> str:
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store / 'mlflow.db'}"}
    # The table as a user brings it: every column but the target, the task decided from the data.
    env |= {"INVOKE_PROJECT_FEATURES": "", "INVOKE_PROJECT_TARGET": "target"}
    ours = [str(BIN / "invoke"), "train", "--data", str(data), "--no-register"]
    bare = [sys.executable, str(ROOT / "benchmarks" / "bare_fit.py"), str(data), "target"]
    measured(ours, env)  # warm-up: the store is created, the file is in the page cache
    results: dict[str, list[tuple[float, float]]] = {"ours": [], "bare": []}
    for _ in range(runs):
        results["ours"].append(measured(ours, env))
        results["bare"].append(measured(bare, env))
    time_ours, time_bare = (statistics.median(t for t, _ in results[k]) for k in ("ours", "bare"))
    peak_ours, peak_bare = (statistics.median(m for _, m in results[k]) for k in ("ours", "bare"))
    runs_text = " / ".join(", ".join(f"{t:.1f}" for t, _ in results[k]) for k in ("ours", "bare"))
    return (
        f"| {name} | {time_ours:.1f} s | {time_bare:.1f} s | {time_ours / time_bare:.2f} | "
        f"{peak_ours:,.0f} MiB | {peak_bare:,.0f} MiB | {peak_ours / peak_bare:.2f} | {runs_text} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--only", choices=("numeric", "classification"))
    args = parser.parse_args()
    tables = {"numeric": numeric_table, "classification": classification_table}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.runs} runs\n")
    print("| table | `invoke train` | bare | time ratio | peak, ours | peak, bare | memory ratio "
          "| runs, s (ours / bare) |")  # fmt: skip
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for name, make in tables.items():
        if args.only and name != args.only:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / f"{name}.csv"
            make(data, args.rows)
            label = f"{name}, {args.rows:,} rows ({data.stat().st_size / 2**20:.0f} MiB CSV)"
            print(compare(label, data, args.runs, Path(tmp) / "store"), flush=True)


if __name__ == "__main__":
    main()
