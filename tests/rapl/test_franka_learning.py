"""Part 1's preference learners work unchanged on the MuJoCo push envs (tiny budgets), and the video cache serves
reward learning without re-rendering."""
from __future__ import annotations

from dataclasses import asdict, replace

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import gymnasium as gym
import numpy as np
import pytest

from aligngym.agents.rapl import Episode, SimulatedUser, spearman_within
from aligngym.agents.rapl.encoder import EncoderArgs, pretrain_backbone
from aligngym.agents.rapl.rapl import Args, GTReward, RAPLReward, preferred_demos
from aligngym.agents.rapl.rlhf import BTReward, RLHFArgs
from aligngym.agents.rapl.wrapper import LearnedRewardWrapper
from aligngym.benchmarks.rapl.franka_policies import POOL, ScriptedPusher, noisy_scripted
from aligngym.benchmarks.rapl.franka_video_cache import VideoCache

SMALL = {"horizon": 12, "image_size": 84}


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    cache = VideoCache(tmp_path_factory.mktemp("videos"))
    episodes = []
    for k, (kind, noise) in enumerate(POOL):
        episodes += cache.episodes("AlignGym/RaplFrankaGroup-v0", f"{kind}{noise}", noisy_scripted(kind, noise), n=2,
                                   seed=10 * k, **SMALL)
    return cache, episodes


def test_the_cache_serves_the_same_videos_without_rendering(pool, monkeypatch):
    cache, episodes = pool
    assert cache.misses == len(episodes) and cache.hits == 0
    monkeypatch.setattr(gym, "make", lambda *a, **k: pytest.fail("a cached pool must not make an env"))
    kind, noise = POOL[0]
    again = cache.episodes("AlignGym/RaplFrankaGroup-v0", f"{kind}{noise}", noisy_scripted(kind, noise), n=2,
                           seed=0, **SMALL)
    assert cache.hits == 2
    for a, b in zip(again, episodes[:2]):
        assert np.array_equal(a.frames, b.frames) and np.array_equal(a.preference_cost, b.preference_cost)
        assert a.frames.shape == (12, 84, 84, 3) and a.frames.dtype == np.uint8 and a.metrics == b.metrics
    other = cache.path("AlignGym/RaplFrankaGroup-v0", {**SMALL, "horizon": 13}, f"{kind}{noise}", 0)
    assert other != cache.path("AlignGym/RaplFrankaGroup-v0", SMALL, f"{kind}{noise}", 0)  # kwargs are in the key


def test_the_pool_spans_good_and_bad_videos(pool):
    _, episodes = pool
    costs = np.array([e.cost for e in episodes])
    assert costs.max() - costs.min() > 0.2  # the user has something to rank


def test_user_rapl_rlhf_and_gt_run_unchanged_on_franka_videos(pool):
    _, episodes = pool
    user = SimulatedUser("oracle", budget=40, seed=0)
    triplets = user.label(episodes, 40)
    assert len(triplets) == 40 and all(episodes[t.pos].cost <= episodes[t.neg].cost for t in triplets)
    backbone = pretrain_backbone([e.frames for e in episodes], EncoderArgs(pretrain_steps=5, batch_size=8))
    demos = preferred_demos(episodes, user, n=2)
    rapl = RAPLReward(backbone, Args(epochs=2, n_frames=12, sinkhorn_iters=50)).fit(episodes, triplets, demos)
    rlhf = BTReward(backbone, RLHFArgs(epochs=2, n_frames=12)).fit(episodes, triplets)
    rhos = {}
    for name, model in (("rapl", rapl), ("rlhf", rlhf), ("gt", GTReward())):
        rewards = model.rewards(episodes)
        assert [len(r) for r in rewards] == [len(e) for e in episodes]
        assert all(np.all(np.isfinite(r)) for r in rewards)
        rhos[name] = spearman_within(rewards, episodes, every=2)["rho_within"]
    print(rhos)
    assert -1.0 <= rhos["rapl"] <= 1.0  # defined: a constant learned reward scores 0, never NaN
    assert rhos["rlhf"] > 0.0  # Bradley-Terry on oracle answers about these very videos ranks their steps
    gt = spearman_within(GTReward().rewards(episodes), episodes, every=2)["rho_within"]
    assert gt == pytest.approx(1.0)  # the ground truth agrees with itself: the scoring reads the env's cost


def test_learned_reward_wrapper_drives_the_franka_env(pool):
    _, episodes = pool
    backbone = pretrain_backbone([e.frames for e in episodes[:3]], EncoderArgs(pretrain_steps=2, batch_size=4))
    rapl = RAPLReward(backbone, Args(epochs=1, n_frames=12, sinkhorn_iters=30)).set_demos(episodes[:2])
    env = LearnedRewardWrapper(gym.make("AlignGym/RaplFrankaClutter-v0", render_mode="rgb_array", **SMALL), rapl)
    obs, _ = env.reset(seed=0)
    pusher = ScriptedPusher(env, "expert")
    for _ in range(12):
        obs, reward, terminated, truncated, info = env.step(pusher(obs))
        assert np.isfinite(reward) and "env_reward" in info and "preference_cost" in info
    assert truncated and set(info["metrics"]) >= {"preference_success", "task_success", "preference_cost"}


def test_rho_table_gives_ci_over_seeds_and_says_when_seeds_are_too_few():
    from aligngym.benchmarks.rapl.franka_rapl import PAPER, table

    def result(n):
        rho = {label: {"RAPL": [0.1 * k for k in range(n)], "RLHF": [0.2] * n, "GT": [1.0] * n} for label in PAPER}
        return {"rho": rho, "policy": {}, "ranking": {}}

    few, enough = table(result(3)), table(result(5))
    assert "too few seeds" in few and "too few seeds" not in enough and "over 5 training seed(s)" in enough
    group = next(line for line in enough.splitlines() if line.startswith("| Group |"))
    # RAPL 0.0..0.4: mean 0.20 with a CI around it; the paired RAPL - RLHF difference; GT exactly 1; the paper's 0.59
    assert "| 0.20 [" in group and "| 0.00 [" in group and "1.00 [1.00, 1.00]" in group and "| 0.59 |" in group


def test_franka_benchmark_teacher_ranks_by_the_last_step_as_rapls_teacher():
    from aligngym.agents.rapl import Episode
    from aligngym.benchmarks.rapl.franka_rapl import BUDGETS

    # RAPL's last-step teacher everywhere but `tuned`, whose mean-cost user raised held-out rho (franka_reward_budget)
    assert {name: args.teacher for name, args in BUDGETS.items()} == {
        "full": "rapl_last", "small": "rapl_last", "quick": "rapl_last", "tuned": "rapl"}
    blank = np.zeros((10, 4, 4, 3), np.uint8)
    # "expert": dearer on the way (grouping costs while pushing) but ends well; "task_only": cheap, ends apart
    experts = [Episode(blank, np.r_[np.full(9, 1.2), 0.5 - 0.01 * k]) for k in range(6)]
    task_only = [Episode(blank, np.r_[np.full(9, 0.8), 0.7 + 0.01 * k]) for k in range(12)]
    pool = experts + task_only
    by_last = preferred_demos(pool, SimulatedUser("rapl_last", seed=0), 6)
    by_mean = preferred_demos(pool, SimulatedUser("rapl", seed=0), 6)
    expert_ids = {id(e) for e in experts}
    assert all(id(d) in expert_ids for d in by_last) and not any(id(d) in expert_ids for d in by_mean)
    triplets = SimulatedUser("rapl_last", budget=10, seed=0).label(pool, 10)
    ranked = [t for t in triplets if not t.equal]
    assert all(pool[t.pos].preference_cost[-1] <= pool[t.neg].preference_cost[-1] for t in ranked)


def test_time_only_reward_explains_progress_but_not_the_preference_terms():
    from aligngym.agents.rapl import Episode
    from aligngym.benchmarks.rapl.franka_rapl import TimeReward, preference_only

    rng = np.random.default_rng(0)
    blank = np.zeros((24, 4, 4, 3), np.uint8)
    videos = []
    for _ in range(20):
        task = -np.linspace(1.5, 0.2, 24)  # the task reward rises as the cubes near the line
        preference = rng.uniform(0, 0.5, 24)  # e.g. the cubes' spread, unrelated to time
        videos.append(Episode(blank, preference - task, task))
    time = TimeReward().rewards(videos)
    assert spearman_within(time, videos)["rho_within"] > 0.8
    assert abs(spearman_within(time, preference_only(videos))["rho_within"]) < 0.3
    assert np.allclose(preference_only(videos)[0].preference_cost, videos[0].preference_cost + videos[0].task_reward)


def test_ppo_check_needs_separate_cis_apart_and_reports_the_paired_difference():
    from aligngym.benchmarks.rapl.franka_ppo import _summary, beats, paired_difference

    def seeds(costs):
        return [{"preference_success": 0.0, "task_success": 0.0, "preference_cost": c} for c in costs]

    random = seeds([1.50, 1.40, 1.45, 1.35, 1.42])
    clear, overlapping = seeds([1.00, 1.05, 0.95, 1.10, 1.02]), seeds([1.45, 1.10, 1.40, 1.30, 1.32])
    assert beats(_summary(clear), _summary(random)) and not beats(_summary(random), _summary(clear))
    assert not beats(_summary(overlapping), _summary(random))
    paired = paired_difference(overlapping, random)["preference_cost"]  # lower on every seed: the paired CI is < 0
    assert paired["ci_high"] < 0 and paired["mean"] == pytest.approx(-0.11)


@pytest.mark.parametrize("algo", ["sac", "ppo"])
def test_policy_check_stops_when_gt_does_not_beat_random(algo):
    from aligngym.benchmarks.rapl.franka_ppo import Args, run

    saved = []
    result = run(Args(algo=algo, gt_steps=270, learned_steps=270, seeds=(0, 1), learned_seeds=(0,),
                      eval_episodes=1), saved.append)
    # 270 steps learn nothing (SAC has not even started updating): no learned-reward policy may be trained on that
    assert len(result["random"]) == len(result["policies"]["GT"]) == 2 and saved
    assert result["gt_beats_random"] is False and set(result["policies"]) == {"GT"}
    assert set(result["summary"]) == {"random", "GT", "GT_minus_random_paired"}


def test_stage_two_reuses_a_finished_gt_stage_and_more_seeds_merge_into_it(monkeypatch, tmp_path):
    import json

    from aligngym.agents.rapl.rapl import RewardModel
    from aligngym.benchmarks.rapl import franka_ppo, franka_rapl

    class Brightness(RewardModel):  # a visual reward without learning: the frame's mean brightness
        def rewards(self, episodes):
            return [e.frames.mean(axis=(1, 2, 3)) for e in episodes]

        def online_reward(self, frames, memory=None, stride=1):
            return float(frames[-1].mean())

    brighter = np.arange(9, dtype=np.uint8)[:, None, None, None] + np.zeros((9, 4, 4, 3), np.uint8)
    videos = [Episode(brighter, np.arange(9.0, 0, -1) * sign) for sign in (1, -1, 1)]  # 2 of 3 agree
    pools = []
    monkeypatch.setattr(franka_rapl, "pool", lambda cache, env_id, *a, **k: pools.append(env_id) or videos)
    monkeypatch.setattr(franka_rapl, "learn_rewards", lambda *a, **k: {"RAPL": Brightness(), "RLHF": Brightness()})
    env_id, reward_env_id = franka_ppo.ENVS["fetch"]  # the transfer: rewards from Franka Group's pool
    args = franka_ppo.Args(env_id=env_id, reward_env_id=reward_env_id, gt_steps=270, learned_steps=90, seeds=(0, 1),
                           learned_seeds=(1,), eval_episodes=1)
    seeds, gt = ([{"preference_success": 0.0, "task_success": 0.0, "preference_cost": c} for c in costs]
                 for costs in ((1.0, 1.1), (0.5, 0.6)))
    finished = {"args": asdict(args), "random": seeds, "policies": {"GT": gt}, "duration_s": {"GT/0": 1}}
    (tmp_path / "gt.json").write_text(json.dumps(finished))
    merged_path = tmp_path / "merged.json"
    result = franka_ppo.main(args, tmp_path / "seed1.json", tmp_path / "gt.json", merged_path)
    assert pools == [reward_env_id, env_id]  # learned on Franka Group's videos, rho on Fetch's held-out videos
    assert result["random"] == seeds and result["policies"]["GT"] == gt and result["gt_beats_random"]
    assert len(result["policies"]["RAPL"]) == len(result["policies"]["RLHF"]) == 1
    assert result["rho_within"]["RAPL"] == [pytest.approx(1 / 3)]  # rho 1, -1, 1 within the three videos
    assert result["summary"]["random_on_RAPL_seeds"]["preference_cost"]["per_seed"] == [1.1]  # seed 1's random
    hacking = result["reward_hacking"]["RAPL"][0]  # the learned reward's view of its own policy's rollouts
    assert set(hacking["policy"]) == {"learned_reward", "preference_cost", "task_success", "arm_contact_rate",
                                      "task_return"}
    with pytest.raises(ValueError, match="other settings.*gt_steps"):
        franka_ppo.run(replace(args, gt_steps=300), [].append, finished)

    # a second run adds seed 0 to the merged file: seed order, summaries and verdicts over both seeds
    franka_ppo.main(replace(args, learned_seeds=(0,)), tmp_path / "seed0.json", tmp_path / "gt.json", merged_path)
    merged = json.loads(merged_path.read_text())
    assert merged["seeds_run"]["RAPL"] == merged["seeds_run"]["rho"] == merged["args"]["learned_seeds"] == [0, 1]
    assert merged["policies"]["RAPL"][1] == result["policies"]["RAPL"][0]  # seed 1's scores, kept
    assert merged["summary"]["random_on_RLHF_seeds"]["preference_cost"]["per_seed"] == [1.0, 1.1]
    assert merged["summary"]["RLHF_minus_random_paired"]["preference_cost"]["per_seed"] == pytest.approx(
        [p["preference_cost"] - r for p, r in zip(merged["policies"]["RLHF"], (1.0, 1.1))])
    assert len(merged["summary"]["RAPL"]["preference_cost"]["per_seed"]) == len(merged["reward_hacking"]["RLHF"]) == 2
    # merging a seed again keeps what the file has; a file without `seeds_run` (before merges) is read in Args order
    again = franka_ppo.merge(merged, {**result, "policies": {**result["policies"], "RAPL": [{**seeds[0], "x": 1}]}})
    assert again["policies"]["RAPL"] == merged["policies"]["RAPL"]
    assert franka_ppo.seeds_run({k: v for k, v in merged.items() if k != "seeds_run"}) == merged["seeds_run"]
    with pytest.raises(ValueError, match="differ in.*learned_steps"):
        franka_ppo.merge(merged, {**result, "args": {**result["args"], "learned_steps": 100}})

    # the normalisation ablation: trains one reward at a time, passes the option down, never joins the main rows
    with pytest.raises(ValueError, match="differ in.*normalise_reward"):
        franka_ppo.merge(merged, {**result, "args": {**result["args"], "normalise_reward": True}})
    trained, train_policy = [], franka_rapl.train_policy
    monkeypatch.setattr(franka_rapl, "train_policy", lambda *a, **k: trained.append(k) or train_policy(*a, **k))
    ablation = replace(args, learned_seeds=(0,), learned_methods=("RAPL",), normalise_reward=True)
    rapl_only = franka_ppo.main(ablation, tmp_path / "norm0.json", tmp_path / "gt.json", tmp_path / "norm.json")
    assert [k["normalise"] for k in trained] == [True] and set(rapl_only["policies"]) == {"GT", "RAPL"}
    both = franka_ppo.merge(rapl_only, {**result, "args": {**result["args"], "normalise_reward": True}})
    assert both["seeds_run"]["RAPL"] == [0, 1] and both["seeds_run"]["RLHF"] == [1]
    assert both["args"]["learned_methods"] == ["RAPL", "RLHF"]
    assert "reward_learning for RAPL/0" in both["duration_s"] and "reward_learning/1" in both["duration_s"]
    assert both["summary"]["random_on_RLHF_seeds"]["preference_cost"]["per_seed"] == [1.1]


def test_results_table_puts_ours_beside_the_paper_and_gives_verdicts_only_with_five_seeds(tmp_path):
    from aligngym.benchmarks.rapl import franka_table
    from aligngym.benchmarks.rapl.franka_rapl import PAPER, TUNED

    rho = {"args": asdict(TUNED), "rho": {env: {"RAPL": [0.4, 0.5], "RLHF": [0.3, 0.3], "GT": [1.0, 1.0],
                                                "Time": [0.2, 0.2]} for env in PAPER}}

    def runs(costs):
        return [{"preference_cost": c, "preference_success": 0.0, "task_success": 0.0} for c in costs]

    args = {"seeds": [0, 1, 2, 3, 4], "learned_seeds": [0, 1, 2, 3, 4], "learned_steps": 15000,
            "learned_reward_every": 5, "eval_episodes": 10}
    gt_run = {"args": args, "random": runs([1.4, 1.5, 1.45, 1.42, 1.38]),
              "policies": {"GT": runs([0.9, 1.0, 0.8, 1.1, 0.95])}}
    hacking = {"policy": {"learned_reward": 2.0, "preference_cost": 1.5, "task_return": -48.0},
               "expert1.0": {"learned_reward": -1.0, "preference_cost": 1.0},
               "task_only1.0": {"learned_reward": 1.0, "preference_cost": 0.9}, "policy_rank_among_pool_policies": 2}
    learned = {**gt_run, "policies": {**gt_run["policies"], "RAPL": runs([1.5, 1.6])}, "reward_hacking":
               {"RAPL": [hacking, hacking]}, "seeds_run": {"random": [0, 1, 2, 3, 4], "GT": [0, 1, 2, 3, 4],
                                                          "RAPL": [3, 4], "RLHF": [], "rho": [3, 4]}}
    normalised = {**learned, "policies": {**learned["policies"], "RAPL": runs([1.3, 1.2])}}
    table = franka_table.build(rho, {"Group": [gt_run, learned], "Clutter": [gt_run]},
                               {"Group": {"normalised reward": normalised}})
    group = table["envs"]["Group"]["policies"]
    assert set(group) == {"random", "GT", "RAPL"}  # RLHF not trained yet: left out
    assert group["GT"]["verdict"] == "beats random" and group["RAPL"]["verdict"] == "too few seeds (2 < 5)"
    assert group["RAPL"]["random_on_these_seeds"]["per_seed"] == [1.42, 1.38]  # random on seeds 3 and 4
    assert table["envs"]["Group"]["reward_hacking"]["RAPL"][0]["best_pool_policy"] == "task_only1.0"
    text = franka_table.markdown(table)
    assert "| Group | RAPL | 0.45 [0.40, 0.50] | 0.59 | 2 | 1.55 [1.50, 1.60] |" in text
    assert "| Group | RLHF | 0.30 [0.30, 0.30] | 0.38 | 0 | not run |" in text
    assert "| Clutter | GT | 1.00 [1.00, 1.00] | — | 5 | 0.95 [0.86, 1.03] | 0.00 [0.00, 0.00] | 0.00 [0.00, 0.00] " \
           "| -0.48 [-0.58, -0.39] | beats random |" in text
    assert "| Kuka (ours: Fetch) | random | — | — | 0 | not run |" in text
    assert group["RAPL"]["preference_cost"]["mean"] == 1.55  # the ablation leaves the main row alone
    assert "| Group | RAPL, ablation: normalised reward | (same rewards) | — | 2 | 1.25 [1.20, 1.30] | 0.00 [0.00, " \
           "0.00] | 0.00 [0.00, 0.00] | -0.15 [-0.18, -0.12] | too few seeds (2 < 5); minus the main RAPL row, paired: " \
           "-0.30 [-0.40, -0.20] |" in text
    assert "| Group | RAPL, ablation: normalised reward | 3 | 2.00 / 1.50 / -48.0 |" in text
    assert "| Group | RAPL | 3 | 2.00 / 1.50 / -48.0 | task_only1.0, 1.00 / 0.90 | 2 of 2 |" in text
    franka_table.plot(table, tmp_path / "t.png")
    assert (tmp_path / "t.png").stat().st_size > 0
