"""Every file the pipeline's stages read and write, as `dvc.yaml` names them (a test checks both).

The raw table is `schema.DATA`, which `mlci adopt` writes.
"""

from __future__ import annotations

from pathlib import Path

PARAMS = Path("params.yaml")
TRAIN = Path("data/prepared/train.csv")
TEST = Path("data/prepared/test.csv")
MODEL = Path("models/model.pkl")
METRICS = Path("reports/metrics.json")
PLOTS = Path("reports/plots")
