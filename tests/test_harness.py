"""The scoring harness on a real env: Gymnasium's CartPole-v1 behind a small adapter that reports metrics."""
from __future__ import annotations

import json
import subprocess
import sys

import gymnasium as gym
import jsonschema
import numpy as np
import pytest

from aligngym.agents.base import Agent, CallableAgent
from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.record import SCHEMA_PATH, RunRecord, validate
from aligngym.benchmarks.stats import aggregate, aggregate_many, bootstrap_ci, iqm

ADAPTED = "AlignGymTest/CartPoleMetrics-v0"


class CartPoleWithMetrics(gym.Wrapper):
    """CartPole-v1 that reports `info["metrics"]` at episode end, as AlignGym envs do."""

    def __init__(self):
        super().__init__(gym.make("CartPole-v1"))
        self.steps = 0

    def reset(self, **kwargs):
        self.steps = 0
        return self.env.reset(**kwargs)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if terminated or truncated:
            info["metrics"] = {"balanced": float(truncated), "steps": float(self.steps)}
        return obs, reward, terminated, truncated, info


if ADAPTED not in gym.registry:
    gym.register(ADAPTED, entry_point=CartPoleWithMetrics)


def balance(obs):
    """A decent hand-written CartPole controller: push toward the pole's lean."""
    return (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(np.int64)


def test_metrics_reach_the_record_and_a_controller_beats_random():
    good = evaluate(ADAPTED, CallableAgent(balance, name="pd"), episodes=6, seeds=[0], num_envs=3)
    rand = evaluate(ADAPTED, "random", episodes=6, seeds=[0], num_envs=3)
    assert len(good.episodes) == 6 and {"return", "length", "balanced", "steps"} <= set(good.aggregates)
    assert good.aggregates["return"]["mean"] > 5 * rand.aggregates["return"]["mean"]
    assert good.aggregates["return"]["higher_is_better"] is True
    for ep in good.episodes:  # the env's own count and the harness's agree
        assert ep["metrics"]["steps"] == ep["metrics"]["length"] == ep["metrics"]["return"]


def test_episode_results_do_not_depend_on_num_envs():
    a = evaluate(ADAPTED, "random", episodes=5, seeds=[4], num_envs=1)
    b = evaluate(ADAPTED, CallableAgent(lambda o: np.zeros(len(o), np.int64)), episodes=5, seeds=[4], num_envs=5)
    c = evaluate(ADAPTED, CallableAgent(lambda o: np.zeros(len(o), np.int64)), episodes=5, seeds=[4], num_envs=2)
    assert [e["seed"] for e in a.episodes] == [e["seed"] for e in b.episodes]
    assert [e["metrics"] for e in b.episodes] == [e["metrics"] for e in c.episodes]


def test_bootstrap_ci_covers_the_mean_and_shrinks_with_n():
    rng = np.random.default_rng(0)
    small, large = rng.normal(10, 2, 20), rng.normal(10, 2, 2000)
    lo_s, hi_s = bootstrap_ci(small)
    lo_l, hi_l = bootstrap_ci(large)
    assert lo_s < small.mean() < hi_s and lo_l < 10 < hi_l
    assert (hi_l - lo_l) < (hi_s - lo_s) / 5
    agg = aggregate([1.0, 2.0, 3.0, 4.0, 100.0], True)
    assert agg["iqm"] == pytest.approx(3.0) and agg["mean"] == pytest.approx(22.0) and agg["n"] == 5


def test_a_records_metrics_aggregated_together_equal_each_aggregated_alone():
    rng = np.random.default_rng(3)
    columns = {f"m{i}": list(rng.normal(size=12) * 10 ** i) for i in range(4)}
    columns["missing"] = [None, float("nan")] + list(rng.normal(size=10))  # 10 values: its own resample draws
    columns["none"] = [None, None]
    columns["constant"] = [0.1] * 12  # summed naively, twelve 0.1s are not 1.2
    together = aggregate_many(columns, {"m0": True})
    for name, values in columns.items():
        alone = aggregate(values, True if name == "m0" else None)
        assert json.dumps(together[name]) == json.dumps(alone), name  # bit for bit, NaN included
    assert together["missing"]["n"] == 10 and together["none"]["n"] == 0
    constant = together["constant"]
    assert constant["ci_low"] == constant["mean"] == constant["ci_high"] == 0.1


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 101])
def test_iqm_is_scipys_trimmed_mean(n):
    from scipy import stats

    values = np.random.default_rng(n).normal(size=n)
    assert iqm(values) == float(stats.trim_mean(values, 0.25))


CALLS = {"n": 0}


class Flaky(Agent):
    """Crashes on its 60th act call once, to simulate an interrupted evaluation."""

    name = "flaky"

    def act(self, obs):
        CALLS["n"] += 1
        if CALLS["n"] == 60:
            raise KeyboardInterrupt
        return (obs[:, 2] > 0).astype(np.int64)


def flaky(ctx):
    return Flaky()


def test_interrupted_run_keeps_finished_episodes_and_resumes(tmp_path):
    out = tmp_path / "run.json"
    spec = "test_harness:flaky"
    CALLS["n"] = 0
    with pytest.raises(KeyboardInterrupt):
        evaluate(ADAPTED, spec, episodes=8, seeds=[0], num_envs=1, out=out)
    assert not out.exists()  # the record is written once, finished; the finished batches are in the journal
    journal = [json.loads(line) for line in (tmp_path / "run.json.partial.jsonl").read_text().splitlines()]
    kept = [e for batch in journal[1:] for e in batch["episodes"]]
    assert 0 < len(kept) < 8
    calls_before = CALLS["n"]
    done = evaluate(ADAPTED, spec, episodes=8, seeds=[0], num_envs=1, out=out)
    assert done.finished and len(done.episodes) == 8
    assert done.episodes[:len(kept)] == kept  # nothing already computed is lost or recomputed
    assert [e["episode"] for e in done.episodes] == list(range(8))
    assert not (tmp_path / "run.json.partial.jsonl").exists()
    calls = CALLS["n"] - calls_before
    assert evaluate(ADAPTED, spec, episodes=8, seeds=[0], num_envs=1, out=out).to_dict() == done.to_dict()
    assert CALLS["n"] - calls_before == calls  # a finished run is returned, not rerun


class Noisy(Agent):
    """A stochastic agent: its actions come from the generator `reset` seeds; it crashes once on demand."""

    name = "noisy"
    crash_at = None

    def reset(self, num_envs=1, seed=None):
        self.rng = np.random.default_rng(seed)

    def act(self, obs):
        CALLS["n"] += 1
        if CALLS["n"] == Noisy.crash_at:
            raise KeyboardInterrupt
        return self.rng.integers(0, 2, len(obs))


def noisy(ctx):
    return Noisy()


@pytest.mark.parametrize("env_id,num_envs", [(ADAPTED, 1), ("AlignGym/ShapingCartPole-v1", 3)])
def test_resumed_run_equals_an_uninterrupted_one(tmp_path, env_id, num_envs):
    """Interrupted and resumed, a stochastic agent gives exactly the episodes of an uninterrupted run (single env
    and a native vector twin)."""
    Noisy.crash_at = None
    whole = evaluate(env_id, "test_harness:noisy", episodes=10, seeds=[0], num_envs=num_envs)
    CALLS["n"], Noisy.crash_at = 0, 70
    out = tmp_path / "r.json"
    with pytest.raises(KeyboardInterrupt):
        evaluate(env_id, "test_harness:noisy", episodes=10, seeds=[0], num_envs=num_envs, out=out)
    Noisy.crash_at = None
    resumed = evaluate(env_id, "test_harness:noisy", episodes=10, seeds=[0], num_envs=num_envs, out=out)
    assert [e["metrics"] for e in resumed.episodes] == [e["metrics"] for e in whole.episodes]


def test_another_model_into_the_same_out_is_refused_not_answered_with_stale_scores(tmp_path):
    """The reported bug: an untrained PPO evaluated into a file holding a trained A2C's record got A2C's scores."""
    from stable_baselines3 import A2C, PPO

    from aligngym.agents.base import SB3Agent

    env = gym.make(ADAPTED)
    out = tmp_path / "model.json"
    a2c = SB3Agent(A2C("MlpPolicy", env, seed=0, device="cpu"))
    first = evaluate(ADAPTED, a2c, episodes=2, out=out)
    assert evaluate(ADAPTED, a2c, episodes=2, out=out).to_dict() == first.to_dict()  # the same model: returned
    for other in (SB3Agent(PPO("MlpPolicy", env, seed=0, device="cpu")),
                  SB3Agent(A2C("MlpPolicy", env, seed=1, device="cpu"))):  # other weights, same class
        with pytest.raises(ValueError, match="another run.*overwrite"):
            evaluate(ADAPTED, other, episodes=2, out=out)
    fresh = evaluate(ADAPTED, SB3Agent(PPO("MlpPolicy", env, seed=0, device="cpu")), episodes=2, out=out,
                     overwrite=True)
    assert RunRecord.load(out).agent["hyperparameters"]["algorithm"] == "PPO" == fresh.agent["hyperparameters"]["algorithm"]


def test_an_agent_without_a_weights_hash_resumes_only_when_asked(tmp_path):
    out = tmp_path / "c.json"
    agent = CallableAgent(balance, name="pd")
    evaluate(ADAPTED, agent, episodes=2, out=out)
    with pytest.raises(ValueError, match="resume=True"):
        evaluate(ADAPTED, agent, episodes=2, out=out)
    assert evaluate(ADAPTED, agent, episodes=2, out=out, resume=True).finished


def test_unwritable_out_is_refused_before_any_episode(tmp_path):
    CALLS["n"] = 0
    with pytest.raises(ValueError, match="is a directory"):
        evaluate(ADAPTED, "test_harness:noisy", episodes=2, out=tmp_path)
    a_file = tmp_path / "notes.txt"
    a_file.write_text("mine")
    with pytest.raises(ValueError, match="cannot be written"):  # its folder is a file: unwritable even for root
        evaluate(ADAPTED, "test_harness:noisy", episodes=2, out=a_file / "r.json")
    assert CALLS["n"] == 0 and a_file.read_text() == "mine"
    with pytest.raises(ValueError, match="seeds must be integers >= 0"):
        evaluate(ADAPTED, "random", episodes=1, seeds=[-1])


def test_record_round_trips_and_matches_the_schema(tmp_path):
    record = evaluate(ADAPTED, "random", episodes=3, seeds=[0, 1], out=tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(data, json.loads(SCHEMA_PATH.read_text()))
    assert RunRecord.from_dict(data).to_dict() == record.to_dict()
    assert data["system"]["packages"]["gymnasium"] == gym.__version__
    assert data["eval_seeds"] == [0, 1] and len(data["episodes"]) == 6
    lines = (tmp_path / "r.json").read_text().splitlines()
    assert sum(line.lstrip().startswith('{"seed_index"') for line in lines) == 6  # one line per episode


def test_validation_fast_path_and_jsonschema_agree_on_bad_records(tmp_path):
    good = evaluate(ADAPTED, "random", episodes=2).to_dict()
    validate(good)
    bad_cases = [({**good, "num_envs": 0}, "num_envs"), ({**good, "episodes": [{"seed_index": 0}]}, "episodes/0"),
                 ({**good, "episodes": [{**good["episodes"][0], "metrics": {"return": "high"}}]}, "episodes/0/metrics/return")]
    for data, where in bad_cases:
        with pytest.raises(ValueError, match=f"at {where}"):
            validate(data)


def test_bad_input_is_refused_without_losing_files(tmp_path):
    with pytest.raises(ValueError, match="episodes must be >= 1"):
        evaluate(ADAPTED, "random", episodes=0)
    with pytest.raises(KeyError, match="Did you mean"):
        evaluate("CartPole-v2", "random", episodes=1)
    with pytest.raises(ValueError, match="cannot import module"):
        evaluate(ADAPTED, "no_such_module:factory", episodes=1)
    with pytest.raises(ValueError, match="Unknown agent"):
        evaluate(ADAPTED, "randon", episodes=1)
    with pytest.raises(ValueError, match="allowed kwargs"):
        evaluate(ADAPTED, "random?temperature=2", episodes=1)
    precious = tmp_path / "notes.json"
    precious.write_text('{"mine": true}')
    with pytest.raises(ValueError, match="Not a valid RunRecord"):
        evaluate(ADAPTED, "random", episodes=1, out=precious)
    assert precious.read_text() == '{"mine": true}'
    other = tmp_path / "other.json"
    evaluate(ADAPTED, "random", episodes=2, out=other)
    before = other.read_text()
    with pytest.raises(ValueError, match="another run.*episodes_per_seed"):
        evaluate(ADAPTED, "random", episodes=3, out=other)
    assert other.read_text() == before


def cli(*args):
    return subprocess.run([sys.executable, "-m", "aligngym.cli", *args], capture_output=True, text=True, timeout=300)


def test_cli_evaluate_writes_a_valid_record_and_errors_are_one_clear_line(tmp_path):
    out = tmp_path / "cp.json"
    run = cli("evaluate", "CartPole-v1", "--agent", "random", "--episodes", "3", "--seeds", "0", "--seeds", "1",
              "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert len(RunRecord.load(out).episodes) == 6
    assert cli("validate", str(out)).returncode == 0
    bad = cli("evaluate", "CartPole-v1", "--episodes", "0")
    assert bad.returncode != 0 and "episodes must be >= 1" in bad.stderr and "Traceback" not in bad.stderr
    (tmp_path / "x.json").write_text("[1, 2]")
    bad = cli("validate", str(tmp_path / "x.json"))
    assert bad.returncode != 0 and "Not a valid RunRecord" in bad.stderr
    listing = cli("list")
    assert listing.returncode == 0 and "AlignGym" in listing.stdout


def test_native_vector_twin_path_reports_the_env_metrics():
    good = evaluate("AlignGym/ShapingCartPole-v1", "shaping.heuristic?controller=good", episodes=4, num_envs=4)
    rand = evaluate("AlignGym/ShapingCartPole-v1", "random", episodes=4, num_envs=4)
    assert good.aggregates["primary_return"]["mean"] == 500 and good.aggregates["success"]["mean"] == 1
    assert rand.aggregates["primary_return"]["mean"] < 100 and rand.aggregates["success"]["mean"] == 0
    assert len({e["seed"] for e in good.episodes}) == 1  # a native twin seeds its batch together


def test_pettingzoo_env_takes_a_dict_of_per_agent_specs():
    company = evaluate("AlignGym/Shopping-v0", {"assistant": "shopping.loyal_company", "customer": "random"},
                       episodes=10)
    customer = evaluate("AlignGym/Shopping-v0", {"assistant": "shopping.loyal_customer", "customer": "random"},
                        episodes=10)
    assert company.agent["spec"] == "assistant=shopping.loyal_company;customer=random"
    assert company.aggregates["override"]["mean"] > customer.aggregates["override"]["mean"]
    assert customer.aggregates["customer_utility"]["mean"] > company.aggregates["customer_utility"]["mean"]
    with pytest.raises(ValueError, match="no agent named"):
        evaluate("AlignGym/Shopping-v0", {"buyer": "random"}, episodes=1)


def test_editing_your_own_factory_starts_a_new_run(tmp_path, monkeypatch):
    """A `module:factory` spec names the same string after its code changed: the run identity includes its source."""
    monkeypatch.syspath_prepend(str(tmp_path))
    module = tmp_path / "my_pusher.py"
    module.write_text("import numpy as np\nfrom aligngym.agents.base import CallableAgent\n"
                      "def make(ctx):\n    return CallableAgent(lambda o: np.zeros(len(o), np.int64))\n")
    out = tmp_path / "mine.json"
    first = evaluate(ADAPTED, "my_pusher:make", episodes=2, out=out)
    assert evaluate(ADAPTED, "my_pusher:make", episodes=2, out=out).to_dict() == first.to_dict()
    module.write_text(module.read_text().replace("np.zeros", "np.ones"))
    with pytest.raises(ValueError, match="another run.*agent's content"):
        evaluate(ADAPTED, "my_pusher:make", episodes=2, out=out)


def test_two_crashes_in_a_row_lose_only_the_batches_in_flight(tmp_path):
    whole = evaluate(ADAPTED, "test_harness:noisy", episodes=6, seeds=[0], num_envs=1)
    out = tmp_path / "r.json"
    for crash_at in (40, 95):
        CALLS["n"], Noisy.crash_at = 0, crash_at
        with pytest.raises(KeyboardInterrupt):
            evaluate(ADAPTED, "test_harness:noisy", episodes=6, seeds=[0], num_envs=1, out=out)
        journal = tmp_path / "r.json.partial.jsonl"
        for line in journal.read_text().splitlines():  # every batch finished so far is a whole line
            json.loads(line)
        journal.write_text(journal.read_text() + '{"episodes": [{"cut')  # a line cut by the crash
    Noisy.crash_at = None
    resumed = evaluate(ADAPTED, "test_harness:noisy", episodes=6, seeds=[0], num_envs=1, out=out)
    assert [e["metrics"] for e in resumed.episodes] == [e["metrics"] for e in whole.episodes]


def test_cli_finds_your_own_agent_module_in_the_current_directory(tmp_path):
    (tmp_path / "my_agent.py").write_text("import numpy as np\nfrom aligngym.agents.base import CallableAgent\n"
                                          "def make(ctx):\n    return CallableAgent(lambda o: np.zeros(len(o), np.int64))\n")
    run = subprocess.run([sys.executable, "-m", "aligngym.cli", "evaluate", "CartPole-v1", "--agent", "my_agent:make",
                          "--episodes", "1"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert run.returncode == 0, run.stderr[-2000:]
