"""The simulation core: value dimensions, trajectories and the loader, the questionnaire bank, the response model
and order-debiased measurement."""
import json
import string

import numpy as np
import pytest

from aligngym.envs.progress.population import (content_probabilities, dimension_probabilities, measure,
                                               option_probabilities, population_answerer, presentations, survey)
from aligngym.envs.progress.questionnaire import BANK, ELICITATION, EVALUATION
from aligngym.envs.progress.trajectories import BUILTIN, Trajectory, load_trajectory
from aligngym.envs.progress.core import _best_cosine
from aligngym.envs.progress.values import DIMENSIONS, N_DIMS, WORLDVIEW_DIMS, cosine, cosine_matrix, dim_index

RNG = np.random.default_rng(0)


def test_nineteen_named_dimensions():
    assert N_DIMS == 19 and len(set(DIMENSIONS)) == 19
    assert DIMENSIONS[:3] == ("kill", "pain", "disable")
    assert DIMENSIONS[10] == "care" and DIMENSIONS[15] == "traditional"
    with pytest.raises(ValueError, match="known: kill"):
        dim_index("honour")


def test_cosine_handles_zero_vectors():
    assert cosine(np.ones(19), np.ones(19)) == pytest.approx(1.0)
    assert cosine(np.zeros(19), np.ones(19)) == 0.0


@pytest.mark.parametrize("zero", [False, True])
def test_batched_cosines_count_zero_vectors_as_zero_and_agree(zero):
    """The batched cosines divide without a mask unless a norm is zero: both branches give each pair's cosine."""
    rng = np.random.default_rng(0)
    a, b = rng.uniform(-1, 1, (6, 19)), rng.uniform(-1, 1, (6, 4, 19))
    if zero:
        a[1], b[2, 3] = 0.0, 0.0
    pairs = np.array([[cosine(a[i], b[i, j]) for j in range(4)] for i in range(6)])
    matrix = cosine_matrix(a[:, None, :], b)[:, 0]
    assert np.allclose(cosine(a[:, None, :], b), pairs, rtol=0, atol=1e-15)
    assert np.allclose(matrix, pairs, rtol=0, atol=1e-15)
    assert (matrix[1] == 0).all() if zero else (matrix != 0).all()
    norms = np.sqrt(np.einsum("...i,...i->...", b, b))[..., None]
    units = np.divide(b, norms, out=np.zeros_like(b), where=norms > 0)
    best = _best_cosine(a, units)  # the Coevolve reward, from the trajectory's unit vectors
    assert np.allclose(best, matrix.max(axis=1), rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", BUILTIN)
def test_builtin_trajectories_are_valid(name):
    x = Trajectory(name).sample(np.random.default_rng(1), 5)
    assert x.shape == (5, 9, 19)
    assert np.abs(x).max() <= 1.0
    assert np.allclose(x[..., WORLDVIEW_DIMS].sum(axis=-1), 0.0)


def test_more_timesteps_and_finer_resolution():
    fine = Trajectory("historical-like", centuries=9, steps_per_century=4, noise=0.0)
    assert fine.length == 33 and fine.times[1] == pytest.approx(13.25) and fine.times[-1] == 21
    longer = Trajectory("historical-like", centuries=12, noise=0.0)
    assert longer.length == 12 and longer.times[-1] == 24
    coarse = Trajectory("historical-like", noise=0.0).sample(RNG, 1)[0]
    assert np.allclose(fine.sample(RNG, 1)[0][::4], coarse)  # same curve, sampled finer


def test_historical_like_drifts_in_the_documented_directions():
    x = Trajectory("historical-like", noise=0.0).sample(RNG, 1)[0]
    for falls in ("authority", "purity", "traditional", "duty"):
        assert x[-1, dim_index(falls)] < x[0, dim_index(falls)] - 0.5
    for rises in ("freedom", "fairness", "pleasure", "modern"):
        assert x[-1, dim_index(rises)] > x[0, dim_index(rises)] + 0.5
    rev = Trajectory("reversal", noise=0.0).sample(RNG, 1)[0]
    assert np.allclose(rev[0], rev[-1], atol=1e-9) and not np.allclose(rev[4], rev[0])


def test_bad_trajectory_kwargs_are_refused():
    with pytest.raises(ValueError, match="prior, historical-like, random-walk, reversal"):
        Trajectory("medieval")
    with pytest.raises(ValueError, match="centuries"):
        Trajectory(centuries=1)
    with pytest.raises(ValueError, match="steps_per_century"):
        Trajectory(steps_per_century=0)
    with pytest.raises(ValueError, match="noise"):
        Trajectory(noise=-0.1)


def _write_csv(path, rows, header=None):
    lines = ([",".join(header)] if header else []) + [",".join(str(v) for v in r) for r in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_loader_reads_csv_with_reordered_header_and_json(tmp_path):
    values = np.round(np.random.default_rng(2).uniform(-0.5, 0.5, (4, 19)), 3)
    values[:, WORLDVIEW_DIMS] -= values[:, WORLDVIEW_DIMS].mean(axis=1, keepdims=True)
    order = list(reversed(DIMENSIONS))
    csv_path = _write_csv(tmp_path / "t.csv", values[:, [DIMENSIONS.index(d) for d in order]], header=order)
    assert np.allclose(load_trajectory(csv_path), values)
    (tmp_path / "t.json").write_text(json.dumps({"values": values.tolist()}))
    assert np.allclose(load_trajectory(tmp_path / "t.json"), values)
    (tmp_path / "l.json").write_text(json.dumps(values.tolist()))
    assert load_trajectory(tmp_path / "l.json").shape == (4, 19)


def test_loader_refuses_bad_files(tmp_path):
    good = np.zeros((3, 19))
    with pytest.raises(ValueError, match="19 numbers"):
        load_trajectory(_write_csv(tmp_path / "a.csv", np.zeros((3, 18))))
    with pytest.raises(ValueError, match="T >= 2"):
        load_trajectory(_write_csv(tmp_path / "b.csv", np.zeros((1, 19))))
    nan = good.copy()
    nan[1, 4] = np.nan
    with pytest.raises(ValueError, match="finite.*row 1, column pleasure"):
        load_trajectory(_write_csv(tmp_path / "c.csv", nan))
    big = good.copy()
    big[2, 0] = 1.5
    with pytest.raises(ValueError, match=r"\[-1, 1\].*row 2, column kill"):
        load_trajectory(_write_csv(tmp_path / "d.csv", big))
    with pytest.raises(ValueError, match="header must name"):
        load_trajectory(_write_csv(tmp_path / "e.csv", good, header=["x"] * 19))
    with pytest.raises(ValueError, match="does not exist"):
        load_trajectory(tmp_path / "missing.csv")
    (tmp_path / "f.json").write_text(json.dumps([[0.1] * 19, ["a"] * 19]))
    with pytest.raises(ValueError, match="number"):
        load_trajectory(tmp_path / "f.json")
    (tmp_path / "g.json").write_text(json.dumps({"rows": []}))
    with pytest.raises(ValueError, match="values"):
        load_trajectory(tmp_path / "g.json")


def test_bank_is_split_disjointly_and_covers_every_dimension_in_both_parts():
    assert {i.id for i in ELICITATION}.isdisjoint({i.id for i in EVALUATION})
    assert {i.text for i in ELICITATION}.isdisjoint({i.text for i in EVALUATION})
    for part in (ELICITATION, EVALUATION):
        binary_dims = {i.option_dims[0] for i in part if len(i.options) == 2}
        assert binary_dims == set(range(15))
        assert sum(1 for i in part if len(i.options) == 4) >= 3


def test_every_item_knows_its_dimension_and_direction():
    for item in BANK:
        assert set(item.text + "".join(item.options)) <= set(string.printable)
        if len(item.options) == 2:
            assert sorted(item.option_signs) == [-1.0, 1.0] and item.option_dims[0] == item.option_dims[1]
        else:
            assert item.option_dims == (15, 16, 17, 18) and item.dimension == "worldview"
    firsts = [i.option_signs[0] for i in BANK if len(i.options) == 2]
    assert firsts.count(1.0) == firsts.count(-1.0)  # the upholding option is not always first


def test_response_model_follows_values_and_temperature():
    item = next(i for i in BANK if i.dimension == "kill")
    up = item.option_signs.index(1.0)
    v = np.zeros(19)
    assert option_probabilities(item, v, 0.5)[up] == pytest.approx(0.5)
    v[0] = 0.6
    cold, hot = option_probabilities(item, v, 0.2)[up], option_probabilities(item, v, 1.0)[up]
    assert cold > hot > 0.5
    wv = next(i for i in BANK if len(i.options) == 4)
    v[15:] = [0.6, 0.0, -0.3, -0.3]
    p = option_probabilities(wv, v, 0.5)
    assert p.argmax() == 0 and p.sum() == pytest.approx(1.0)


def _first_listed(asked):
    return [np.eye(len(order))[0] for _, order in asked]


def test_position_biased_answerer_measures_neutral():
    assert np.allclose(measure(_first_listed, EVALUATION), 0.0)
    last = lambda asked: [np.eye(len(o))[-1] for _, o in asked]  # noqa: E731
    assert np.allclose(measure(last, EVALUATION, orders="cyclic"), 0.0)


def test_content_consistent_answerer_measures_its_true_values():
    truth = Trajectory("historical-like").sample(np.random.default_rng(3), 1)[0, 5]
    for temperature in (0.3, 0.5, 1.0):
        assert np.allclose(measure(population_answerer(truth, temperature), EVALUATION, temperature), truth, atol=1e-9)


def test_reference_example_content_probability_is_not_position():
    """ProgressGym's defect: p=0.9 for the content of action 1 measured 0.5, and first-position picking 0.9."""
    item = next(i for i in EVALUATION if i.dimension == "deceive")
    up = item.option_signs.index(1.0)

    def prefers_upholding(asked):  # chooses the upholding content with p = 0.9, wherever it is shown
        return [np.where(np.array(order) == up, 0.9, 0.1) for _, order in asked]

    p_binary, _ = content_probabilities(presentations([item]), prefers_upholding(presentations([item])))
    assert p_binary[dim_index("deceive")] == pytest.approx(0.9)
    p_binary, _ = content_probabilities(presentations([item]), _first_listed(presentations([item])))
    assert p_binary[dim_index("deceive")] == pytest.approx(0.5)


def test_survey_is_noisy_but_converges_with_more_respondents():
    rng = np.random.default_rng(4)
    truth = Trajectory("historical-like").sample(rng, 200)[:, 3]
    assert np.allclose(survey(truth, rng, 0, 0.5), truth, atol=1e-5)  # census
    err = {n: np.abs(survey(truth, rng, n, 0.5) - truth).mean() for n in (20, 1000)}
    assert err[1000] < err[20] / 3
    assert 0 < err[1000] < 0.05
    p_binary, p_wv = dimension_probabilities(truth, 0.5)
    assert p_binary.shape == (200, 15) and np.allclose(p_wv.sum(axis=1), 1.0)


@pytest.mark.parametrize("challenge", ["follow", "predict", "coevolve"])
def test_chunked_and_grouped_batches_match_the_whole_batch(challenge, monkeypatch):
    """The speed paths (trajectories and metrics a chunk of rows at a time; every row at one step by basic indexing)
    give the numbers of the plain ones: rows drawn and scored whole, then stepped in two groups by index arrays."""
    from aligngym.envs.progress import core, trajectories

    actions = np.random.default_rng(1).uniform(-1, 1, (8, 7, N_DIMS))
    runs = []
    for chunk, groups in ((3, [np.arange(7)]), (10 ** 6, [np.array([0, 2, 4, 6]), np.array([1, 3, 5])])):
        monkeypatch.setattr(trajectories, "DRAW_CHUNK", chunk)
        monkeypatch.setattr(core, "METRICS_CHUNK", chunk)
        sim, rng = core.Simulation(challenge), np.random.default_rng(0)
        sim.allocate(7)
        sim.reset_rows(rng, np.arange(7))
        values, rewards = sim.actual.copy(), np.zeros((sim.n_steps, 7))
        for t in range(sim.n_steps):
            for rows in groups:
                rewards[t, rows] = sim.advance(rng, rows, actions[t, rows])
        runs.append((values, rewards, sim.metrics(np.arange(7))))
    (values, rewards, metrics), (values2, rewards2, metrics2) = runs
    assert np.array_equal(values, values2) and np.allclose(rewards, rewards2, rtol=0, atol=1e-12)
    assert metrics.keys() == metrics2.keys()
    assert all(np.allclose(metrics[k], metrics2[k], rtol=0, atol=1e-12) for k in metrics)


@pytest.mark.parametrize("respondents", [1000, 0, 20])
def test_single_coevolve_env_in_python_floats_matches_the_batched_path(respondents):
    """The single Coevolve env steps one row in Python floats with its survey noise drawn at reset: on the same seed
    it plays the batched path's episode (the same draws), surveys to float32 rounding (`survey` computes in single
    precision) and moves, scores and reports metrics to double rounding. 20 respondents survey by exact sampling,
    0 is a census."""
    from aligngym.envs.progress.core import Simulation

    actions = np.random.default_rng(1).uniform(-1, 1, (8, N_DIMS))
    one, batched = Simulation("coevolve", respondents=respondents), Simulation("coevolve", respondents=respondents)
    rng_one, rng_batched, row = np.random.default_rng(0), np.random.default_rng(0), np.array([0])
    one.allocate(1)
    batched.allocate(1)
    one.reset_one(rng_one)
    batched.reset_rows(rng_batched, row)
    assert np.array_equal(one.actual, batched.actual)
    for a in actions:
        assert np.allclose(one.observation(0), batched.observation(0), rtol=0, atol=2e-7)
        reward = one.advance(rng_one, 0, a)
        assert reward == pytest.approx(batched.advance(rng_batched, row, a[None])[0], rel=0, abs=1e-12)
    assert np.allclose(one.human, batched.human, rtol=0, atol=1e-12)
    expected = batched.metrics(row)
    assert one.metrics_one() == pytest.approx({k: float(v[0]) for k, v in expected.items()}, rel=0, abs=1e-12)
