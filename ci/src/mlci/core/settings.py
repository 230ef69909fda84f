"""The tables of `mlci.toml`, one model each: typed, strict, closed to unknown keys, and checked on load.

`mlci.core.config` puts them together as `Config` and reads the file; a table's own rules (a port in range, an
overlay inside the repository, an endpoint with no path) are stated here, with the table.

Paths are of three kinds. A repository file (the holdout, the drift reference, the example request, the
adopted data, an overlay) is read at a version's commit or written by `mlci adopt` and committed: it must be
relative and stay inside the repository. A local path (the suites, the validation report and data docs) is a
folder or file of this machine, and a location (the store, the inference log, the outcomes, the retraining
source) may also be a URL: both may lie outside the repository only on purpose, as an absolute path or one
from `~`; a relative one must not leave it with `..`.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

StageName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]*$")]
MetricName = Annotated[str, Field(min_length=1)]
Direction = Literal["higher", "lower"]
Margin = Annotated[float, Field(ge=0)]
QUALIFIED_NAME = r"^[A-Za-z_][A-Za-z0-9_.]*:[A-Za-z_][A-Za-z0-9_]*$"  # module:attribute
MOST_WORKERS = 64  # server processes of one local stage, each holding the model: past that, a cluster's job
MOST_SEGMENT_MB = 1024  # a log segment is held in memory until it is written
MOST_FLUSH_SECONDS = 86_400  # a day: a segment older than that is written whatever its size


def leaves_the_repository(value: str) -> bool:
    return ".." in Path(value).parts


def in_the_repository(value: str) -> str:
    if "://" in value or Path(value).is_absolute() or value.startswith("~") or leaves_the_repository(value):
        raise ValueError(
            f"{value!r} is not a path inside the repository: give it relative to the repository's root, with no "
            "'..' (mlci reads it at each version's commit, and `mlci adopt` writes there)"
        )
    return value


def on_this_machine(value: str) -> str:
    if "://" in value:
        raise ValueError(f"{value!r} is a URL: give a folder or file of this machine (relative to the repository)")
    return anywhere_on_purpose(value)


def anywhere_on_purpose(value: str) -> str:
    if "://" not in value and not value.startswith("~") and leaves_the_repository(value):
        raise ValueError(
            f"{value!r} leaves the repository through '..': for a place outside it give an absolute path, one "
            "from ~, or a URL, so that the setting says so"
        )
    return value


RepositoryPath = Annotated[str, Field(min_length=1), AfterValidator(in_the_repository)]
RepositoryFile = Annotated[str, AfterValidator(lambda value: value and in_the_repository(value))]  # "": unset
LocalPath = Annotated[str, Field(min_length=1), AfterValidator(on_this_machine)]
Location = Annotated[str, AfterValidator(anywhere_on_purpose)]


class Section(BaseModel):
    """A table of the config file: typed, strict, and closed to unknown keys."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, use_attribute_docstrings=True)


class Registry(Section):
    """Which model the registry tracks and the order of the stages it moves through."""

    model: str = Field(default="model", min_length=1)
    """The model's name in the registry: its tags read `<model>@v0.0.1` and `<model>#<stage>#<n>`."""
    stages: list[StageName] = Field(default=["staging", "production"], min_length=1)
    """The stages a version moves through, in order; each needs its `[deploy.<stage>]` table."""

    @model_validator(mode="after")
    def _stages_are_unique(self) -> Registry:
        repeated = sorted({stage for stage in self.stages if self.stages.count(stage) > 1})
        if repeated:
            raise ValueError(f"each stage may appear once, repeated: {', '.join(repeated)}")
        return self


class Gates(Section):
    """What a version must reach to be promoted; each metric's direction comes from [metrics]."""

    beat_baseline: dict[MetricName, Margin] = {}
    """The margin by which a metric must beat `baseline_<metric>`, which the pipeline writes beside it."""
    limit: dict[MetricName, float] = {}
    """At least this (a metric where higher is better) or at most this (lower is better)."""
    max_regression: dict[MetricName, Margin] = {}
    """The largest loss against the stage's champion, measured on the same rows by the same code."""
    holdout: RepositoryPath = "data/prepared/test.csv"
    """The held-out table the champion comparison scores both versions on, read at the challenger's commit."""

    def metrics(self) -> dict[str, str]:
        """Every metric a gate names, with the first gate table naming it."""
        named: dict[str, str] = {}
        for table in ("beat_baseline", "limit", "max_regression"):
            for metric in getattr(self, table):
                named.setdefault(metric, table)
        return named


class Store(Section):
    """Where built bentos live: a local folder or any fsspec URL."""

    url: Annotated[Location, Field(min_length=1)]
    """A folder or fsspec URL (`s3://`, `gs://`, `az://`) where `<name>/<version>.bento` and its record live."""


class Storage(Section):
    """How the toolkit, DVC and the service reach an S3-compatible service other than AWS (MinIO, Ceph, R2)."""

    endpoint: str = ""
    """An S3-compatible service's `http(s)://host[:port]`; `""` is AWS itself, or `AWS_ENDPOINT_URL` when the
    environment sets it."""

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
    """Where the stage runs: a server on this machine, or the overlay a cluster's GitOps agent applies."""
    port: int | None = Field(default=None, ge=1, le=65535)
    """local: the port the stage serves on (each stage its own)."""
    workers: int = Field(default=1, ge=1, le=MOST_WORKERS)
    """local: server processes, each holding the model."""
    host: str = "127.0.0.1"
    """local: the address the server listens on; `0.0.0.0` for every interface."""
    overlay: RepositoryFile = ""
    """kubernetes: its kustomize overlay (default `deploy/kubernetes/overlays/<stage>`)."""

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

    suites: LocalPath = "validation"
    """The folder of suite modules, one per data file."""
    report: LocalPath = "reports/validation.json"
    """The JSON record of the last validation, the `validate` stage's output."""
    docs: LocalPath = "reports/data-docs"
    """Where Great Expectations' Data Docs (HTML) are written; not versioned."""


class Monitoring(Section):
    """What each stage's server logs of its requests, for drift monitoring."""

    log: Location = ""
    """A folder or fsspec URL; each stage logs under `<log>/<stage>`; `""` turns logging off."""
    sample: float = Field(default=1.0, ge=0, le=1)
    """The share of records logged, drawn at random per record."""
    segment_mb: float = Field(default=8, gt=0, le=MOST_SEGMENT_MB)
    """A log file is written when its buffer reaches this size."""
    flush_seconds: float = Field(default=60, gt=0, le=MOST_FLUSH_SECONDS)
    """A log file is also written when its oldest record is this old."""

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

    source: Location = ""
    """Where newly labelled data lands; `mlci refresh` copies it over `data`."""
    data: RepositoryFile = ""
    """The DVC-tracked raw table that `mlci refresh` replaces; `mlci adopt` sets it."""


class Drift(Section):
    """When live inputs count as drifted from the training data."""

    psi_threshold: float = Field(default=0.2, gt=0)
    """A feature drifts when its population stability index reaches this."""
    min_samples: int = Field(default=100, ge=1)
    """A version with fewer logged requests is not judged (exit 3)."""
    reference: RepositoryPath = "data/prepared/train.csv"
    """The training table each version's requests are compared with, read at its commit."""


class Kpi(Section):
    """What a deployed version must reach on the outcomes of its answers: the true targets, known later."""

    outcomes: Location = ""
    """A folder or fsspec URL of CSV or Parquet tables: each record's id and its true target."""
    min_outcomes: int = Field(default=30, ge=1)
    """A version with fewer answers that have outcomes is not judged (exit 3)."""
    limit: dict[MetricName, float] = {}
    """At least this (higher is better) or at most this (lower is better), on outcomes."""
    max_drop: dict[MetricName, Margin] = {}
    """The largest loss against the version's own test-set figure."""

    def metrics(self) -> list[str]:
        return sorted({*self.limit, *self.max_drop})


class Shadow(Section):
    """When a challenger's answer agrees with the one a stage gave."""

    tolerance: float = Field(default=0.1, ge=0)
    """A number within this share of the answer given agrees with it."""


class Contract(Section):
    """What the repository's package offers the toolkit, by name (mlci.core.project describes the whole contract)."""

    service: str = Field(default="service:Predictor", pattern=QUALIFIED_NAME)
    """The service class, `module:class` in the package."""
    scorer: str = Field(default="evaluate:score", pattern=QUALIFIED_NAME)
    """`score(model_file, data_file)`, which gates and the champion comparison call."""
    example: RepositoryPath = "examples/predict.json"
    """A request the service answers, which deploys smoke-test with."""
    outcome_metrics: str = Field(default="evaluate:outcome_metrics", pattern=QUALIFIED_NAME)
    """`(actual, predicted)` to metrics, which `mlci kpi` calls on outcomes."""
    params: str = Field(default="params:read", pattern=QUALIFIED_NAME)
    """`read(path)`, which checks a params file (raising ValueError naming each key at fault): `mlci experiment`
    checks every override with it before anything runs."""
