"""`LearnedRewardWrapper(env, reward_model)`: the env's reward becomes a learned per-step reward computed from
rendered frames, so SB3 (PPO, SAC) trains on what was learned from the user, not on the task reward.

The env must be made with `render_mode="rgb_array"`. The original reward stays in `info["env_reward"]` and the
hidden preference cost in `info["preference_cost"]` (for evaluation only). Learned OT rewards are computed on
the episode so far (see `OTReward.online_reward`); the ground truth reads `info["preference_cost"]`.

`every=k` (default 1) renders and pays the reward model only every k-th step (and at the episode's end): that
step's reward counts for the k steps since the last one (it is multiplied by their number) and the steps between
get 0, so an episode's return estimates the every-step one at 1/k of the rendering cost. Learned OT rewards then
see every k-th frame and compare it with every k-th frame of the demos (`online_reward(..., stride=k)`).

`normalise=True` (default off) centres and scales the learned reward by its running mean and standard deviation
over the rewarded steps so far (Welford, Gymnasium's `RunningMeanStd`, kept per wrapper across episodes): the
learner sees a reward of about unit scale whatever the model's (RLHF's head pays -5 to +2.5 per step, RAPL's OT
about -1). The statistics are of the model's per-render reward, before it is multiplied by the steps it counts
for, so the zeros between rendered steps (`every>1`) do not enter them; SB3's `VecNormalize(norm_reward=True)`
would instead divide by the std of the discounted return including those zeros, and would not centre. The ground
truth (`uses_env_cost`) is never normalised.
"""
from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.wrappers.utils import RunningMeanStd

from aligngym.agents.rapl.rapl import RewardModel


class LearnedRewardWrapper(gym.Wrapper):
    def __init__(self, env: gym.Env, reward_model: RewardModel, scale: float = 1.0, every: int = 1,
                 normalise: bool = False):
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError("LearnedRewardWrapper needs an env made with render_mode='rgb_array' (rewards are "
                             f"computed from frames); got {env.render_mode!r}.")
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be an integer >= 1 (reward every k-th step); got {every!r}.")
        self.reward_model, self.scale, self.every = reward_model, scale, every
        self.reward_stats = RunningMeanStd(shape=()) if normalise else None
        self._frames, self._memory, self._t, self._rewarded = [], {}, 0, 0

    def reset(self, **kwargs):
        # per episode and per env copy (copies may share one model)
        self._frames, self._memory, self._t, self._rewarded = [], {}, 0, 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        info = {**info, "env_reward": env_reward}
        if self.reward_model.uses_env_cost:
            reward = -float(info["preference_cost"])
        else:
            self._t += 1
            if self._t % self.every and not (terminated or truncated):
                reward = 0.0
            else:
                self._frames.append(self.env.render())
                steps, self._rewarded = self._t - self._rewarded, self._t
                reward = self.reward_model.online_reward(self._frames, self._memory, stride=self.every)
                if self.reward_stats is not None:
                    self.reward_stats.update(np.array([reward]))
                    reward = (reward - self.reward_stats.mean) / np.sqrt(self.reward_stats.var + 1e-8)
                reward = steps * float(reward)
        return obs, self.scale * reward, terminated, truncated, info
