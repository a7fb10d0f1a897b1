"""`LearnedRewardWrapper(env, reward_model)`: the env's reward becomes a learned per-step reward computed from
rendered frames, so SB3 (PPO, SAC) trains on what was learned from the user, not on the task reward.

The env must be made with `render_mode="rgb_array"`. The original reward stays in `info["env_reward"]` and the
hidden preference cost in `info["preference_cost"]` (for evaluation only). Learned OT rewards are computed on
the episode so far (see `OTReward.online_reward`); the ground truth reads `info["preference_cost"]`.
"""
from __future__ import annotations

import gymnasium as gym

from aligngym.agents.rapl.rapl import RewardModel


class LearnedRewardWrapper(gym.Wrapper):
    def __init__(self, env: gym.Env, reward_model: RewardModel, scale: float = 1.0):
        super().__init__(env)
        if env.render_mode != "rgb_array":
            raise ValueError("LearnedRewardWrapper needs an env made with render_mode='rgb_array' (rewards are "
                             f"computed from frames); got {env.render_mode!r}.")
        self.reward_model, self.scale = reward_model, scale
        self._frames, self._memory = [], {}

    def reset(self, **kwargs):
        self._frames, self._memory = [], {}  # per episode and per env copy (copies may share one model)
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, env_reward, terminated, truncated, info = self.env.step(action)
        info = {**info, "env_reward": env_reward}
        if self.reward_model.uses_env_cost:
            reward = -float(info["preference_cost"])
        else:
            self._frames.append(self.env.render())
            reward = self.reward_model.online_reward(self._frames, self._memory)
        return obs, self.scale * reward, terminated, truncated, info
