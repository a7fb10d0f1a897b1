"""Progress baselines: the orderings that must hold, the LLM examinee (scripted), PPO."""
import gymnasium as gym
import numpy as np
import pytest

import aligngym  # noqa: F401
from aligngym.agents.base import AgentContext
from aligngym.agents.progress.baselines import extrapolate
from aligngym.agents.progress.examinee import count_options, llm_examinee
from aligngym.agents.spec import make_agent
from aligngym.benchmarks.harness import evaluate
from aligngym.envs.progress.questionnaire import BANK, ELICITATION
from aligngym.envs.progress.text import NO_ANSWER
from aligngym.llm import ScriptedLLM

PREDICT, FOLLOW, COEVOLVE = ("AlignGym/ProgressPredict-v1", "AlignGym/ProgressFollow-v1",
                             "AlignGym/ProgressCoevolve-v1")


def mean(env_id, agent, metric="score", **kwargs):
    if agent == "progress.oracle":
        kwargs["privileged"] = True
    return evaluate(env_id, agent, episodes=60, num_envs=60, env_kwargs=kwargs).aggregates[metric]["mean"]


def test_finite_difference_formula():
    series = np.array([0.0, 0.1, 0.3])[:, None] * np.ones(19)
    assert extrapolate(series, 1, 1)[0] == pytest.approx(0.5)  # 2 x_t - x_{t-1}
    assert extrapolate(series, 2, 1)[0] == pytest.approx(0.6)  # 3 x_t - 3 x_{t-1} + x_{t-2}
    assert extrapolate(series, 2, 2)[0] == pytest.approx(1.0)  # applied twice, clipped to [-1, 1]
    assert extrapolate(series[:1], 2, 3)[0] == 0.0  # one point: nothing to extrapolate


@pytest.mark.parametrize("k", [1, 2])
def test_oracle_beats_extrapolative_beats_static_on_predict_with_drift(k):
    s = {a: mean(PREDICT, a, k=k) for a in ("progress.oracle", "progress.extrapolative1", "progress.extrapolative2",
                                            "progress.static", "random")}
    assert s["progress.oracle"] >= s["progress.extrapolative1"] >= s["progress.static"] > s["random"]
    assert s["progress.oracle"] >= s["progress.extrapolative2"] >= s["progress.static"]


def test_extrapolation_helps_on_smooth_drift_and_hurts_on_a_random_walk():
    assert mean(PREDICT, "progress.extrapolative1") > mean(PREDICT, "progress.lifelong")
    walk = {"trajectory": "random-walk"}
    assert mean(PREDICT, "progress.lifelong", **walk) > mean(PREDICT, "progress.extrapolative1", **walk)


def test_follow_and_coevolve_directions():
    assert mean(FOLLOW, "progress.lifelong") > mean(FOLLOW, "progress.static") + 0.1
    assert mean(COEVOLVE, "progress.static", "lock_in") > 2 * mean(COEVOLVE, "progress.lifelong", "lock_in")
    assert mean(COEVOLVE, "progress.lifelong") > mean(COEVOLVE, "progress.static")


def test_oracle_refuses_an_unprivileged_env():
    with pytest.raises(ValueError, match="privileged=True"):
        evaluate(FOLLOW, "progress.oracle", episodes=1)
    with pytest.raises(ValueError, match="ahead must be an integer >= 0"):
        evaluate(FOLLOW, "progress.extrapolative1?ahead=-1", episodes=1)
    with pytest.raises(ValueError, match="needs history >= 3"):
        evaluate(FOLLOW, "progress.extrapolative2", episodes=1, env_kwargs={"history": 2})
    with pytest.raises(ValueError, match="not a numeric progress env"):
        evaluate("AlignGym/ProgressFollowText-v1", "progress.lifelong", episodes=1)


# --- questionnaire face ---------------------------------------------------------------------------------------

UPHOLDING = {i.options[i.option_signs.index(1.0)] for i in BANK if len(i.options) == 2}


def _context(env_id="AlignGym/ProgressFollowText-v1", **kwargs):
    env = gym.make(env_id, **kwargs)
    return AgentContext(env_id, env.observation_space, env.action_space, kwargs), env


def _episode(agent, env, seed=0):
    agent.reset(1, seed=seed)
    obs, _ = env.reset(seed=seed)
    measured = []
    while True:
        obs, _, _, truncated, info = env.step(int(agent.act((obs,))[0]))
        if "measured_values" in info:
            measured.append(info["measured_values"])
        if truncated:
            return info["metrics"], np.array(measured)


def _option_text(prompt, choice):
    last = prompt.rsplit("Question:", 1)[-1]
    return next(line.split(") ", 1)[1] for line in last.splitlines() if line.startswith(choice.strip() + ") "))


def test_llm_examinee_is_measured_by_content_not_position():
    ctx, env = _context(orders="cyclic")
    first = llm_examinee(ctx, llm=ScriptedLLM(lambda p: "1"))  # scores " 1" best: pure position bias
    metrics, measured = _episode(first, env)
    assert np.allclose(measured, 0.0) and metrics["parse_failure"] == 0.0
    content = ScriptedLLM(lambda p: "", score=lambda p, c: 0.0 if _option_text(p, c) in UPHOLDING else -5.0)
    _, measured = _episode(llm_examinee(ctx, llm=content), env)
    assert np.allclose(measured[:, :15], 1.0)


def test_llm_examinee_counts_unparsable_replies():
    ctx, env = _context("AlignGym/ProgressCoevolveText-v1", orders="cyclic")
    vague = llm_examinee(ctx, llm=ScriptedLLM(lambda p: "It depends on the circumstances."), mode="generate")
    metrics, _ = _episode(vague, env)
    assert metrics["parse_failure"] == 1.0 and vague.parse_failures == 72 * 8
    decided = llm_examinee(ctx, llm=ScriptedLLM(lambda p: "Answer: 2"), mode="generate")
    assert decided.act(("Question: x\n1) a\n2) b\nAnswer:",))[0] == 1
    assert decided.act(("Question: x\n1) a\n2) b\nAnswer:",) * 2).tolist() == [1, 1]
    unsure = llm_examinee(ctx, llm=ScriptedLLM(lambda p: "5"), mode="generate")
    assert unsure.act(("Question: x\n1) a\n2) b\nAnswer:",))[0] == NO_ANSWER
    assert count_options(env.reset(seed=0)[0]) == 2


def test_llm_examinee_refuses_bad_settings():
    ctx, _ = _context()
    with pytest.raises(ValueError, match="'score' or 'generate'"):
        llm_examinee(ctx, llm=ScriptedLLM(lambda p: "1"), mode="chat")
    import torch
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="peft|CUDA"):
            llm_examinee(ctx, llm=ScriptedLLM(lambda p: "1"), lora=True)


def test_first_option_baseline_measures_neutral_through_the_harness():
    record = evaluate("AlignGym/ProgressFollowText-v1", "progress.first_option", episodes=1,
                      env_kwargs={"orders": "cyclic"})
    assert record.aggregates["parse_failure"]["mean"] == 0.0
    assert record.aggregates["score"]["mean"] == 0.0  # a neutral (all-zero) vector has no direction


def test_ppo_trains_and_acts_in_value_space():
    env = gym.make(FOLLOW)
    ctx = AgentContext(FOLLOW, env.observation_space, env.action_space, {}, seed=0)
    agent = make_agent("progress.ppo?budget=1024", ctx)
    obs, _ = env.reset(seed=0)
    action = agent.act(obs[None])
    assert action.shape == (1, 19) and np.abs(action).max() <= 1.0


@pytest.mark.slow
def test_ppo_beats_static_and_random_on_follow():
    ppo = evaluate(FOLLOW, "progress.ppo?budget=20000", episodes=50, num_envs=50).aggregates["score"]["mean"]
    assert ppo > mean(FOLLOW, "progress.static") and ppo > mean(FOLLOW, "random")


def test_lora_examples_are_the_majority_answers_in_context(monkeypatch):
    """The LoRA path itself needs a GPU; here its training data is checked with `finetune` stubbed out."""
    from aligngym.agents.progress import examinee, lora

    seen = []
    monkeypatch.setattr(lora, "finetune", lambda llm, examples: seen.append(examples))
    ctx, env = _context(trajectory="historical-like")  # a known curve: people upholding `kill` in C13
    agent = examinee.LLMExaminee(ScriptedLLM(lambda p: "1"), lora=True)
    obs, _ = env.reset(seed=0)
    agent.act((obs, obs))
    assert len(seen) == 1 and len(seen[0]) == 2  # once per block and survey year; the two kill items in context
    prompt, target = seen[0][0]
    assert prompt.startswith("Question: A bandit") and prompt.endswith("Answer:") and target == " 1"
    for _ in range(len(env.unwrapped.questions) - 1):  # the rest of the first timestep's questionnaire
        obs, *_ = env.step(int(agent.act((obs,))[0]))
    trained = {p for examples in seen for p, _ in examples}
    assert len(trained) == len(ELICITATION) == 33


def test_dpo_pairs_follow_the_current_or_extrapolated_majority():
    from aligngym.agents.progress.dpo import preference_pairs

    text = ("Question: Q?\n1) a\n2) b\nShares by year: 1300 -> 1) 80%, 2) 20% | 1400 -> 1) 60%, 2) 40%\n\n"
            "Question: Next")
    assert preference_pairs(text, 0, 0)[0] == {"prompt": "Question: Q?\n1) a\n2) b\nAnswer:", "chosen": " 1",
                                               "rejected": " 2"}
    assert preference_pairs(text, 1, 0)[0]["chosen"] == " 1"  # no step ahead: the present majority
    assert preference_pairs(text, 1, 1)[0]["chosen"] == " 2"  # 80 -> 60 -> 40%: the trend crosses over
    with pytest.raises(ValueError, match="order must be 0"):
        make_agent("progress.dpo?order=3", _context()[0])


@pytest.mark.slow
@pytest.mark.llm
def test_dpo_takes_one_lora_step_with_trl_on_the_local_model():
    from aligngym.agents.progress.dpo import dpo

    ctx, env = _context(orders="cyclic", trajectory="historical-like")
    agent = dpo(ctx, order=1, steps=1)
    obs, _ = env.reset(seed=0)
    action = agent.act((obs,))
    adapters = [p for n, p in agent.llm.lm.named_parameters() if "lora_B" in n]
    assert adapters and max(float(p.detach().abs().max()) for p in adapters) > 0  # B starts at 0: a step was taken
    assert action.shape == (1,) and 0 <= action[0] < 2
