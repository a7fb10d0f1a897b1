"""How well a learned reward agrees with the user's hidden preference cost (Spearman rho; higher is better).

- `within`: RAPL's Table 1 metric. For each video, Spearman rho between the learned per-step cost (minus the
  reward) and the hidden per-step preference cost at every `every`-th step (4 in the paper), then the mean over
  videos (50 in the paper). Videos whose hidden cost is constant at those steps have no ranking and are left out
  (counted in `n_constant`).
- `across`: Spearman rho between the videos' mean learned cost and mean hidden cost: does the reward rank whole
  episodes as the user would.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

from aligngym.agents.rapl.episodes import Episode


def spearman_within(rewards: Sequence[np.ndarray], episodes: Sequence[Episode], every: int = 4) -> dict:
    rhos, constant = [], 0
    for reward, episode in zip(rewards, episodes):
        learned, hidden = -np.asarray(reward)[::every], episode.preference_cost[::every]
        if np.ptp(hidden) == 0 or np.ptp(learned) == 0:
            constant += 1
            continue
        rhos.append(stats.spearmanr(learned, hidden).statistic)
    return {"rho_within": float(np.mean(rhos)) if rhos else float("nan"), "n_videos": len(rhos),
            "n_constant": constant}


def spearman_across(rewards: Sequence[np.ndarray], episodes: Sequence[Episode]) -> dict:
    learned = [-float(np.mean(r)) for r in rewards]
    hidden = [e.cost for e in episodes]
    rho = stats.spearmanr(learned, hidden).statistic if np.ptp(hidden) > 0 and np.ptp(learned) > 0 else float("nan")
    return {"rho_across": float(rho), "n_videos": len(episodes)}
