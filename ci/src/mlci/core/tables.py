"""Plain-text tables for the terminal: a header row, then aligned columns."""

from __future__ import annotations

from collections.abc import Sequence


def render(rows: Sequence[Sequence[str]]) -> str:
    """Rows as left-aligned columns two spaces apart, the first row being the header."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def figure(value: float | None, signed: bool = False) -> str:
    """A metric as people read it: four significant digits, `-` where there is none."""
    if value is None:
        return "-"
    return f"{value:+.4g}" if signed else f"{value:.4g}"
