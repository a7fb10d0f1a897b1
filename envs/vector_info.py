"""Episode-end metrics in a native vector twin's info, shaped as Gymnasium's SyncVectorEnv shapes them from the
single env's `info["metrics"]`, so the harness reads both the same way."""
from __future__ import annotations

import numpy as np


def episode_metrics(values: dict[str, np.ndarray], done: np.ndarray) -> dict:
    """`{"metrics": {name: array, "_name": mask}, "_metrics": mask}` for the sub-envs whose episode ended.

    Each value holds either one entry per sub-env or one per finished sub-env (in order)."""
    done = np.asarray(done, dtype=bool)
    metrics = {}
    for name, value in values.items():
        value = np.asarray(value, dtype=np.float64)
        column = np.zeros(len(done))
        column[done] = value if len(value) == done.sum() else value[done]
        metrics[name], metrics["_" + name] = column, done.copy()
    return {"metrics": metrics, "_metrics": done.copy()}
