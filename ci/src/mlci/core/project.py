"""The contract between the toolkit and a generated repository: everything a repository must provide, in one place.

A repository offers the toolkit:
- `pyproject.toml`: the project's name and its package (`[tool.uv.build-backend] module-name`, else the name),
  and `mlci-serving`, the serving runtime, among its dependencies;
- `dvc.yaml`: the model artifact `[registry] model` names, the metrics files, and the plots with their settings;
- in the package, `schema` (`TASK`, `TARGET`, `COLUMNS`, `EXAMPLE`, read by the runtime's `Schema.of`;
  `IDENTIFIER`, the column naming each record or None: then outcomes name records by `id`, the id each answer
  carries), and the names `[contract]` of `mlci.toml` gives: the BentoML service (`service:Predictor`, made by
  the runtime's `model_service`, served from the bento and smoke-tested at `/predict` and `/readyz`), the scoring
  function the champion gate calls (`evaluate:score`, `score(model_file, data_file) -> {metric: value}`), the
  one that measures logged answers against outcomes (`evaluate:outcome_metrics`, `(actual, predicted) -> {...}`)
  and the check of a params file experiments call (`params:read`, `read(path)`, a ValueError naming each key);
- `[contract] example`: a request the service must answer with 200, each answer naming the served version;
  a request with no records it must refuse with 400.

The toolkit offers the service the variables of `mlci_serving.names`, through the environment of the server it
starts: `MODEL_VERSION`, `MODEL_SHA256`, `MODEL_ONNX_SHA256` (the compiled model, when the build has one) and
`INFERENCE_LOG_*` ([monitoring] of `mlci.toml`); it reads log records back by `LOG_RECORD_FIELDS`. A bento
carries the runtime's own files, so the service and the toolkit spell these names once, in the runtime.
"""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mlci_serving.names import (
    COMPILED_SHA256_VARIABLE,
    LOG_FLUSH_VARIABLE,
    LOG_SAMPLE_VARIABLE,
    LOG_SEGMENT_VARIABLE,
    LOG_URL_VARIABLE,
    MODEL_SHA256_VARIABLE,
    MODEL_VERSION_VARIABLE,
)

from mlci.core.config import Config
from mlci.core.errors import MlciError
from mlci.core.settings import Monitoring

OUTCOME_ID_COLUMN = "id"  # what outcomes name a record by when the schema has no identifier column
EMPTY_REQUEST = b'{"records": []}'  # a request the contract refuses: a batch must hold a record

Scorer = Callable[[Path, Path], dict[str, float]]
OutcomeScorer = Callable[[Any, Any], dict[str, float]]
ParamsReader = Callable[[Path], Any]  # raises ValueError naming each key at fault


class ProjectError(MlciError):
    """A repository that does not keep its side of the contract; the message names what is missing."""


@dataclass(frozen=True)
class Project:
    """A generated repository as the toolkit sees it: names, the model file, metrics, plots and the contract."""

    root: Path
    name: str
    package: str
    model: Path
    metrics: list[Path]
    plots: dict[str, dict[str, str]]  # each plot file of dvc.yaml with its settings (template, x, y)
    service: str = "service:Predictor"  # [contract] service: module:class inside the package
    scorer_name: str = "evaluate:score"  # [contract] scorer
    outcome_metrics_name: str = "evaluate:outcome_metrics"  # [contract] outcome_metrics
    example: Path = Path("examples/predict.json")  # [contract] example
    params_name: str = "params:read"  # [contract] params

    @classmethod
    def read(cls, root: Path, config: Config) -> Project:
        """The repository at `root`, as `config` (its `mlci.toml`) describes it."""
        pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        name = pyproject["project"]["name"]
        backend = pyproject.get("tool", {}).get("uv", {}).get("build-backend", {})
        package = backend.get("module-name", name.replace("-", "_"))
        pipeline = yaml.safe_load((root / "dvc.yaml").read_text(encoding="utf-8"))
        artifacts = pipeline.get("artifacts", {})
        artifact = config.registry.model
        if artifact not in artifacts:
            raise ProjectError(f"dvc.yaml: no artifact {artifact!r} (registry.model in mlci.toml names it)")
        metrics = [Path(path) for path in pipeline.get("metrics", [])]
        plots = plot_settings(pipeline.get("plots", []))
        contract = config.contract
        model = Path(artifacts[artifact]["path"])
        return cls(
            root,
            name,
            package,
            model,
            metrics,
            plots,
            contract.service,
            contract.scorer,
            contract.outcome_metrics,
            Path(contract.example),
            contract.params,
        )

    @property
    def service_class(self) -> str:
        """The service's class name, as BentoML's settings address it."""
        return self.service.rpartition(":")[2]

    @property
    def service_path(self) -> str:
        """The service as a bentofile names it: `package.module:Class`."""
        return f"{self.package}.{self.service}"

    def scorer(self) -> Scorer:
        """The repository's own scoring function."""
        score: Scorer = self._function(
            self.scorer_name, "(model_file, data_file)", "scorer", "the champion gate needs it"
        )
        return score

    def outcome_scorer(self) -> OutcomeScorer:
        """The repository's own measure of answers against outcomes."""
        measure: OutcomeScorer = self._function(
            self.outcome_metrics_name, "(actual, predicted)", "outcome_metrics", "KPIs and shadow runs need it"
        )
        return measure

    def _function(self, qualified: str, arguments: str, key: str, why: str) -> Any:
        module_name, _, function = qualified.partition(":")
        module = importlib.import_module(f"{self.package}.{module_name}")
        found = getattr(module, function, None)
        if not callable(found):
            raise ProjectError(
                f"{self.package}.{module_name} defines no {function}{arguments} ([contract] {key} in mlci.toml): {why}"
            )
        return found

    def params_reader(self) -> ParamsReader:
        """The repository's own check of a params file."""
        reader: ParamsReader = self._function(
            self.params_name, "(path)", "params", "experiments check their overrides with it"
        )
        return reader

    def outcome_columns(self) -> tuple[str, str]:
        """The columns of an outcomes table: the record's id and the true target, as the schema names them."""
        schema = importlib.import_module(f"{self.package}.schema")
        identifier = getattr(schema, "IDENTIFIER", None)
        return identifier or OUTCOME_ID_COLUMN, schema.TARGET.name

    def example_request(self) -> bytes:
        """The request the smoke test sends and expects answered."""
        path = self.root / self.example
        if not path.is_file():
            raise ProjectError(
                f"{self.example}: no example request for the smoke test ([contract] example); `mlci adopt` writes one"
            )
        return path.read_bytes()


def plot_settings(entries: list[Any]) -> dict[str, dict[str, str]]:
    """dvc.yaml's `plots:` as {file: settings}; an entry is a file name, or a one-key table of its settings."""
    plots = {}
    for entry in entries:
        path, settings = next(iter(entry.items())) if isinstance(entry, dict) else (entry, None)
        plots[str(path)] = settings or {}
    return plots


def server_environment(version: str, model_sha256: str, compiled_sha256: str) -> dict[str, str]:
    """What a server of a registered build is told of itself."""
    compiled = {COMPILED_SHA256_VARIABLE: compiled_sha256} if compiled_sha256 else {}
    return {MODEL_VERSION_VARIABLE: version, MODEL_SHA256_VARIABLE: model_sha256, **compiled}


def log_environment(monitoring: Monitoring, stage: str, root: Path) -> dict[str, str]:
    """The variables that turn on a stage server's inference log (none when logging is off)."""
    url = monitoring.url_for(stage, root)
    if url is None:
        return {}
    return {
        LOG_URL_VARIABLE: url,
        LOG_SAMPLE_VARIABLE: f"{monitoring.sample:g}",
        LOG_SEGMENT_VARIABLE: str(int(monitoring.segment_mb * (1 << 20))),
        LOG_FLUSH_VARIABLE: f"{monitoring.flush_seconds:g}",
    }
