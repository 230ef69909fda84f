"""How the Spark engine cuts a table: every row in exactly one split, numbered as the local engine numbers it."""

from __future__ import annotations

import io
import itertools
import types

import pytest
from mlci.scoring.splits import (
    SMALLEST_CSV_SPLIT,
    Split,
    csv_splits,
    cut_inside_quotes,
    numbered,
    owned_lines,
    parquet_splits,
)


def footer(*groups: int) -> types.SimpleNamespace:
    """A Parquet footer's row groups, as pyarrow's FileMetaData gives them."""
    return types.SimpleNamespace(
        num_row_groups=len(groups), row_group=lambda index: types.SimpleNamespace(num_rows=groups[index])
    )


def test_parquet_row_groups_are_cut_into_ranges_numbered_across_groups() -> None:
    splits = parquet_splits(footer(5, 2, 0, 4), 2)
    assert [(s.row_group, s.start, s.stop, s.first_row) for s in splits] == [
        (0, 0, 2, 1),
        (0, 2, 4, 3),
        (0, 4, 5, 5),
        (1, 0, 2, 6),
        (3, 0, 2, 8),
        (3, 2, 4, 10),
    ]
    assert [s.index for s in splits] == list(range(6))
    assert parquet_splits(footer(3), 3) == [Split(0, 1, 0, 0, 3)]  # a group of exactly one split's rows


@pytest.mark.parametrize("count", [1, 2, 3, 7])
@pytest.mark.parametrize("ending", [b"\n", b"\r\n", b""])
def test_csv_splits_own_every_line_once_wherever_they_cut(count: int, ending: bytes) -> None:
    lines = [f"{n},{'x' * (n % 5)}".encode() for n in range(40)]
    data = b"a,b\n" + b"\n".join(lines).replace(b"\n", ending or b"\n") + ending
    for step in (1, 3, 9, 17):  # cut every step bytes, so that cuts fall on and beside line breaks
        bounds = [*range(4, len(data), step), len(data)]
        owned = b"".join(owned_lines(io.BytesIO(data), start, end) for start, end in itertools.pairwise(bounds))
        assert owned == data[4:], (step, ending)
    splits = csv_splits(4, 4 + count * SMALLEST_CSV_SPLIT, count)
    assert len(splits) == count
    assert splits[0].offset == 4
    assert [s.end for s in splits[:-1]] == [s.offset for s in splits[1:]]  # no byte between two splits, none twice
    assert splits[-1].end == 4 + count * SMALLEST_CSV_SPLIT


def test_a_small_csv_is_not_cut_finer_than_the_smallest_split() -> None:
    assert len(csv_splits(10, 10 + SMALLEST_CSV_SPLIT, 8)) == 1
    assert len(csv_splits(10, 11 + SMALLEST_CSV_SPLIT, 8)) == 2
    assert len(csv_splits(10, 10 + 64 * SMALLEST_CSV_SPLIT, 8)) == 8
    empty = csv_splits(10, 10, 8)
    assert len(empty) == 1
    assert owned_lines(io.BytesIO(b"a,b\n"), empty[0].offset, empty[0].end) == b""


def test_rows_are_numbered_from_the_counts_of_the_splits_before() -> None:
    splits = [Split(n, 0, offset=n, end=n + 1) for n in range(4)]
    assert [s.first_row for s in numbered(splits, [3, 0, 2, 5])] == [1, 4, 4, 6]


@pytest.mark.parametrize(
    ("header", "quotes", "cut"),
    [
        (0, [2, 4, 0], None),
        (0, [1, 1, 0], 1),  # a quote opened in the first split and closed in the second
        (2, [3, 0], 1),
        (1, [1], 0),  # the header's own quote still open
        (0, [0, 0, 1], None),  # an odd count in the last split cuts nothing after it
    ],
)
def test_a_cut_inside_a_quoted_field_is_found(header: int, quotes: list[int], cut: int | None) -> None:
    assert cut_inside_quotes(header, quotes) == cut
