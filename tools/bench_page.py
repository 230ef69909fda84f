"""The benchmarks page of the docs site: what `nox -s bench` printed in its last complete run, with its date."""

from __future__ import annotations

import contextlib
import datetime
import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

HEADER = """# Benchmarks

Written by `nox -s bench` at the end of its last complete run (a run that fails writes nothing). Each figure
stands beside its baseline, both measured in the same run on the same machine; what each part measures, and
against what, is in `tools/bench.py`. Figures measured by hand, outside this session, are on
[Measurements](measurements.md).

- **date**: {date}
- **command**: `nox -s bench -- {options}`

```text
{output}```
"""


class Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal, self.copy = terminal, io.StringIO()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        self.terminal.flush()
        return self.copy.write(text)


@contextlib.contextmanager
def recorded(page: Path, options: list[str], root: Path) -> Iterator[None]:
    """Print as usual; when the block ends without error, write what it printed as the benchmarks page, with
    paths under `root` (the checkout) shown relative to it: the page names no machine's folders."""
    tee = Tee(sys.stdout)
    with contextlib.redirect_stdout(tee):
        yield
    date = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    shown = " ".join(options) or "(defaults)"
    printed = tee.copy.getvalue().replace(f"{root}/", "")
    output = "".join(line.rstrip() + "\n" for line in printed.splitlines())  # as the linters keep it
    page.write_text(HEADER.format(date=date, options=shown, output=output), encoding="utf-8")
    print(f"bench: wrote {page}")
