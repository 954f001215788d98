"""Serving benchmark: `invoke serve`'s server (Azure ML's azmlinfsrv running score.py) against
`mlflow models serve` on the same model, in the same run (medians of several runs).

    python benchmarks/serving.py [--runs 5] [--requests 1000] [--concurrency 8] [--write]

Both servers get one worker process, bind 127.0.0.1 and are sent the same bytes: one patient per request,
`{"dataframe_split": ...}`, which both accept. Each run sends `--requests` requests from
`--concurrency` client threads; every answer must be a 200 with one prediction, or the benchmark
fails. The runs of the two servers alternate, so a busier moment of the machine hits both alike.
The model is trained by the project's own training module into a temporary store, and the scored
inputs go to a temporary log: nothing in the project is touched.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
SECTION = "## Serving"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running(argv: list[str], env: dict[str, str], url: str, log: Path) -> Iterator[None]:
    """Start a server in its own process group, wait for it to answer, always stop it."""
    import signal

    with log.open("wb") as out:
        process = subprocess.Popen(
            argv, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        # Short probes until a deadline: a probe that times out while the model loads is retried.
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                sys.exit(f"server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if requests.get(url, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                sys.exit(f"server did not start within 120 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def load(url: str, bodies: list[bytes], requests_total: int, concurrency: int) -> dict[str, float]:
    """Send the requests from `concurrency` threads; latency percentiles, throughput, errors."""
    local = threading.local()
    headers = {"Content-Type": "application/json"}

    def one(index: int) -> tuple[float, bool]:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = bodies[index % len(bodies)]
        start = time.perf_counter()
        try:
            response = session.post(url, data=body, headers=headers, timeout=30)
            ok = response.status_code == 200 and len(response.json()["predictions"]) == 1
        except (requests.RequestException, ValueError, KeyError, TypeError):
            ok = False
        return time.perf_counter() - start, ok

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        results = list(pool.map(one, range(requests_total)))
    elapsed = time.perf_counter() - started
    latencies = sorted(seconds * 1000 for seconds, _ in results)
    return {
        "p50_ms": statistics.median(latencies),
        "p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        "throughput_rps": requests_total / elapsed,
        "errors": sum(not ok for _, ok in results),
    }


def train_model(work: Path) -> Path:
    """The project's model, trained and registered into a temporary store, copied out of it."""
    from diabetes_model.dataset import write_bundled_dataset
    from diabetes_model.serving.serve import download_model, latest_version

    data = work / "diabetes.csv"
    write_bundled_dataset(data, "target")
    store = f"sqlite:///{(work / 'mlflow.db').as_posix()}"
    command = [sys.executable, "-m", "diabetes_model.train", "--data", str(data)]
    command += ["--experiment", "benchmark", "--model-name", "diabetes-regressor"]
    done = subprocess.run(
        command, env={**os.environ, "MLFLOW_TRACKING_URI": store}, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"training failed:\n{done.stderr[-3000:]}")
    return download_model(store, latest_version(store, "diabetes-regressor"), work / "models")


def request_bodies(work: Path, count: int = 50) -> list[bytes]:
    import pandas as pd

    frame = pd.read_csv(work / "diabetes.csv").drop(columns=["target"]).head(count)
    return [
        json.dumps({"dataframe_split": {"columns": list(frame.columns), "data": [row]}}).encode()
        for row in frame.to_numpy().tolist()
    ]


def servers(model_dir: Path, work: Path) -> dict[str, tuple[list[str], dict[str, str], str]]:
    from diabetes_model.serving.serve import server_plan

    port = free_port()
    plan = server_plan(model_dir, port=port, input_log=work / "inputs.jsonl")
    mlflow_port = free_port()
    mlflow_serve = [sys.executable, "-m", "mlflow", "models", "serve", "-m", str(model_dir)]
    mlflow_serve += ["--env-manager", "local", "-h", "127.0.0.1", "-p", str(mlflow_port), "-w", "1"]
    return {
        "invoke serve (azmlinfsrv + score.py)": (
            list(plan.argv),
            dict(plan.env),
            f"http://127.0.0.1:{port}/score",
        ),
        "mlflow models serve": (
            mlflow_serve,
            # It starts `uvicorn` by name: the venv's bin must be on PATH.
            {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"},
            f"http://127.0.0.1:{mlflow_port}/invocations",
        ),
    }


def measure(args: argparse.Namespace) -> dict[str, list[dict[str, float]]]:
    with tempfile.TemporaryDirectory(prefix="serving-benchmark-") as folder, ExitStack() as stack:
        work = Path(folder)
        model_dir = train_model(work)
        bodies = request_bodies(work)
        contenders = servers(model_dir, work)
        for number, (argv, env, url) in enumerate(contenders.values()):
            health = url.rsplit("/", 1)[0] + ("/ping" if url.endswith("invocations") else "/")
            stack.enter_context(running(argv, env, health, work / f"server-{number}.log"))
        for _, _, url in contenders.values():
            load(url, bodies, 50, args.concurrency)  # warm-up
        runs: dict[str, list[dict[str, float]]] = {name: [] for name in contenders}
        for run in range(args.runs):
            for name, (_, _, url) in contenders.items():
                result = load(url, bodies, args.requests, args.concurrency)
                runs[name].append(result)
                print(f"run {run + 1}, {name}: {_line(result)}", flush=True)
        return runs


def summary(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {
        name: {key: statistics.median(r[key] for r in results) for key in results[0]}
        for name, results in runs.items()
    }


def _line(result: dict[str, float]) -> str:
    return (
        f"p50 {result['p50_ms']:.1f} ms, p95 {result['p95_ms']:.1f} ms, "
        f"{result['throughput_rps']:.0f} req/s, {result['errors']:.0f} errors"
    )


def markdown(medians: dict[str, dict[str, float]], args: argparse.Namespace) -> str:
    from diabetes_model.serving.server import SERVER_ENVIRONMENT

    ours, theirs = medians.values()
    lines = [
        SECTION,
        "",
        f"`python benchmarks/serving.py --runs {args.runs} --requests {args.requests} "
        f"--concurrency {args.concurrency} --write`, {datetime.now(UTC):%Y-%m-%d}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}. Medians of {args.runs} "
        f"runs of {args.requests} requests (one patient each) from {args.concurrency} client "
        "threads on the same machine; both servers with one worker process (azmlinfsrv: "
        "started as `invoke serve` starts it, gunicorn's threaded worker "
        f"(`{SERVER_ENVIRONMENT['GUNICORN_CMD_ARGS']}`) and "
        f"`OMP_NUM_THREADS={SERVER_ENVIRONMENT['OMP_NUM_THREADS']}`; mlflow: uvicorn, "
        "its defaults), the same model and the same request bytes; runs alternate between the "
        "servers. Every answer was a 200 with one prediction (the script fails otherwise).",
        "",
        "| server | p50 latency | p95 latency | throughput | errors |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, m in medians.items():
        lines.append(
            f"| {name} | {m['p50_ms']:.1f} ms | {m['p95_ms']:.1f} ms | "
            f"{m['throughput_rps']:.0f} req/s | {m['errors']:.0f} |"
        )
    ratio = ours["throughput_rps"] / theirs["throughput_rps"]
    lines += [
        "",
        f"Throughput ratio (azmlinfsrv / mlflow): {ratio:.2f}. azmlinfsrv's figure includes what "
        "score.py does beyond predicting: checking every request against the signature and "
        "appending the scored rows to the drift log.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str, path: Path) -> None:
    """Replace this benchmark's section of docs/benchmarks.md (or add it); others stay as they are."""
    existing = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    start = existing.find(f"\n{SECTION}\n")
    if start == -1:
        updated = existing.rstrip("\n") + "\n\n" + text
    else:
        end = existing.find("\n## ", start + 1)
        tail = existing[end:] if end != -1 else "\n"
        updated = existing[: start + 1] + text.rstrip("\n") + "\n" + tail
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(updated, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs per server")
    parser.add_argument("--requests", type=int, default=1000, help="requests per run")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args(argv)
    runs = measure(args)
    medians = summary(runs)
    text = markdown(medians, args)
    print(text)
    errors = sum(r["errors"] for results in runs.values() for r in results)
    if errors:
        print(f"FAILED: {errors:.0f} requests did not get a good answer", file=sys.stderr)
        return 1
    if args.write:
        write_section(text, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
