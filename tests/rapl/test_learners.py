"""The rapl learners: simulated user, Sinkhorn vs POT, RAPL / RLHF / untuned OT / GT rewards, files, wrapper."""
from __future__ import annotations

import gymnasium as gym
import numpy as np
import ot
import pytest
import torch

import aligngym  # noqa: F401
from aligngym.agents.rapl import Episode, SimulatedUser, collect_episodes, spearman_across, spearman_within
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone, random_backbone
from aligngym.agents.rapl.ot import ot_similarity, sinkhorn
from aligngym.agents.rapl.rapl import Args, GTReward, OTReward, RAPLReward, load_reward_model, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.tcc import TCCArgs, TCCReward, tcc_loss
from aligngym.agents.rapl.teacher import PRESETS, QueryBudgetExhausted
from aligngym.agents.rapl.wrapper import LearnedRewardWrapper



def flat_episode(costs) -> Episode:
    costs = np.asarray(costs, dtype=float)
    return Episode(np.zeros((len(costs), 8, 8, 3), np.uint8), costs)


def dot_videos(n: int, seed: int = 0, length: int = 24, size: int = 32) -> list[Episode]:
    """Synthetic videos: a red dot wanders (the user dislikes it on the right: cost = its x) and a blue dot
    wanders as a distractor that the cost ignores."""
    rng = np.random.default_rng(seed)
    episodes = []
    for _ in range(n):
        pos = rng.uniform(0.1, 0.9, (2, 2))
        drift = rng.normal(0, 0.04, (2, 2))
        frames, costs = [], []
        for _ in range(length):
            pos = np.clip(pos + drift + rng.normal(0, 0.02, (2, 2)), 0.05, 0.95)
            img = np.full((size, size, 3), 230, np.uint8)
            for (x, y), colour in zip(pos, [(220, 40, 40), (40, 40, 220)]):
                r, c = int(y * size), int(x * size)
                img[max(r - 2, 0):r + 3, max(c - 2, 0):c + 3] = colour
            frames.append(img)
            costs.append(pos[0, 0])
        episodes.append(Episode(np.stack(frames), np.array(costs)))
    return episodes


# --- the simulated user -------------------------------------------------------------------------------------------
def test_oracle_ranks_by_hidden_cost_and_spends_one_query_per_triplet():
    pool = [flat_episode([c] * 5) for c in np.linspace(0, 1, 12)]
    user = SimulatedUser("oracle", budget=40, seed=0)
    triplets = user.label(pool, 40)
    assert len(triplets) == 40 and user.queries_used == 40
    for t in triplets:
        assert pool[t.pos].cost < pool[t.neu].cost < pool[t.neg].cost and not t.equal
    with pytest.raises(QueryBudgetExhausted, match="budget of 40"):
        user.label(pool, 1)


@pytest.mark.parametrize("preset", ["oracle", "rapl"])
def test_asking_beyond_the_budget_spends_nothing_and_a_fractional_count_is_refused(preset):
    pool = [flat_episode([c] * 5) for c in np.linspace(0, 1, 40)]
    user = SimulatedUser(preset, budget=5, seed=0)
    with pytest.raises(QueryBudgetExhausted, match="6 queries asked but 5 .* left; nothing was spent"):
        user.label(pool, 6)
    assert user.queries_used == 0 and len(user.label(pool, 5)) == 5
    with pytest.raises(ValueError, match="n_queries must be an int >= 1; got 2.5"):
        SimulatedUser(preset, budget=5).label(pool, 2.5)


def test_mistake_reverses_and_noisy_sometimes_disagrees():
    pool = [flat_episode([c] * 5) for c in np.linspace(0, 1, 12)]
    always_wrong = SimulatedUser("mistake", eps_mistake=1.0, seed=0).label(pool, 30)
    assert all(pool[t.pos].cost > pool[t.neg].cost for t in always_wrong)
    noisy = SimulatedUser("noisy", beta=0.5, seed=0).label(pool, 200)
    wrong = np.mean([pool[t.pos].cost > pool[t.neg].cost for t in noisy])
    assert 0.0 < wrong < 0.4  # mostly right: better videos are likelier to be ranked first


def test_myopic_user_weighs_late_steps_more():
    early_bad, late_bad = flat_episode([1.0] * 5 + [0.0] * 20), flat_episode([0.0] * 20 + [1.0] * 5)
    oracle, myopic = SimulatedUser("oracle"), SimulatedUser("myopic")
    assert oracle.utility(early_bad) == oracle.utility(late_bad)
    assert myopic.utility(early_bad) > myopic.utility(late_bad)


def test_skip_and_equal_thresholds():
    pool = [flat_episode([c] * 4) for c in [0.0, 0.01, 0.02, 0.98, 0.99, 1.0]]
    utilities = np.array([SimulatedUser().utility(e) for e in pool])
    span = float(np.ptp(utilities))
    assert SimulatedUser("skip").rank(utilities, [3, 4, 5], span) is None  # all three bad
    assert SimulatedUser("skip").rank(utilities, [0, 1, 5], span) is not None
    assert SimulatedUser("equal").rank(utilities, [0, 1, 2], span).equal
    assert not SimulatedUser("equal").rank(utilities, [0, 1, 5], span).equal


def test_rapl_teacher_draws_from_its_bands_and_gives_half_equal_triplets():
    pool = [flat_episode([c] * 4) for c in np.linspace(0, 1, 100)]
    triplets = SimulatedUser("rapl", budget=50, seed=1).label(pool, 50)
    ranked, equal = [t for t in triplets if not t.equal], [t for t in triplets if t.equal]
    assert len(ranked) == len(equal) == 25
    assert all(pool[t.pos].cost <= 0.16 and 0.29 < pool[t.neu].cost <= 0.51 and 0.69 < pool[t.neg].cost < 0.91
               for t in ranked)
    assert all(pool[i].cost < 0.16 for t in equal for i in t[:3])


def test_rapl_teacher_splits_tied_costs_by_rank():
    pool = [flat_episode([0.0] * 4) for _ in range(60)] + [flat_episode([c] * 4) for c in np.linspace(0.1, 1, 40)]
    triplets = SimulatedUser("rapl", budget=20, seed=0).label(pool, 20)
    assert all(pool[t.pos].cost <= pool[t.neu].cost <= pool[t.neg].cost for t in triplets if not t.equal)
    assert any(pool[t.neg].cost > 0 for t in triplets if not t.equal)


@pytest.mark.parametrize("kwargs,match", [
    ({"preset": "angry"}, "preset.*oracle, mistake, noisy, skip, myopic, equal, rapl"),
    ({"budget": 0}, "budget must be an int >= 1"),
    ({"budget": 2.5}, "budget must be an int >= 1"),
    ({"temperature": 1.0}, "Unknown teacher knob.*beta"),
])
def test_bad_teacher_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SimulatedUser(**kwargs)


def test_presets_are_b_prefs():
    assert PRESETS["mistake"].eps_mistake == 0.1 and PRESETS["noisy"].beta == 1.0
    assert PRESETS["skip"].eps_skip == 0.1 and PRESETS["myopic"].gamma == 0.9 and PRESETS["equal"].eps_equal == 0.1


# --- optimal transport --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("reg", [1.0, 0.05])  # plain and log-domain iterations
def test_batched_sinkhorn_matches_pot_plans_and_gradients(reg):
    torch.manual_seed(0)
    cost = torch.rand(3, 12, 17, dtype=torch.float64) * 2
    a, b = np.full(12, 1 / 12), np.full(17, 1 / 17)
    plans = sinkhorn(cost, reg, max_iter=5000, tol=1e-10)
    leaf = cost.clone().requires_grad_(True)
    (sinkhorn(leaf, reg, max_iter=5000, tol=1e-10) * leaf).sum().backward()
    for i in range(3):
        ref = ot.sinkhorn(a, b, cost[i].numpy(), reg, numItermax=5000, stopThr=1e-12, method="sinkhorn_log")
        np.testing.assert_allclose(plans[i].numpy(), ref, atol=1e-6)
        m = cost[i].clone().requires_grad_(True)
        ot.sinkhorn2(torch.tensor(a), torch.tensor(b), m, reg, numItermax=5000, stopThr=1e-12,
                     method="sinkhorn_log").backward()
        np.testing.assert_allclose(leaf.grad[i].numpy(), m.grad.numpy(), atol=1e-4)


def test_ot_similarity_is_highest_for_the_same_video():
    x = torch.randn(10, 8)
    assert ot_similarity(x, x) > ot_similarity(x, torch.randn(10, 8))


# --- learned rewards ----------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dots():
    pool, test = dot_videos(60, seed=0), dot_videos(16, seed=1)
    backbone = random_backbone(EncoderArgs(image_size=32))  # random conv features keep where the dots are
    user = SimulatedUser("oracle", budget=200, seed=0)
    triplets = user.label(pool, 120)
    return pool, test, backbone, user, triplets


def test_time_contrastive_pretraining_lowers_its_loss(dots):
    pool = dots[0]
    short = pretrain_backbone([e.frames for e in pool], EncoderArgs(image_size=32, pretrain_steps=1))
    longer = pretrain_backbone([e.frames for e in pool], EncoderArgs(image_size=32, pretrain_steps=40))
    assert longer.pretrain_loss < short.pretrain_loss - 0.3
    assert longer.signature == {"kind": "small_cnn", "image_size": 32, "feature_dim": 128}


def mean_p(model, triplets, episodes):
    feats = {i: model.backbone.features(episodes[i].frames) for t in triplets for i in t[:3]}
    with torch.no_grad():
        return 1 - float(model._loss([t for t in triplets if not t.equal], feats))


def test_rapl_fits_its_triplet_objective_and_rlhf_learns_the_preference(dots):
    pool, test, backbone, user, triplets = dots
    demos = preferred_demos(pool, user, 6)
    assert max(d.cost for d in demos) <= sorted(e.cost for e in pool)[5]
    before = RAPLReward(backbone, Args(epochs=1, lr=0.0)).fit(pool, triplets, demos)
    rapl = RAPLReward(backbone, Args(epochs=15)).fit(pool, triplets, demos)
    # P = exp s(+,0) / (exp s(+,0) + exp s(+,-)) rises on the user's triplets
    assert mean_p(rapl, triplets, pool) > mean_p(before, triplets, pool) + 0.03
    assert rapl.best_val_loss < rapl.history[0]["val_loss"] or rapl.history[0]["val_loss"] == rapl.best_val_loss
    rlhf = BTReward(backbone, RLHFArgs(epochs=15)).fit(pool, triplets)
    assert spearman_across(rlhf.rewards(test), test)["rho_across"] > 0.5
    gt = GTReward().rewards(test)
    assert spearman_within(gt, test)["rho_within"] == pytest.approx(1.0)
    assert spearman_across(gt, test)["rho_across"] == pytest.approx(1.0)
    for model in (rapl, OTReward(backbone).set_demos(demos)):
        rewards = model.rewards(test)
        assert all(r.shape == (len(e),) and np.all(np.isfinite(r)) for r, e in zip(rewards, test))


def test_tcc_loss_is_zero_for_aligned_videos_and_refuses_one_video():
    line = torch.arange(10.0)[:, None] * torch.ones(1, 4) * 10  # frames far apart: each cycles back to itself
    assert float(tcc_loss(torch.stack([line, line + 0.1]))) < 1e-6
    assert float(tcc_loss(torch.stack([line, line.flip(0)]))) < 1e-6  # cycle consistency ignores direction
    assert float(tcc_loss(torch.zeros(2, 10, 4))) > 0.05  # everything alike: the cycle lands anywhere
    with pytest.raises(ValueError, match="at least 2 videos"):
        tcc_loss(torch.zeros(1, 10, 4))


def test_tcc_head_learns_to_cycle_back_on_held_out_videos(dots):
    pool, test, backbone, user, _ = dots
    demos = preferred_demos(pool, user, 6)
    untrained = TCCReward(backbone, tcc=TCCArgs(steps=0)).fit(pool[:30], demos)
    trained = TCCReward(backbone, tcc=TCCArgs(steps=200)).fit(pool[:30], demos)
    assert trained.history[-1]["loss"] < trained.history[0]["loss"]
    assert trained.cycle_error(test) < untrained.cycle_error(test) - 0.01  # ~0.086 -> ~0.061
    rewards = trained.rewards(test)  # RAPL's OT reward through the TCC head
    assert all(r.shape == (len(e),) and np.all(np.isfinite(r)) and np.all(r <= 0) for r, e in zip(rewards, test))
    with pytest.raises(ValueError, match="at least 2 videos"):
        TCCReward(backbone).fit(pool[:1], demos)


def test_reward_files_round_trip_and_refuse_another_encoder(dots, tmp_path):
    pool, test, backbone, user, triplets = dots
    rapl = RAPLReward(backbone, Args(epochs=2)).fit(pool, triplets, preferred_demos(pool, user, 6))
    rlhf = BTReward(backbone, RLHFArgs(epochs=2)).fit(pool, triplets)
    tcc = TCCReward(backbone, tcc=TCCArgs(steps=5)).fit(pool[:8], preferred_demos(pool, user, 6))
    for model in (rapl, rlhf, tcc):
        path = tmp_path / f"{model.name}.pt"
        model.save(path)
        again = load_reward_model(path, backbone)
        np.testing.assert_allclose(again.reward(test[0].frames), model.reward(test[0].frames), rtol=1e-5, atol=1e-6)
    other = random_backbone(EncoderArgs(image_size=48))
    with pytest.raises(ValueError, match="does not match the given encoder"):
        load_reward_model(tmp_path / "rapl.pt", other)
    (tmp_path / "junk.pt").write_bytes(b"")
    torch.save({"weights": 1}, tmp_path / "junk.pt")
    with pytest.raises(ValueError, match="not an AlignGym rapl reward-model file"):
        load_reward_model(tmp_path / "junk.pt")


def test_bad_learner_inputs_are_refused(dots):
    pool, _, backbone, user, triplets = dots
    with pytest.raises(ValueError, match="loss.*reference, logp"):
        RAPLReward(backbone, Args(loss="hinge"))
    with pytest.raises(ValueError, match="train_cost.*cosine, euclidean"):
        RAPLReward(backbone, Args(train_cost="manhattan"))
    with pytest.raises(ValueError, match="at least 2 labelled triplets"):
        RAPLReward(backbone).fit(pool, triplets[:1], pool[:6])
    with pytest.raises(RuntimeError, match="set_demos"):
        OTReward(backbone).reward(pool[0].frames)
    with pytest.raises(ValueError, match=r"uint8 \[T, H, W, 3\]"):
        Episode(np.zeros((3, 8, 8)), np.zeros(3))


# --- episodes from an env and the reward wrapper ------------------------------------------------------------------
def test_collect_episodes_and_wrapper_on_the_sweep_env(dots):
    env_id = "AlignGym/SweepToTop-Longstick-v0"
    episodes = collect_episodes(env_id, "random", n=2, seed=0, preference="group", resolution=32)
    assert len(episodes) == 2 and episodes[0].frames.shape == (50, 32, 32, 3)
    assert len(episodes[0].preference_cost) == 50 and "preference_success" in episodes[0].metrics
    backbone = random_backbone(EncoderArgs(image_size=32))
    rlhf = BTReward(backbone)
    ot_model = OTReward(backbone).set_demos(episodes[:1])
    for model in (rlhf, ot_model, GTReward()):
        env = LearnedRewardWrapper(gym.make(env_id, render_mode="rgb_array", resolution=32), model)
        env.reset(seed=0)
        rewards = []
        for _ in range(5):
            _, reward, _, _, info = env.step(env.action_space.sample())
            rewards.append(reward)
            assert "env_reward" in info and "preference_cost" in info
        if model.uses_env_cost:
            assert reward == -info["preference_cost"]
        assert all(np.isfinite(rewards))
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        LearnedRewardWrapper(gym.make(env_id), rlhf)


def test_wrapper_rewarding_every_kth_step_keeps_the_episode_return_and_renders_k_times_less():
    from aligngym.agents.rapl.rapl import RewardModel

    class Constant(RewardModel):  # -1 per step, recording what it was asked
        def __init__(self):
            self.calls = []

        def online_reward(self, frames, memory=None, stride=1):
            self.calls.append((len(frames), stride))
            return -1.0

    model = Constant()
    env = LearnedRewardWrapper(gym.make("AlignGym/SweepToTop-Longstick-v0", render_mode="rgb_array", resolution=32),
                               model, every=4)
    env.reset(seed=0)
    rewards, done = [], False
    while not done:
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        rewards.append(reward)
        done = terminated or truncated
    assert len(rewards) == 50 and sum(rewards) == -50.0  # the every-step return
    assert rewards[3::4] == [-4.0] * 12 and rewards[-1] == -2.0 and rewards.count(0.0) == 50 - 13
    assert model.calls == [(n, 4) for n in range(1, 14)]  # one rendered frame per rewarded step
    with pytest.raises(ValueError, match="every must be an integer >= 1"):
        LearnedRewardWrapper(env.env, model, every=0)


def test_wrapper_normalises_the_learned_reward_to_unit_scale_only_when_asked():
    from aligngym.agents.rapl.rapl import RewardModel

    class Offset(RewardModel):  # far from unit scale: 100 + 10 * noise per rendered step
        def __init__(self):
            self.rng = np.random.default_rng(0)

        def online_reward(self, frames, memory=None, stride=1):
            return 100.0 + 10.0 * self.rng.normal()

    def episode_rewards(model, episodes=4, **kwargs):
        env = LearnedRewardWrapper(gym.make("AlignGym/SweepToTop-Longstick-v0", render_mode="rgb_array",
                                            resolution=32), model, **kwargs)
        rewards = []
        for episode in range(episodes):  # the statistics run on across episodes
            env.reset(seed=episode)
            done = False
            while not done:
                _, reward, terminated, truncated, info = env.step(env.action_space.sample())
                rewards.append((reward, info["preference_cost"]))
                done = terminated or truncated
        return np.array(rewards)

    raw = episode_rewards(Offset())[:, 0]
    assert raw.mean() > 90 and raw.std() > 5  # off (the default): the model's own scale
    normalised = episode_rewards(Offset(), normalise=True)[50:, 0]  # after the first episode's warm-up
    assert abs(normalised.mean()) < 0.3 and 0.7 < normalised.std() < 1.3
    every = episode_rewards(Offset(), normalise=True, every=5)[50:, 0]
    paid = every[every != 0]
    assert len(paid) == 150 // 5 and abs(paid.mean() / 5) < 0.5 and 0.6 < (paid / 5).std() < 1.4  # 5 steps each
    gt = episode_rewards(GTReward(), episodes=1, normalise=True)
    np.testing.assert_array_equal(gt[:, 0], -gt[:, 1])  # the ground truth is never normalised


def test_ot_online_reward_with_a_stride_compares_frames_of_the_same_time(dots):
    demo = dots[0][0]
    model = OTReward(dots[2]).set_demos([demo])
    every_third = demo.frames[2::3]  # the demo itself, seen every 3rd step
    at_the_same_time = [model.online_reward(every_third[:n], {}, stride=3) for n in range(4, 9)]
    against_the_first_frames = [model.online_reward(every_third[:n], {}, stride=1) for n in range(4, 9)]
    assert all(a > b for a, b in zip(at_the_same_time, against_the_first_frames))


def test_env_copies_sharing_one_ot_model_keep_their_episodes_apart():
    env_id = "AlignGym/SweepToTop-Longstick-v0"
    model = OTReward(random_backbone(EncoderArgs(image_size=32))).set_demos(
        collect_episodes(env_id, "random", n=2, seed=0, resolution=32))
    actions = np.random.default_rng(0).uniform(-1, 1, (6, 2)).astype(np.float32)

    def wrapped(seed):
        env = LearnedRewardWrapper(gym.make(env_id, render_mode="rgb_array", resolution=32), model)
        env.reset(seed=seed)
        return env
    alone = wrapped(0)
    expected = [alone.step(a)[1] for a in actions]
    first, second = wrapped(0), wrapped(1)  # as in a DummyVecEnv: the copies step in turn
    got = []
    for a in actions:
        got.append(first.step(a)[1])
        second.step(-a)
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_sb3_ppo_trains_on_a_learned_reward():
    from stable_baselines3 import PPO

    env_id = "AlignGym/SweepToTop-Longstick-v0"
    backbone = random_backbone(EncoderArgs(image_size=32))
    demos = collect_episodes(env_id, "random", n=2, seed=0, resolution=32)
    env = LearnedRewardWrapper(gym.make(env_id, render_mode="rgb_array", resolution=32),
                               OTReward(backbone).set_demos(demos))
    model = PPO("MlpPolicy", env, n_steps=32, batch_size=16, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    rewards = model.rollout_buffer.rewards
    assert np.all(np.isfinite(rewards)) and np.all(rewards <= 0) and np.ptp(rewards) > 0  # -OT costs, varying


def test_resnet18_backbone_without_torchvision_says_what_to_install(tmp_path):
    import importlib.util

    from aligngym.agents.rapl.encoder import resnet18_backbone
    if importlib.util.find_spec("torchvision") is not None:
        pytest.skip("torchvision is installed here")
    with pytest.raises(ImportError, match="pip install torchvision"):
        resnet18_backbone(str(tmp_path / "resnet18.pth"))


def test_resnet18_backbone_loads_a_local_state_dict(tmp_path):
    # Skipped with the default CPU torch 2.13: no torchvision build for it imports (see resnet18_backbone).
    torchvision = pytest.importorskip("torchvision", reason="torchvision is not installed")
    from aligngym.agents.rapl.encoder import Backbone, resnet18_backbone

    torch.save(torchvision.models.resnet18(weights=None).state_dict(), tmp_path / "resnet18.pth")
    backbone = resnet18_backbone(str(tmp_path / "resnet18.pth"))
    frames = np.random.default_rng(0).integers(0, 255, (3, 64, 64, 3), dtype=np.uint8)
    feats = backbone.features(frames)
    assert feats.shape == (3, 512) and backbone.signature == {"kind": "resnet18", "image_size": 112,
                                                              "feature_dim": 512}
    torch.testing.assert_close(Backbone.from_state(backbone.state()).features(frames), feats)
    torch.save({"head.weight": torch.zeros(1)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not a torchvision ResNet-18 state dict"):
        resnet18_backbone(str(tmp_path / "other.pth"))


def test_spearman_within_scores_a_constant_learned_reward_zero_and_skips_only_constant_hidden_costs():
    videos = [flat_episode(np.arange(12.0) * (k + 1)) for k in range(10)] + [flat_episode(np.ones(12))]
    exact = [-e.preference_cost for e in videos]
    assert spearman_within(exact, videos) == {"rho_within": 1.0, "n_videos_within": 10, "n_constant": 1}
    # exact on 2 videos, flat on the other 8: the flat ones count as 0, not as skipped
    lazy = exact[:2] + [np.zeros(12)] * 9
    assert spearman_within(lazy, videos)["rho_within"] == pytest.approx(0.2)
    flat = spearman_within([np.zeros(12)] * 11, videos)
    assert flat["rho_within"] == 0.0 and flat["n_videos_within"] == 10
    assert spearman_across([np.zeros(12)] * 11, videos)["rho_across"] == 0.0
    assert spearman_across(exact, videos)["n_videos_across"] == 11


@pytest.mark.parametrize("scorer", [spearman_within, spearman_across])
def test_spearman_refuses_rewards_that_do_not_match_the_videos(scorer):
    videos = [flat_episode(np.arange(12.0)) for _ in range(10)]
    with pytest.raises(ValueError, match="2 for 10 videos"):
        scorer([-e.preference_cost for e in videos[:2]], videos)
    with pytest.raises(ValueError, match="11 rewards for 12 steps"):
        scorer([np.arange(11.0)] + [-e.preference_cost for e in videos[1:]], videos)
