"""How well a learned reward agrees with the user's hidden preference cost (Spearman rho; higher is better).

- `within`: RAPL's Table 1 metric. For each video, Spearman rho between the learned per-step cost (minus the
  reward) and the hidden per-step preference cost at every `every`-th step (4 in the paper), then the mean over
  videos (50 in the paper). Videos whose HIDDEN cost is constant at those steps have no ranking to recover and
  are left out (counted in `n_constant`; `n_videos_within` is the number scored). A learned reward that is
  constant on a video ranks nothing and scores 0 there, so a reward cannot skip the videos it finds hard.
- `across`: Spearman rho between the videos' mean learned cost and mean hidden cost (`n_videos_across` videos):
  does the reward rank whole episodes as the user would. A constant learned reward scores 0; NaN only when the
  hidden costs are all equal.
A reward per video is required: a count or length that differs from the videos' raises ValueError.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

from aligngym.agents.rapl.episodes import Episode


def _check(rewards: Sequence[np.ndarray], episodes: Sequence[Episode]) -> list[np.ndarray]:
    if len(rewards) != len(episodes):
        raise ValueError(f"One reward sequence per video: got {len(rewards)} for {len(episodes)} videos.")
    out = [np.asarray(r, dtype=float).ravel() for r in rewards]
    for i, (r, e) in enumerate(zip(out, episodes)):
        if len(r) != len(e.preference_cost):
            raise ValueError(f"Video {i}: {len(r)} rewards for {len(e.preference_cost)} steps.")
    return out


def _rho(learned, hidden) -> float:
    """Spearman rho, 0 when the learned side is constant (it ranks nothing); the hidden side must vary."""
    return 0.0 if np.ptp(learned) == 0 else float(stats.spearmanr(learned, hidden).statistic)


def spearman_within(rewards: Sequence[np.ndarray], episodes: Sequence[Episode], every: int = 4) -> dict:
    rhos, constant = [], 0
    for reward, episode in zip(_check(rewards, episodes), episodes):
        learned, hidden = -reward[::every], episode.preference_cost[::every]
        if np.ptp(hidden) == 0:
            constant += 1
            continue
        rhos.append(_rho(learned, hidden))
    return {"rho_within": float(np.mean(rhos)) if rhos else float("nan"), "n_videos_within": len(rhos),
            "n_constant": constant}


def spearman_across(rewards: Sequence[np.ndarray], episodes: Sequence[Episode]) -> dict:
    learned = [-float(np.mean(r)) for r in _check(rewards, episodes)]
    hidden = [e.cost for e in episodes]
    rho = _rho(learned, hidden) if np.ptp(hidden) > 0 else float("nan")
    return {"rho_across": rho, "n_videos_across": len(episodes)}
