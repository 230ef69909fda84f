"""The toolkit's config that ships with the repository is valid and deploys every stage."""

from pathlib import Path

from mlci.core.config import load_config

from {{ cookiecutter.package_name }} import paths

CONFIG = Path(__file__).parents[1] / "mlci.toml"


def test_config_loads_and_deploys_every_stage() -> None:
    config = load_config(CONFIG)
    assert set(config.deploy) == set(config.registry.stages)


def test_the_gates_and_drift_read_the_files_the_pipeline_writes() -> None:
    config = load_config(CONFIG)
    assert Path(config.gates.holdout) == paths.TEST
    assert Path(config.drift.reference) == paths.TRAIN
