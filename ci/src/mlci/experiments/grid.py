"""Parameter overrides as `mlci experiment run -S` takes them, and the grid of experiments they span.

`-S train.n_estimators=100,200 -S train.max_depth=8,16` is four experiments, every combination once. Each value
is read as YAML reads it (as DVC reads `-S` itself): `8` a number, `null` nothing, `'8'` text. An override may
only change a key `params.yaml` already has: DVC would add a new one silently, and no stage would read it.
"""

from __future__ import annotations

import copy
import difflib
import itertools
from dataclasses import dataclass
from typing import Any

import yaml

from mlci.core.errors import MlciError

MOST_EXPERIMENTS = 64  # one sweep, run on this machine or one CI runner: more is a scheduler's job
PARAMS_FILE = "params.yaml"


class OverrideError(MlciError):
    """An override that cannot be run; the message names it and says what would do."""


@dataclass(frozen=True)
class Override:
    """One `-S KEY=VALUE[,VALUE...]`: a dotted key of params.yaml and the values to try, as written."""

    key: str
    values: tuple[str, ...]

    @classmethod
    def parse(cls, text: str) -> Override:
        key, equals, values = text.partition("=")
        key = key.strip().removeprefix(f"{PARAMS_FILE}:")
        if not equals or not key or not values.strip():
            raise OverrideError(f"-S {text!r}: write KEY=VALUE, or KEY=VALUE,VALUE,... for a sweep")
        if ":" in key:
            raise OverrideError(f"-S {text!r}: only {PARAMS_FILE} holds the pipeline's parameters; name a key of it")
        split = tuple(split_values(values))
        for value in split:
            try:
                yaml.safe_load(value)
            except yaml.YAMLError:
                raise OverrideError(f"-S {text!r}: {value!r} is not a value YAML can read; quote a text") from None
        return cls(key, split)


def split_values(text: str) -> list[str]:
    """`a,b,[1,2]` as `a`, `b` and `[1,2]`: commas inside brackets or quotes belong to the value."""
    values, current, depth, quote = [], "", 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            values.append(current.strip())
            current = ""
            continue
        current += char
    values.append(current.strip())
    if any(not value for value in values):
        raise OverrideError(f"-S ...={text!r}: an empty value; write each value, or quote an empty text as ''")
    return values


def leaf_keys(params: dict[str, Any], prefix: str = "") -> list[str]:
    """Every dotted key of a params file that holds a value."""
    keys = []
    for name, value in params.items():
        dotted = f"{prefix}{name}"
        keys += leaf_keys(value, f"{dotted}.") if isinstance(value, dict) and value else [dotted]
    return keys


def check_keys(overrides: list[Override], params: dict[str, Any]) -> None:
    """Refuse a key params.yaml lacks (nearest named) and a key given twice."""
    known = leaf_keys(params)
    problems = []
    seen: set[str] = set()
    for override in overrides:
        if override.key in seen:
            problems.append(f"{override.key}: given twice; list its values in one -S, comma-separated")
        seen.add(override.key)
        if override.key not in known:
            near = difflib.get_close_matches(override.key, known, n=1)
            hint = f"did you mean {near[0]}? " if near else ""
            problems.append(f"{override.key}: {PARAMS_FILE} has no such key; {hint}its keys: {', '.join(known)}")
    if problems:
        raise OverrideError(
            "these overrides cannot be run, nothing was queued:\n" + "\n".join(f"  {p}" for p in problems)
        )


def expand(overrides: list[Override]) -> list[dict[str, str]]:
    """Every combination of the overrides' values, in the order given, each once; at most MOST_EXPERIMENTS."""
    count = 1
    for override in overrides:
        count *= len(dict.fromkeys(override.values))
    if count > MOST_EXPERIMENTS:
        raise OverrideError(
            f"these overrides make {count} experiments, more than {MOST_EXPERIMENTS} in one sweep: "
            "split the sweep, or try fewer values"
        )
    keys = [override.key for override in overrides]
    choices = [list(dict.fromkeys(override.values)) for override in overrides]
    return [dict(zip(keys, combination, strict=True)) for combination in itertools.product(*choices)]


def applied(params: dict[str, Any], combination: dict[str, str]) -> dict[str, Any]:
    """The params file as one experiment will see it."""
    changed = copy.deepcopy(params)
    for key, value in combination.items():
        *sections, name = key.split(".")
        table = changed
        for section in sections:
            table = table[section]
        table[name] = yaml.safe_load(value)
    return changed
