"""A table cut into splits that tasks read on their own: Parquet by rows of its row groups, CSV by bytes.

A Parquet split is a range of rows of one row group, so its first row's number is known from the file's footer.
A CSV split owns the lines that start within its bytes (as Hadoop's line reader cuts files): the lines of all
splits are the file's lines, each once. Its rows are numbered once each split's rows are counted, and the cut is
refused where it falls inside a quoted field (an odd number of quotes before it), which a line break can be in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

SMALLEST_CSV_SPLIT = 1 << 20  # bytes: smaller splits cost more in tasks than they save


@dataclass(frozen=True)
class Split:
    """One task's share of a table."""

    index: int
    first_row: int  # the number of its first row in the table (1 is the first after the header)
    row_group: int = -1  # Parquet: rows [start, stop) of this row group
    start: int = 0
    stop: int = 0
    offset: int = 0  # CSV: the lines that start in bytes [offset, end)
    end: int = 0


def parquet_splits(metadata: Any, rows_per_split: int) -> list[Split]:
    """A Parquet file's row groups cut into ranges of at most `rows_per_split` rows, numbered from 1."""
    splits: list[Split] = []
    first = 1
    for group in range(metadata.num_row_groups):
        rows = metadata.row_group(group).num_rows
        for start in range(0, rows, rows_per_split):
            stop = min(rows, start + rows_per_split)
            splits.append(Split(len(splits), first, group, start, stop))
            first += stop - start
    return splits


def csv_splits(header_end: int, size: int, count: int) -> list[Split]:
    """The bytes after a CSV's header cut into `count` splits (fewer for a small file); rows not yet numbered."""
    body = size - header_end
    count = max(1, min(count, math.ceil(body / SMALLEST_CSV_SPLIT)))
    step = math.ceil(body / count) if body else 0
    bounds = [header_end + step * number for number in range(count)] + [size]
    return [Split(number, 0, offset=bounds[number], end=bounds[number + 1]) for number in range(count)]


def numbered(splits: list[Split], rows: list[int]) -> list[Split]:
    """CSV splits with their first rows' numbers, given each split's count of rows."""
    first, found = 1, []
    for split, counted in zip(splits, rows, strict=True):
        found.append(replace(split, first_row=first))
        first += counted
    return found


def cut_inside_quotes(header_quotes: int, quotes: list[int]) -> int | None:
    """The index of the first split whose first line starts inside a quoted field, if any does."""
    seen = header_quotes
    for index, counted in enumerate(quotes):
        if seen % 2:
            return index
        seen += counted
    return None


def owned_lines(handle: Any, offset: int, end: int) -> bytes:
    """The bytes of the lines that start within [offset, end) of a file open for reading in binary."""
    if offset > 0:
        handle.seek(offset - 1)
        handle.readline()  # to the first line that starts at or after `offset`
    else:
        handle.seek(0)
    start = handle.tell()
    if start >= end:
        return b""
    data: bytes = handle.read(end - start)
    if data and not data.endswith(b"\n"):
        data += handle.readline()  # the last line starts before `end`: it is this split's, whole
    return data
