"""What the test modules share: a small model trained on the repository's own data."""

from pathlib import Path

import pytest
from sklearn.pipeline import Pipeline

from {{ cookiecutter.package_name }}.data import labelled, read_csv
from {{ cookiecutter.package_name }}.schema import DATA
from {{ cookiecutter.package_name }}.train import fit

ROOT = Path(__file__).parents[1]


@pytest.fixture(scope="session")
def model() -> Pipeline:
    """A small model trained on the repository's data by the pipeline's own code: quick to fit."""
    params = {"n_estimators": 10, "max_depth": 4, "seed": 0}
    fitted: Pipeline = fit(labelled(read_csv(ROOT / DATA)), params)
    return fitted
