"""`Metric`: one number an env reports at episode end in `info["metrics"]`.

Each env module declares its `METRICS` tuple beside the code that computes them; its registry row references
that tuple and names the `primary_metric` that suites and the leaderboard rank by."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Metric:
    name: str
    description: str
    higher_is_better: bool | None  # None: a diagnostic with no better direction (e.g. episode length)

    @property
    def arrow(self) -> str:
        return {True: "↑", False: "↓"}.get(self.higher_is_better, "")
