"""Preference learning for the rapl family: a simulated end user (B-Pref's knobs, RAPL's teacher), RAPL's
OT-aligned visual reward, an RLHF (Bradley-Terry) baseline, the ground truth, an untuned-encoder OT baseline, a
reward wrapper for SB3, and Spearman scoring. Works for any env that follows the rapl contract (`preference=`,
`render_mode="rgb_array"`, `info["preference_cost"]`). torch is imported only by the learners' modules.

    from aligngym.agents.rapl import collect_episodes, SimulatedUser
    from aligngym.agents.rapl.encoder import pretrain_backbone
    from aligngym.agents.rapl.rapl import RAPLReward, preferred_demos
"""
from aligngym.agents.rapl.episodes import Episode, collect_episodes, per_episode, smooth_random_policy
from aligngym.agents.rapl.scoring import spearman_across, spearman_within
from aligngym.agents.rapl.teacher import PRESETS, SimulatedUser, TeacherArgs, Triplet

__all__ = ["Episode", "collect_episodes", "per_episode", "smooth_random_policy", "spearman_across",
           "spearman_within", "PRESETS", "SimulatedUser", "TeacherArgs", "Triplet"]
