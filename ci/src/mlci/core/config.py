"""Load and validate `mlci.toml`, the toolkit's one config file in a generated repository."""

from __future__ import annotations

import difflib
import ipaddress
import re
import tomllib
import typing
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from mlci.core.errors import MlciError

CONFIG_FILE = "mlci.toml"

StageName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
MetricName = Annotated[str, Field(min_length=1)]
Direction = Literal["higher", "lower"]
Margin = Annotated[float, Field(ge=0)]
QUALIFIED_NAME = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"  # module:attribute


class ConfigError(MlciError):
    """A config file that is missing, unreadable or invalid; the message says what and where."""


class Section(BaseModel):
    """A table of the config file: typed, strict, and closed to unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class Registry(Section):
    """Which model the registry tracks and the order of the stages it moves through."""

    model: str = Field(default="model", min_length=1)
    stages: list[StageName] = Field(default=["staging", "production"], min_length=1)

    @model_validator(mode="after")
    def _stages_are_unique(self) -> Registry:
        repeated = sorted({stage for stage in self.stages if self.stages.count(stage) > 1})
        if repeated:
            raise ValueError(f"each stage may appear once, repeated: {', '.join(repeated)}")
        return self


class Gates(Section):
    """What a version must reach to be promoted; each metric's direction comes from [metrics]."""

    beat_baseline: dict[MetricName, Margin] = {}  # the margin by which a metric must beat baseline_<metric>
    limit: dict[MetricName, float] = {}  # at least this (higher is better) or at most this (lower is better)
    max_regression: dict[MetricName, Margin] = {}  # the largest loss against the stage's champion
    holdout: str = Field(default="data/prepared/test.csv", min_length=1)

    def metrics(self) -> dict[str, str]:
        """Every metric a gate names, with the first gate table naming it."""
        named: dict[str, str] = {}
        for table in ("beat_baseline", "limit", "max_regression"):
            for metric in getattr(self, table):
                named.setdefault(metric, table)
        return named


class Store(Section):
    """Where built bentos live: a local folder or any fsspec URL."""

    url: str = Field(min_length=1)


class Storage(Section):
    """How the toolkit, DVC and the service reach an S3-compatible service other than AWS (MinIO, Ceph, R2)."""

    endpoint: str = ""  # http(s)://host[:port]; "" is AWS itself, or AWS_ENDPOINT_URL when the environment sets it

    @field_validator("endpoint")
    @classmethod
    def _endpoint_is_a_url(cls, value: str) -> str:
        if value and not re.fullmatch(r"https?://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?/?", value):
            raise ValueError(
                f"{value!r} is not an endpoint: give the service's http:// or https:// address with no path and no "
                'credentials, e.g. "http://127.0.0.1:9000" (credentials come from the environment)'
            )
        return value


class Deployment(Section):
    """How one stage runs its model: a process on this machine (`local`), or a cluster that git declares."""

    target: Literal["local", "kubernetes"] = "local"
    port: int | None = Field(default=None, ge=1, le=65535)  # local: the port the stage serves on
    workers: int = Field(default=1, ge=1)  # local
    host: str = "127.0.0.1"  # local: the address the server listens on; 0.0.0.0 for every interface
    overlay: str = ""  # kubernetes: the stage's kustomize overlay (default deploy/kubernetes/overlays/<stage>)

    @field_validator("host")
    @classmethod
    def _host_is_an_address(cls, value: str) -> str:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValueError(
                f"{value!r} is not an IP address: use 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"
            ) from None
        return value

    @field_validator("overlay")
    @classmethod
    def _overlay_is_inside_the_repository(cls, value: str) -> str:
        path = Path(value)
        if value and (path.is_absolute() or ".." in path.parts or value.startswith("~")):
            raise ValueError(
                f"{value!r} is not a folder inside the repository: give a relative path such as "
                '"deploy/kubernetes/overlays/production" (mlci commits the file it writes there)'
            )
        return value

    @model_validator(mode="after")
    def _settings_fit_the_target(self) -> Deployment:
        if self.target == "local" and self.port is None:
            raise ValueError("a local stage serves on a port of this machine: set port (e.g. port = 3000)")
        foreign = {"local": {"overlay"}, "kubernetes": {"port", "workers", "host"}}[self.target]
        misplaced = sorted(foreign & self.model_fields_set)
        if misplaced:
            other = "kubernetes" if self.target == "local" else "local"
            raise ValueError(
                f"{', '.join(misplaced)}: only a {other} stage uses {'it' if len(misplaced) == 1 else 'them'}; "
                f'remove {"it" if len(misplaced) == 1 else "them"}, or set target = "{other}"'
            )
        return self

    def overlay_for(self, stage: str) -> str:
        """The kustomize overlay a kubernetes stage's desired state lives in."""
        return self.overlay or f"deploy/kubernetes/overlays/{stage}"


class Validation(Section):
    """Where the data-validation suites live and where their results go."""

    suites: str = Field(default="validation", min_length=1)
    report: str = Field(default="reports/validation.json", min_length=1)
    docs: str = Field(default="reports/data-docs", min_length=1)


class Monitoring(Section):
    """What each stage's server logs of its requests, for drift monitoring."""

    log: str = ""  # a folder or fsspec URL; each stage logs under <log>/<stage>; "" turns logging off
    sample: float = Field(default=1.0, ge=0, le=1)
    segment_mb: float = Field(default=8, gt=0)
    flush_seconds: float = Field(default=60, gt=0)

    @property
    def remote(self) -> bool:
        """Whether the log is a URL any machine can reach (not a folder of this one)."""
        return "://" in self.log

    def url_for(self, stage: str, root: Path) -> str | None:
        """Where a stage's server logs, a relative folder taken from the repository root; None when off."""
        if not self.log:
            return None
        if self.remote:
            return f"{self.log.rstrip('/')}/{stage}"
        return str((root / Path(self.log).expanduser()) / stage)


class Retrain(Section):
    """Where newly labelled data lands, and the DVC-tracked file it replaces before a retraining run."""

    source: str = ""
    data: str = ""  # `mlci adopt` sets it to the adopted table


class Drift(Section):
    """When live inputs count as drifted from the training data."""

    psi_threshold: float = Field(default=0.2, gt=0)
    min_samples: int = Field(default=100, ge=1)
    reference: str = Field(default="data/prepared/train.csv", min_length=1)


class Kpi(Section):
    """What a deployed version must reach on the outcomes of its answers: the true targets, known later."""

    outcomes: str = ""  # a folder or fsspec URL of CSV or Parquet tables: each record's id and its true target
    min_outcomes: int = Field(default=30, ge=1)  # a version with fewer answers that have outcomes is not judged
    limit: dict[MetricName, float] = {}  # at least this (higher is better) or at most this (lower is better)
    max_drop: dict[MetricName, Margin] = {}  # the largest loss against the version's own test-set figure

    def metrics(self) -> list[str]:
        return sorted({*self.limit, *self.max_drop})


class Shadow(Section):
    """When a challenger's answer agrees with the one a stage gave."""

    tolerance: float = Field(default=0.1, ge=0)  # a number within this share of the answer given agrees with it


class Contract(Section):
    """What the repository's package offers the toolkit, by name (mlci.core.project describes the whole contract)."""

    service: str = Field(default="service:Predictor", pattern=QUALIFIED_NAME)  # module:class in the package
    scorer: str = Field(default="evaluate:score", pattern=QUALIFIED_NAME)  # score(model_file, data_file)
    example: str = Field(default="examples/predict.json", min_length=1)  # a request the service answers
    outcome_metrics: str = Field(default="evaluate:outcome_metrics", pattern=QUALIFIED_NAME)  # (actual, predicted)


class Config(Section):
    """The whole config file."""

    registry: Registry = Registry()
    metrics: dict[MetricName, Direction] = {}  # every metric the pipeline writes, and which way is better
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML: {error}") from None
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
