"""The bench's figures as data: each with its unit, what it is measured against, its goal and whether the goal
is met. The run writes them to `results.json` in its work folder and prints them as a table at its end, which
the benchmarks page keeps with the rest of what the run printed."""

from __future__ import annotations

import json
import operator
from dataclasses import asdict, dataclass
from pathlib import Path

COMPARISONS = {">=": operator.ge, "<=": operator.le}


@dataclass(frozen=True)
class Figure:
    """One measured figure: `goal` is a comparison and a bound (`>= 0.6`, `<= 2`), or empty for none."""

    name: str
    value: float
    unit: str
    reference: str
    goal: str = ""

    @property
    def met(self) -> bool | None:
        if not self.goal:
            return None
        comparison, bound = self.goal.split()
        return bool(COMPARISONS[comparison](self.value, float(bound)))


FIGURES: list[Figure] = []


def figure(name: str, value: float, unit: str, reference: str, goal: str = "") -> Figure:
    """Keep a figure for the run's results, and give it back to be printed."""
    measured = Figure(name, value, unit, reference, goal)
    FIGURES.append(measured)
    return measured


def verdict(measured: Figure) -> str:
    return {None: "", True: "met", False: "NOT MET"}[measured.met]


def write(path: Path) -> None:
    """The figures kept so far, as JSON, and the table of those with a goal."""
    path.write_text(json.dumps([asdict(each) | {"met": each.met} for each in FIGURES], indent=2) + "\n")
    goals = [each for each in FIGURES if each.goal]
    if goals:
        print(f"\nGoals ({sum(bool(each.met) for each in goals)} of {len(goals)} met; all figures in {path.name}):")
        for each in goals:
            print(f"  {each.name:72} {each.value:8.2f}  goal {each.goal:7} {verdict(each)}")
