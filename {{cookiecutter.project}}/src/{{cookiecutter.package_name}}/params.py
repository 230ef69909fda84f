"""Read one stage's section of params.yaml, the parameters DVC tracks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from {{ cookiecutter.package_name }}.paths import PARAMS


def load_params(section: str, path: Path = PARAMS) -> dict[str, Any]:
    """The parameters of one stage."""
    params: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text(encoding="utf-8"))
    return params[section]
