"""Pipeline step 1, prep: check the training table as training would, split it once into train
and test rows (stratified for classes), and record the SHA-256 and rows of the table and of both
parts in split.json, which the later steps and the model version's governance tags read.

    python -m diabetes_model.steps.prep --data FILE --train DIR --test DIR [settings]

The parts are Parquet files (train/train.parquet, test/test.parquet): they keep each column's
type exactly, so training and evaluation see the values the table had.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diabetes_model.core.columns import ALL_COLUMNS, NO_COLUMNS, decode_columns, decode_name
from diabetes_model.settings import Settings
from diabetes_model.steps.common import StepParser, step_main, write_json

DEFAULTS = Settings()
SPLIT_FILE = "split.json"


@dataclass(frozen=True)
class PrepConfig:
    data: Path
    train_dir: Path
    test_dir: Path
    target: str = DEFAULTS.target
    task: str = DEFAULTS.task
    features: tuple[str, ...] = DEFAULTS.features
    ignore: tuple[str, ...] = DEFAULTS.ignore
    test_size: float = DEFAULTS.test_size
    random_state: int = DEFAULTS.random_state

    @classmethod
    def from_argv(cls, argv: list[str]) -> PrepConfig:
        parser = StepParser(prog="python -m diabetes_model.steps.prep", description=__doc__)
        add = parser.add_argument
        add("--data", required=True, type=Path, help="the training table: CSV or Parquet")
        add("--train", required=True, type=Path, help="folder for train.parquet and split.json")
        add("--test", required=True, type=Path, help="folder for test.parquet and split.json")
        add("--target", default=DEFAULTS.target, type=decode_name, help="target (encoded)")
        add("--task", default=DEFAULTS.task, help="auto, regression or classification")
        add("--features", default=ALL_COLUMNS, help="feature columns (core.columns)")
        add("--ignore", default=NO_COLUMNS, help="columns never to train on (encoded likewise)")
        add("--test-size", type=float, default=DEFAULTS.test_size, help="test fraction")
        add("--random-state", type=int, default=DEFAULTS.random_state, help="seed of the split")
        args = parser.parse_args(argv)
        return cls(
            data=args.data,
            train_dir=args.train,
            test_dir=args.test,
            target=args.target,
            task=args.task,
            features=decode_columns(args.features),
            ignore=decode_columns(args.ignore),
            test_size=args.test_size,
            random_state=args.random_state,
        )


def prepare(config: PrepConfig) -> dict[str, Any]:
    """Validate, split and write both parts; returns the split record (split.json)."""
    from diabetes_model.core.fitting import split_rows
    from diabetes_model.tables import file_sha256, load_training_table

    frame, schema = load_training_table(
        config.data, config.target, config.features, config.ignore, config.task
    )
    train, test = split_rows(frame, schema, config.test_size, config.random_state)
    record: dict[str, Any] = {
        "source": {
            "name": config.data.name,
            "sha256": file_sha256(config.data),
            "rows": len(frame),
        },
        "target": schema.target,
        "task": schema.task,
        "test_size": config.test_size,
        "random_state": config.random_state,
    }
    for part, rows, folder in (("train", train, config.train_dir), ("test", test, config.test_dir)):
        path = _write_parquet(rows, folder / f"{part}.parquet")
        record[part] = {"sha256": file_sha256(path), "rows": len(rows)}
    for folder in (config.train_dir, config.test_dir):
        write_json(folder / SPLIT_FILE, record)
    return record


def _write_parquet(frame: Any, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    os.close(fd)
    try:
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def describe(record: Mapping[str, Any]) -> str:
    source, train, test = record["source"], record["train"], record["test"]
    return (
        f"split {source['name']} ({source['rows']} rows, sha256 {source['sha256'][:12]}) into "
        f"{train['rows']} train and {test['rows']} test rows ({record['task']})"
    )


def run(argv: list[str], tracking_uri: str = "", environ: Mapping[str, str] | None = None) -> int:
    """The step's work; prep needs no MLflow store and no environment."""
    print(describe(prepare(PrepConfig.from_argv(argv))))
    return 0


def main(argv: list[str] | None = None) -> int:
    return step_main(run, argv)


if __name__ == "__main__":
    raise SystemExit(main())
