"""Find the data-validation suites of a repository: one Python module per data file in its suites folder.

A suite module defines `DATA` (the path of the file it checks), `read(path)` (that file as a pandas frame)
and `expectations()` (Great Expectations' expectations for it). Files whose name starts with `_` are helpers.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from mlci.core.errors import MlciError

CONTRACT = "DATA (the data file's path), read(path) and expectations()"


class SuiteError(MlciError):
    """A suites folder or suite module that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Suite:
    """One suite: its name (the module's), the data it checks, and how to read and check that data."""

    name: str
    data: Path
    read: Callable[[Path], Any]
    expectations: Callable[[], list[Any]]


def discover(folder: Path) -> list[Suite]:
    """Every suite in `folder`, by name."""
    if not folder.is_dir():
        raise SuiteError(f"{folder}: no such folder of validation suites (set [validation] suites in mlci.toml)")
    modules = sorted(path for path in folder.glob("*.py") if not path.name.startswith("_"))
    if not modules:
        raise SuiteError(f"{folder}: holds no suite; add one module per data file defining {CONTRACT}")
    return [load(path) for path in modules]


def load(path: Path) -> Suite:
    """The suite one module defines, checked against the contract."""
    module = import_file(path)
    missing = [name for name in ("DATA", "read", "expectations") if not hasattr(module, name)]
    if missing:
        raise SuiteError(f"{path}: a suite module defines {CONTRACT}; missing: {', '.join(missing)}")
    if not callable(module.read) or not callable(module.expectations):
        raise SuiteError(f"{path}: read and expectations must be functions")
    return Suite(path.stem, Path(module.DATA), module.read, module.expectations)


def import_file(path: Path) -> ModuleType:
    """Import a module from its file, reporting a broken one as a SuiteError."""
    spec = importlib.util.spec_from_file_location(f"mlci_suite_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise SuiteError(f"{path}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # any failure of the user's module is reported, not raised as a traceback
        raise SuiteError(f"{path}: importing it failed: {type(error).__name__}: {error}") from error
    return module


def select(suites: list[Suite], name: str | None) -> list[Suite]:
    """The suite called `name`, or all of them when no name is given."""
    if name is None:
        return suites
    chosen = [suite for suite in suites if suite.name == name]
    if not chosen:
        known = ", ".join(suite.name for suite in suites)
        raise SuiteError(f"no suite named {name!r}; the suites are: {known}")
    return chosen
