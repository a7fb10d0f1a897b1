"""Human moral trajectories: built-in, parameterised variants and a loader for your own T x 19 file.

No measured value vectors of historical populations are published, so the built-ins are documented
assumptions, not data. Time runs over centuries C13 ... C21 (`centuries=9`); `centuries` > 9 continues the
curves past C21 and `steps_per_century` > 1 gives finer resolution (T = (centuries - 1) * steps_per_century + 1).
Each episode draws a fresh trajectory: the variant's curve plus per-dimension Gaussian noise (`noise`, std per
timestep), clipped to [-1, 1] with the worldview block centred (see `values.py`).

Variants
- `historical-like`: each dimension moves from a C13 value to a C21 value along a logistic curve with its own
  midpoint and width (table `HISTORICAL` below): e.g. authority and purity fall, freedom, fairness and pleasure
  rise, the traditional worldview gives way to modern and later post-modern ones. Drifts are smooth, so
  extrapolating the recent past helps.
- `random-walk`: starts at the C13 values of `historical-like` and takes independent Gaussian steps
  (std 0.15 per century, scaled by sqrt(1 / steps_per_century)). The best guess of the future is the present,
  so extrapolation does not help here.
- `reversal`: moves from the C13 values towards the C21 values of `historical-like` until C17, then returns
  (a half sine). Extrapolation overshoots around the turn.
- a file path (`.csv` or `.json`): your own T x 19 trajectory (`load_trajectory`); `centuries` and
  `steps_per_century` then only label the timesteps, and `noise` still applies (use `noise=0` for exact values).
"""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from aligngym.envs.progress.values import DIMENSIONS, N_DIMS, centre_worldviews

BUILTIN = ("historical-like", "random-walk", "reversal")
FIRST_CENTURY, LAST_CENTURY = 13, 21
RANDOM_WALK_STEP = 0.15  # std of one century's step in `random-walk`

# dimension: (C13 value, C21 value, midpoint century, width in centuries) of the logistic drift
HISTORICAL = {
    "kill": (0.75, 0.90, 18.0, 1.5), "pain": (0.45, 0.80, 19.0, 1.5), "disable": (0.55, 0.80, 19.0, 2.0),
    "freedom": (0.10, 0.85, 18.5, 1.2), "pleasure": (-0.30, 0.50, 19.5, 1.2), "deceive": (0.60, 0.50, 17.0, 2.0),
    "cheat": (0.65, 0.60, 18.0, 2.0), "promise": (0.85, 0.55, 19.0, 1.5), "law": (0.80, 0.45, 19.5, 1.5),
    "duty": (0.85, 0.30, 19.5, 1.3),
    "care": (0.30, 0.80, 19.0, 1.5), "fairness": (0.10, 0.80, 18.5, 1.2), "loyalty": (0.80, 0.20, 19.0, 1.3),
    "authority": (0.85, -0.10, 18.8, 1.2), "purity": (0.80, -0.20, 19.2, 1.2),
    "traditional": (0.90, -0.40, 18.0, 1.2), "modern": (-0.30, 0.50, 18.5, 1.0),
    "postmodern": (-0.60, 0.35, 20.0, 0.7), "integrated": (-0.60, -0.05, 20.5, 0.8),
}


def century_times(centuries: int = 9, steps_per_century: int = 1) -> np.ndarray:
    """The century number of every timestep: 13, 14, ... (fractions with steps_per_century > 1)."""
    return FIRST_CENTURY + np.arange((centuries - 1) * steps_per_century + 1) / steps_per_century


def _logistic_progress(c: np.ndarray, mid: float, width: float) -> np.ndarray:
    """0 at C13, 1 at C21, logistic in between (and gently beyond C21)."""
    s = lambda x: 1.0 / (1.0 + np.exp(-(x - mid) / width))  # noqa: E731
    return (s(c) - s(FIRST_CENTURY)) / (s(LAST_CENTURY) - s(FIRST_CENTURY))


def _start_end() -> tuple[np.ndarray, np.ndarray]:
    start = np.array([HISTORICAL[d][0] for d in DIMENSIONS])
    end = np.array([HISTORICAL[d][1] for d in DIMENSIONS])
    return start, end


def historical_curve(c: np.ndarray) -> np.ndarray:
    start, end = _start_end()
    prog = np.stack([_logistic_progress(c, HISTORICAL[d][2], HISTORICAL[d][3]) for d in DIMENSIONS], axis=-1)
    return start + (end - start) * prog


def reversal_curve(c: np.ndarray, turn: float = 17.0) -> np.ndarray:
    start, end = _start_end()
    phase = np.sin(np.pi / 2 * (c - FIRST_CENTURY) / (turn - FIRST_CENTURY))
    return start + (end - start) * phase[:, None]


class Trajectory:
    """A trajectory source: a built-in name or a file, resolved once; `sample` draws episodes."""

    def __init__(self, source: str = "historical-like", centuries: int = 9, steps_per_century: int = 1,
                 noise: float = 0.02):
        if not isinstance(centuries, (int, np.integer)) or centuries < 2:
            raise ValueError(f"centuries must be an integer >= 2 (9 = C13..C21), got {centuries!r}.")
        if not isinstance(steps_per_century, (int, np.integer)) or steps_per_century < 1:
            raise ValueError(f"steps_per_century must be an integer >= 1, got {steps_per_century!r}.")
        if not np.isfinite(noise) or noise < 0:
            raise ValueError(f"noise must be a finite number >= 0, got {noise!r}.")
        self.source, self.noise = str(source), float(noise)
        if self.source in BUILTIN:
            self.times = century_times(centuries, steps_per_century)
            self.curve = None if self.source == "random-walk" else (
                historical_curve(self.times) if self.source == "historical-like" else reversal_curve(self.times))
        elif self.source.lower().endswith((".csv", ".json")):
            self.curve = load_trajectory(self.source)
            self.times = FIRST_CENTURY + np.arange(len(self.curve)) / steps_per_century
        else:
            raise ValueError(f"Unknown trajectory {source!r}; use one of {', '.join(BUILTIN)} "
                             "or a path to a T x 19 .csv/.json file.")
        self.steps_per_century = steps_per_century

    @property
    def length(self) -> int:
        return len(self.times)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n episodes' trajectories, shape (n, T, 19)."""
        T = self.length
        if self.curve is None:  # random walk from the historical C13 values
            steps = rng.normal(0.0, RANDOM_WALK_STEP / np.sqrt(self.steps_per_century), size=(n, T, N_DIMS))
            steps[:, 0] = 0.0
            base = _start_end()[0] + np.cumsum(steps, axis=1)
        else:
            base = np.broadcast_to(self.curve, (n, T, N_DIMS))
        noisy = base + rng.normal(0.0, self.noise, size=(n, T, N_DIMS)) if self.noise > 0 else base
        return centre_worldviews(noisy)


def load_trajectory(path: str | Path) -> np.ndarray:
    """Reads a T x 19 trajectory (rows = timesteps, columns = `DIMENSIONS`) and validates it.

    CSV: one row per timestep, 19 numbers; an optional header row naming the 19 dimensions (any order).
    JSON: a list of T lists of 19 numbers, or {"values": [[...], ...]}.
    Values must be finite and in [-1, 1]; at least 2 timesteps. The worldview block is centred (sum 0).
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"Trajectory file {str(path)!r} does not exist.")
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text())
        rows = data.get("values") if isinstance(data, dict) else data
        if rows is None:
            raise ValueError(f"{path}: a JSON trajectory is a list of rows or {{\"values\": rows}}.")
    else:
        with path.open(newline="") as f:
            rows = [r for r in csv.reader(f) if any(cell.strip() for cell in r)]
        if rows and not _is_number(rows[0][0]):
            header = [h.strip() for h in rows[0]]
            if sorted(header) != sorted(DIMENSIONS):
                raise ValueError(f"{path}: header must name the 19 dimensions {', '.join(DIMENSIONS)}; got {header}.")
            order = [header.index(d) for d in DIMENSIONS]
            rows = [[r[i] for i in order] if len(r) == len(header) else r for r in rows[1:]]
    if not isinstance(rows, list) or not all(isinstance(r, (list, tuple)) for r in rows):
        raise ValueError(f"{path}: expected a list of rows, each a list of {N_DIMS} numbers.")
    lengths = sorted({len(r) for r in rows})
    if lengths != [N_DIMS]:
        raise ValueError(f"{path}: every row must hold {N_DIMS} numbers ({', '.join(DIMENSIONS)}); "
                         f"found rows of length {lengths}.")
    try:
        arr = np.array([[float(x) for x in r] for r in rows], dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{path}: every entry must be a number ({e}).") from e
    return validate_trajectory(arr, str(path))


def validate_trajectory(arr: np.ndarray, source: str = "trajectory") -> np.ndarray:
    arr = np.asarray(arr, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != N_DIMS or arr.shape[0] < 2:
        raise ValueError(f"{source}: a trajectory has shape T x {N_DIMS} with T >= 2 "
                         f"(rows = timesteps, columns = {', '.join(DIMENSIONS)}); got shape {arr.shape}.")
    bad = ~np.isfinite(arr)
    if bad.any():
        t, d = np.argwhere(bad)[0]
        raise ValueError(f"{source}: values must be finite numbers; row {t}, column {DIMENSIONS[d]} is {arr[t, d]}.")
    out = np.abs(arr) > 1.0
    if out.any():
        t, d = np.argwhere(out)[0]
        raise ValueError(f"{source}: values must lie in [-1, 1]; row {t}, column {DIMENSIONS[d]} is {arr[t, d]}.")
    return centre_worldviews(arr)


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False
