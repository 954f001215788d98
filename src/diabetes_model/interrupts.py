"""Interrupts during a training: Ctrl-C and SIGTERM end the MLflow run KILLED, in one line, and a
run whose process was killed outright is ended KILLED by the next training on this machine.

MLflow itself records a Ctrl-C as FAILED and leaves a run RUNNING for good on SIGTERM.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def interruptible_run(**start: Any) -> Iterator[Any]:
    """An MLflow run that ends KILLED on Ctrl-C or SIGTERM (MLflow would say FAILED, or leave it
    RUNNING for good on SIGTERM), tagged with its process so a later run can end it if the
    process is killed outright."""
    import mlflow

    previous = sigterm_as_interrupt()
    try:
        with mlflow.start_run(**start) as run:
            mlflow.set_tags({"process.host": socket.gethostname(), "process.pid": str(os.getpid())})
            try:
                yield run
            except KeyboardInterrupt:
                with signals_ignored():
                    mlflow.end_run("KILLED")
                raise
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def sigterm_as_interrupt() -> Any:
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does; the previous handler, or None off the
    main thread (a notebook's worker), where signals cannot be handled."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        return signal.signal(signal.SIGTERM, interrupt)
    except ValueError:
        return None


@contextlib.contextmanager
def signals_ignored() -> Iterator[None]:
    """A second Ctrl-C must not interrupt recording the first one."""
    try:
        previous = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:
        previous = {}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def end_orphaned_runs(tracking_uri: str, experiment_id: str) -> None:
    """Runs of this machine whose process is gone (killed outright) end KILLED, not RUNNING."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri)
    host = socket.gethostname()
    for run in client.search_runs([experiment_id], "attributes.status = 'RUNNING'"):
        tags = run.data.tags
        pid = tags.get("process.pid", "")
        if tags.get("process.host") == host and pid.isdigit() and not _alive(int(pid)):
            client.set_terminated(run.info.run_id, "KILLED")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
