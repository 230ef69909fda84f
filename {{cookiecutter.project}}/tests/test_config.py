"""The toolkit's config that ships with the repository is valid and deploys every stage."""

from pathlib import Path

from mlci.config import load_config

CONFIG = Path(__file__).parents[1] / "mlci.toml"


def test_config_loads_and_deploys_every_stage() -> None:
    config = load_config(CONFIG)
    assert set(config.deploy) == set(config.registry.stages)
