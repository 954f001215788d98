"""Run Azure ML's inference server (azmlinfsrv) bound to one address instead of all of them.

azmlinfsrv always binds 0.0.0.0, right inside a container but on a laptop it would offer the model
to the whole network. This runs the same CLI, arguments and gunicorn set-up, with `--host` added.
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

    # gunicorn 26 otherwise opens a control socket in the user's home directory.
    os.environ["GUNICORN_CMD_ARGS"] = (
        f"{os.environ.get('GUNICORN_CMD_ARGS', '')} --no-control-socket"
    )
    # amlserver.run() passes its module-level DEFAULT_HOST to gunicorn's -b option.
    amlserver.DEFAULT_HOST = args.host
    sys.argv = ["azmlinfsrv", *rest]
    amlserver.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
