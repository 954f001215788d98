"""Run Azure ML's inference server (azmlinfsrv) bound to one address instead of all of them.

azmlinfsrv always binds 0.0.0.0, right inside a container but on a laptop it would offer the model
to the whole network. This runs the same CLI, arguments and gunicorn set-up, with `--host` added,
and two gunicorn settings for a developer machine (below).
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    """`python -m diabetes_model.serving.server --host H [azmlinfsrv options...]`."""
    parser = argparse.ArgumentParser(description=__doc__, add_help=False)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)

    from azureml_inference_server_http import amlserver

    # gunicorn 26 otherwise opens a control socket in the user's home directory. Its workers'
    # heartbeat file goes to RAM, as gunicorn's docs advise: on a disk-backed /tmp a busy disk
    # stalls the (single, synchronous) worker for up to seconds (see benchmarks/serving.py).
    extra = ["--no-control-socket"]
    if os.path.isdir("/dev/shm"):
        extra.append("--worker-tmp-dir /dev/shm")
    os.environ["GUNICORN_CMD_ARGS"] = " ".join([os.environ.get("GUNICORN_CMD_ARGS", ""), *extra])
    # amlserver.run() passes its module-level DEFAULT_HOST to gunicorn's -b option.
    amlserver.DEFAULT_HOST = args.host
    sys.argv = ["azmlinfsrv", *rest]
    amlserver.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
