"""Outcomes: the true targets of answered records, known later, joined with what the service answered.

An outcomes table (CSV or Parquet, any number of files under `[kpi] outcomes`, a folder or fsspec URL) has two
columns the schema names: its identifier column (or `id` when it has none: the id each answer carries) and its
target. Where two files give one record's outcome, the file whose name sorts last wins.
"""

from __future__ import annotations

import pandas as pd

from mlci.core.errors import MlciError
from mlci.core.storage import OUTCOMES_SETTING, Location, filesystem, reaching, require_bucket

SUFFIXES = (".csv", ".parquet", ".pq")


class OutcomesError(MlciError):
    """Outcome tables that cannot be read or lack the columns that join them."""


def outcome_files(url: str) -> list[str]:
    """The tables at `url`: the file itself, or every CSV and Parquet file under the folder, by name."""
    fs, root = filesystem(url)
    if not fs.exists(root):
        require_bucket(Location(url, OUTCOMES_SETTING))
        return []
    if fs.isfile(root):
        return [root]
    return sorted(path for path in fs.find(root) if path.lower().endswith(SUFFIXES))


def read_outcomes(url: str, id_column: str, target: str) -> pd.DataFrame:
    """Every outcome at `url` as text: `id` and `actual`, one row per record id (the last file's wins)."""
    with reaching(url, OUTCOMES_SETTING):
        fs, _ = filesystem(url)
        frames = []
        for path in outcome_files(url):
            with fs.open(path, "rb") as handle:
                try:
                    table = pd.read_csv(handle, dtype=str) if path.lower().endswith(".csv") else pd.read_parquet(handle)
                except (ValueError, UnicodeDecodeError, OSError) as error:
                    raise OutcomesError(f"{path}: not a table that can be read: {error}") from None
            missing = [name for name in (id_column, target) if name not in table.columns]
            if missing:
                raise OutcomesError(
                    f"{path}: no column {', '.join(map(repr, missing))}; an outcomes table names each record by "
                    f"{id_column!r} and gives its true {target!r} (it has: {', '.join(map(repr, table.columns))})"
                )
            frames.append(pd.DataFrame({"id": as_text(table[id_column]), "actual": as_text(table[target])}))
    if not frames:
        return pd.DataFrame({"id": pd.Series(dtype=object), "actual": pd.Series(dtype=object)})
    outcomes = pd.concat(frames, ignore_index=True).dropna()
    return outcomes.drop_duplicates("id", keep="last")


def as_text(values: pd.Series) -> pd.Series:
    """Values as the text a JSON answer or id shows, missing ones kept missing; whole floats without `.0`."""

    def text(value: object) -> object:
        if pd.isna(value):  # type: ignore[call-overload]
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    return values.map(text).astype(object)


def joined(entries: pd.DataFrame, outcomes: pd.DataFrame) -> pd.DataFrame:
    """The logged answers that have an outcome: their own columns, and `actual`."""
    logged = entries.dropna(subset=["id"]).assign(id=lambda frame: as_text(frame["id"]))
    return logged.merge(outcomes, on="id", how="inner")
