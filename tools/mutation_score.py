"""Print the mutation score of the last `mutmut run` and every mutant that survived it (`nox -s mutants`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

STATS = Path("mutants/mutmut-cicd-stats.json")
GOAL = 0.8  # the share of mutants the fast tests must kill


def main() -> int:
    subprocess.run(["mutmut", "export-cicd-stats"], check=True, capture_output=True)
    stats = json.loads(STATS.read_text())
    judged = stats["killed"] + stats["survived"] + stats["timeout"] + stats["suspicious"]
    killed = stats["killed"] + stats["timeout"]  # a mutant that makes a test hang is caught too
    score = killed / judged if judged else 0.0
    print(f"mutants: {stats['total']}; killed {killed} of {judged} judged: {score:.0%} (goal {GOAL:.0%})")
    print(f"not reached by any fast test: {stats['no_tests']}; skipped: {stats['skipped']}")
    survivors = subprocess.run(["mutmut", "results"], check=True, capture_output=True, text=True).stdout.strip()
    print("survivors (`mutmut show NAME` shows one):" if survivors else "no survivor")
    if survivors:
        print(survivors)
    return 0 if score >= GOAL else 1


if __name__ == "__main__":
    sys.exit(main())
