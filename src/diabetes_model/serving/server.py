"""Run Azure ML's inference server (azmlinfsrv) bound to one address instead of all of them.

azmlinfsrv always binds 0.0.0.0, right inside a container but on a laptop it would offer the model
to the whole network. This runs the same CLI, arguments and gunicorn set-up, with `--host` added,
the environment of the deployments (threaded worker, one OpenMP thread) and two gunicorn settings
for a developer machine.
"""

from __future__ import annotations

import argparse
import os
import sys

# What the server process needs in its environment. The deployments set the same values
# (azureml/deployment-*.yml, environment_variables), since Azure ML starts azmlinfsrv itself.
SERVER_ENVIRONMENT = {
    # gunicorn's threaded worker. With its default synchronous worker, one client that sent half a
    # request held the only worker until gunicorn's timeout (azmlinfsrv sets 300 s) while every
    # other client waited; now it holds one thread of four. azmlinfsrv has no option for this, but
    # gunicorn reads GUNICORN_CMD_ARGS itself.
    "GUNICORN_CMD_ARGS": "--worker-class gthread --threads 4",
    # One OpenMP thread per prediction: a request holds a row or a few, too few to share out, and
    # on a busy machine the threads of concurrent requests' OpenMP teams waited on each other
    # (benchmarks/serving.py, 2 cores: 72 req/s with two OpenMP threads, 95 with one).
    "OMP_NUM_THREADS": "1",
}


def main(argv: list[str] | None = None) -> int:
    """`python -m diabetes_model.serving.server --host H [azmlinfsrv options...]`."""
    parser = argparse.ArgumentParser(description=__doc__, add_help=False)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)

    from azureml_inference_server_http import amlserver

    # OpenMP reads it when the worker first imports scikit-learn, after the fork.
    os.environ.setdefault("OMP_NUM_THREADS", SERVER_ENVIRONMENT["OMP_NUM_THREADS"])
    # gunicorn 26 otherwise opens a control socket in the user's home directory. Its workers'
    # heartbeat file goes to RAM, as gunicorn's docs advise: on a disk-backed /tmp a busy disk
    # stalls the worker's main loop for up to seconds (see benchmarks/serving.py).
    ours = [SERVER_ENVIRONMENT["GUNICORN_CMD_ARGS"], "--no-control-socket"]
    if os.path.isdir("/dev/shm"):
        ours.append("--worker-tmp-dir /dev/shm")
    # Later options win: a GUNICORN_CMD_ARGS already in the environment overrides these.
    os.environ["GUNICORN_CMD_ARGS"] = " ".join([*ours, os.environ.get("GUNICORN_CMD_ARGS", "")])
    # amlserver.run() passes its module-level DEFAULT_HOST to gunicorn's -b option.
    amlserver.DEFAULT_HOST = args.host
    sys.argv = ["azmlinfsrv", *rest]
    amlserver.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
