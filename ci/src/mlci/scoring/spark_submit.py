"""The file `spark-submit` runs: `mlci score ... --engine spark` on the master spark-submit gives.

    spark-submit --master URL --deploy-mode client "$(python -c 'import mlci.scoring.spark_submit as job;
    print(job.__file__)')" TABLE OUTPUT --version V [--keep ...]

Run from a clone of the repository (the driver reads the build's seal from git).
"""

from __future__ import annotations

import sys

from mlci.cli import main
from mlci.cli.scoring import SUBMITTED

if __name__ == "__main__":
    sys.exit(main(["score", *sys.argv[1:], "--engine", "spark", "--master", SUBMITTED]))
