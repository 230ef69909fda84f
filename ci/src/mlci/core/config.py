"""Load and validate `mlci.toml`, the toolkit's one config file in a generated repository."""

from __future__ import annotations

import difflib
import tomllib
import typing
from pathlib import Path

from pydantic import Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from mlci.core.errors import MlciError
from mlci.core.settings import (
    Contract,
    Deployment,
    Direction,
    Drift,
    Gates,
    Kpi,
    MetricName,
    Monitoring,
    Registry,
    Retrain,
    Section,
    Shadow,
    StageName,
    Storage,
    Store,
    Validation,
)

CONFIG_FILE = "mlci.toml"


class ConfigError(MlciError):
    """A config file that is missing, unreadable or invalid; the message says what and where."""


class Config(Section):
    """The whole config file."""

    registry: Registry = Registry()
    metrics: dict[MetricName, Direction] = Field(default_factory=dict)
    """Every metric the pipeline writes, and which way is better: `"higher"` or `"lower"`."""
    gates: Gates = Gates()
    store: Store
    storage: Storage = Storage()
    deploy: dict[StageName, Deployment]
    validation: Validation = Validation()
    monitoring: Monitoring = Monitoring()
    drift: Drift = Drift()
    retrain: Retrain = Retrain()
    kpi: Kpi = Kpi()
    shadow: Shadow = Shadow()
    contract: Contract = Contract()

    def check_stage(self, stage: str) -> None:
        """Refuse a stage [registry] stages does not list."""
        if stage not in self.registry.stages:
            stages = ", ".join(self.registry.stages)
            raise MlciError(f"no stage {stage!r}: the stages are {stages} ([registry] stages in mlci.toml)")

    @model_validator(mode="after")
    def _rules_know_their_direction(self) -> Config:
        gates = {f"gates.{table}.{metric}": metric for metric, table in self.gates.metrics().items()}
        kpis = {f"kpi: {metric}": metric for metric in self.kpi.metrics()}
        for rules, kind in ((gates, "a gate"), (kpis, "a KPI")):
            unknown = [name for name, metric in rules.items() if metric not in self.metrics]
            if unknown:
                known = ", ".join(sorted(self.metrics)) or "none"
                raise ValueError(
                    f"{', '.join(unknown)}: {kind} on a metric [metrics] does not list; add it there with its "
                    f'direction (e.g. {rules[unknown[0]]} = "higher" or "lower"), or remove it (listed: {known})'
                )
        return self

    @model_validator(mode="after")
    def _every_stage_deploys_once(self) -> Config:
        stages, deployed = set(self.registry.stages), set(self.deploy)
        if stages != deployed:
            missing = ", ".join(f"[deploy.{name}]" for name in sorted(stages - deployed))
            extra = ", ".join(f"[deploy.{name}]" for name in sorted(deployed - stages))
            problems = [f"missing {missing}" if missing else "", f"not a stage: {extra}" if extra else ""]
            raise ValueError(
                "each stage in registry.stages needs one [deploy.<stage>] table; " + "; ".join(p for p in problems if p)
            )
        ports = [deployment.port for deployment in self.deploy.values() if deployment.port is not None]
        if len(set(ports)) != len(ports):
            raise ValueError(f"each stage needs its own port, got {sorted(ports)}")
        return self


def load_config(path: Path) -> Config:
    """Read and validate a config file, raising ConfigError with a message a user can act on."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: no such file. mlci reads {CONFIG_FILE} at the repository root: "
            "run it from there, or pass --config PATH."
        ) from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {error.start} is {error.object[error.start]:#04x}): TOML is UTF-8; "
            "save it so"
        ) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: values nested deeper than a TOML reader follows: mlci's settings are tables of plain values"
        ) from None
    try:
        return Config.model_validate(data)
    except ValidationError as error:
        lines = [describe(detail) for detail in error.errors(include_url=False)]
        raise ConfigError(f"{path}: invalid config\n" + "\n".join(f"  {line}" for line in lines)) from None


def describe(detail: ErrorDetails) -> str:
    """One line naming the key and what is wrong with it."""
    loc = [str(part) for part in detail["loc"]]
    key = ".".join(loc)
    if detail["type"] == "extra_forbidden":
        known = known_keys(loc[:-1])
        hint = difflib.get_close_matches(loc[-1], known, n=1)
        suggestion = f"did you mean '{hint[0]}'? " if hint else ""
        return f"{key}: unknown key; {suggestion}known keys here: {', '.join(known)}"
    if detail["type"] == "missing":
        return f"{key}: required key is missing"
    message = detail["msg"].removeprefix("Value error, ")
    if detail["type"] == "value_error":
        return f"{key}: {message}" if key else message
    return f"{key}: {message} (got {detail['input']!r})"


def known_keys(loc: list[str]) -> list[str]:
    """The keys the table at `loc` accepts, following nested sections and `dict[str, Section]` tables."""
    annotation: object = Config
    for part in loc:
        if isinstance(annotation, type) and issubclass(annotation, Section):
            annotation = annotation.model_fields[part].annotation
        else:  # a dict of sections: `part` is the user's own key
            annotation = typing.get_args(annotation)[1]
    if isinstance(annotation, type) and issubclass(annotation, Section):
        return list(annotation.model_fields)
    return []
