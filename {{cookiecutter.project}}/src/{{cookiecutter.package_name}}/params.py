"""The parameters DVC tracks (params.yaml), typed and checked before any stage uses them.

Run as a module (`python -m` with this module's name), it checks the whole file; `nox -s repro`
runs it before `dvc repro`, so a bad value stops the run before DVC removes any stage's outputs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from {{ cookiecutter.package_name }}.paths import PARAMS


class Section(BaseModel):
    """One stage's parameters: typed, and closed to keys no stage reads."""

    model_config = ConfigDict(extra="forbid")


class Prepare(Section):
    test_size: float = Field(gt=0, lt=1)  # the share of labelled rows held out for evaluation
    seed: int = Field(ge=0)


class Train(Section):
    n_estimators: int = Field(ge=1)
    max_depth: int | None = Field(ge=1)  # null: trees grow until their leaves are pure
    seed: int = Field(ge=0)


SECTIONS: dict[str, type[Section]] = {"prepare": Prepare, "train": Train}


class ParamsError(ValueError):
    """A params file that cannot be used; the message names the file and each key at fault."""


def read(path: Path = PARAMS) -> dict[str, Section]:
    """Every section of the params file, checked."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ParamsError(f"{path}: cannot be read as YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ParamsError(
            f"{path}: expected sections {', '.join(SECTIONS)}, found {type(raw).__name__}"
        )
    problems, sections = [], {}
    for name, model in SECTIONS.items():
        try:
            sections[name] = model.model_validate(raw.get(name))
        except ValidationError as error:
            for item in error.errors(include_url=False):
                key = ".".join([name, *(str(part) for part in item["loc"])])
                problems.append(f"  {key}: {item['msg']} (got {item.get('input')!r})")
    if problems:
        raise ParamsError(f"{path}: invalid params\n" + "\n".join(problems))
    return sections


def load_params(section: str, path: Path = PARAMS) -> dict[str, Any]:
    """The checked parameters of one stage."""
    return read(path)[section].model_dump()


def main() -> int:
    try:
        read()
    except ParamsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
