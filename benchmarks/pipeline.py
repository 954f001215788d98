"""Benchmark of `invoke pipeline` on the demo data (medians, measured in the same run):

    python benchmarks/pipeline.py [--runs 5]

1. a full run (`--force`: prep, train, evaluate, register all run) against `invoke train`
   (target: at most 1.5 times as long);
2. a run whose steps are all reused against the full run (target: under half its time).

Every MLflow run and every step output goes to a temporary folder; nothing in the project is
touched. The three commands alternate, so a busier moment of the machine hits all of them alike.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from local_loop import INVOKE, ROOT, environment, timed


def measure(runs: int) -> dict[str, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        env = environment(tmp_path / "store")
        env["INVOKE_PIPELINE_OUTPUT_DIR"] = str(tmp_path / "pipeline")
        data = tmp_path / "diabetes.csv"
        subprocess.run([INVOKE, "data", "--output", str(data)], cwd=ROOT, env=env, check=True,
                       capture_output=True)  # fmt: skip
        commands = {
            "train": [INVOKE, "train", "--data", str(data)],
            "full": [INVOKE, "pipeline", "--data", str(data), "--force"],
            "reused": [INVOKE, "pipeline", "--data", str(data)],
        }
        for command in commands.values():  # warm-up: caches, the store, a first champion
            timed(command, ROOT, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(runs):
            for name, command in commands.items():
                times[name].append(timed(command, ROOT, env)[0])
        check_reused(commands["reused"], env)
        return times


def check_reused(command: list[str], env: dict[str, str]) -> None:
    """The "reused" runs must have reused every step, or the comparison means nothing."""
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    if "prep reused, train reused, evaluate reused, register reused" not in done.stdout:
        sys.exit(f"the all-reused run ran a step:\n{done.stdout[-2000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    times = measure(args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.runs} runs\n")
    print("| measurement | ours | baseline | ratio | target | runs (ours / baseline), s |")
    print("| --- | ---: | ---: | ---: | --- | --- |")
    rows = [
        ("`invoke pipeline --force` (every step runs) vs `invoke train`", "full", "train", 1.5),
        (
            "`invoke pipeline`, every step reused, vs `invoke pipeline --force`",
            "reused",
            "full",
            0.5,
        ),
    ]
    for label, ours, baseline, target in rows:
        ratio = medians[ours] / medians[baseline]
        met = "met" if ratio <= target else "NOT met"
        runs = " / ".join(", ".join(f"{t:.2f}" for t in times[name]) for name in (ours, baseline))
        print(
            f"| {label} | {medians[ours]:.2f} s | {medians[baseline]:.2f} s | {ratio:.2f} "
            f"| at most {target}: {met} | {runs} |"
        )


if __name__ == "__main__":
    main()
