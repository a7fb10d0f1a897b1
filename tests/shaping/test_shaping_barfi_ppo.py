"""BARFI's outer loop with SB3 PPO as the inner learner: the outer step moves the heuristic's weight the
right way (down for the farmable bad heuristic, up for the good one), and the registered factory runs."""
import gymnasium as gym
import numpy as np
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.shaping.barfi_ppo import Args, SB3PolicyView, train_barfi_ppo
from aligngym.agents.spec import make_agent

GRID = "AlignGym/ShapingGridWorld-v1"


@pytest.mark.slow
@pytest.mark.parametrize("heuristic", ["bad", "good"])
def test_barfi_ppo_turns_the_bad_heuristic_down_and_the_good_one_up(heuristic):
    """Starting from the naive sum (phi1 = 1): 8192 PPO steps, 4 outer steps. With the farmable centre bonus
    the primary gradient points away from what the heuristic rewards, so phi1 (where the bonus is paid)
    must fall; with the distance-to-goal heuristic they agree and phi1 must rise."""
    result = train_barfi_ppo(GRID, {"heuristic": heuristic}, seed=0, args=Args(budget=8192))
    phi1 = result.reward_params[-1]["phi1_where_aux"]
    assert len(result.reward_params) == 4
    if heuristic == "bad":
        assert phi1 < 0.7, result.reward_params
    else:
        assert phi1 > 1.2, result.reward_params
    # the learned discount is what PPO used in its last phase
    assert result.model.gamma == pytest.approx(result.reward_params[-2]["gamma"], abs=1e-6)


def test_sb3_policy_view_matches_ppo_log_probs_for_box_actions():
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", gym.make("AlignGym/ShapingHalfCheetah-v1", horizon=10), n_steps=16, batch_size=16,
                seed=0)
    view = SB3PolicyView(model)
    obs = torch.randn(3, 2, 17)
    actions = torch.randn(3, 2, 6)
    _, expected, _ = model.policy.evaluate_actions(obs.reshape(6, 17), actions.reshape(6, 6))
    torch.testing.assert_close(view.log_prob(obs, actions), expected.reshape(3, 2))
    assert not any("value" in n for n, p in model.policy.named_parameters() if any(p is q for q in view.parameters()))
    sampled = view.to_env(view.sample(obs[0].numpy(), torch.Generator().manual_seed(0)))
    assert sampled.shape == (2, 6) and np.all(np.abs(sampled) <= 1.0)


def test_barfi_ppo_factory_records_its_learned_reward():
    ctx = AgentContext(GRID, gym.spaces.Box(0, 1, (2,)), gym.spaces.Discrete(4), {"heuristic": "bad"}, seed=0)
    agent = make_agent("shaping.barfi_ppo?budget=2048", ctx)
    assert {"phi1", "phi2", "gamma", "budget", "inner_updates"} <= set(agent.hyperparameters)
    assert agent.act(np.zeros((3, 2), np.float32)).shape == (3,)
    with pytest.raises(ValueError, match="budget, inner_updates and outer_episodes must be >= 1"):
        make_agent("shaping.barfi_ppo?budget=0", ctx)
