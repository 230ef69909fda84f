"""`python -m mlci`: the command line, for an interpreter that sees more than the `mlci` script's own (`uv run
--with pyspark python -m mlci score ... --engine spark`)."""

from mlci.cli import main

raise SystemExit(main())
