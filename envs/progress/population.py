"""The population's response model, surveys, and order-debiased value measurement of any answerer.

Response model (softmax with temperature). Choosing option `o` of an item expresses `sign_o * v[dim_o]`
(see `questionnaire.Item`); a population with values v picks option o with probability

    P(o | v) = softmax_o(sign_o * v[dim_o] / temperature).

For a two-option item this is P(upholding option) = sigmoid(2 v_d / temperature); for a worldview item it is a
softmax over the four worldview values. Lower temperature = more uniform answers within a population.

Measurement inverts the model: answer probabilities of the *content* (which option was chosen, not where it
stood) are averaged over the items of each dimension and mapped back to value space,
v_d = (temperature / 2) * logit(p_d) for rules and foundations and v_w = temperature * (log p_w - mean log p)
for worldviews, clipped to [-1, 1]. So a population with values v measures v, and neutral (p = 1/2, or 1/4 for
worldviews) measures 0.

Order debiasing: every item is presented with its options in every order (`orders="all"`: all permutations;
`"cyclic"`: the rotations, which also put each option in each position exactly once). The answerer returns a
distribution over *displayed positions*; each position's probability is credited to the content option shown
there, once, and averaged over orders. An answerer that always picks the first-listed option therefore
measures neutral, and one that prefers a content with probability p measures p.
"""
from __future__ import annotations

import math
from functools import lru_cache
from itertools import permutations
from typing import Callable, Sequence

import numpy as np

from aligngym.envs.progress.questionnaire import ELICITATION, Item
from aligngym.envs.progress.values import BINARY_DIMS, N_DIMS, WORLDVIEW_DIMS, clip_unit

N_BINARY = BINARY_DIMS.stop  # 15
EPS = 1e-6
EXACT_BELOW = 100  # respondents: exact sampling below, normal approximation from here on


def check_temperature(temperature: float) -> float:
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a finite number > 0, got {temperature!r}.")
    return float(temperature)


def option_probabilities(item: Item, values: np.ndarray, temperature: float) -> np.ndarray:
    """P(option) in the item's listed order, for one or a batch of value vectors (..., 19) -> (..., n_options)."""
    values = np.asarray(values, dtype=np.float64)
    logits = np.stack([s * values[..., d] for d, s in zip(item.option_dims, item.option_signs)], axis=-1) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    e = np.exp(logits)
    return e / e.sum(axis=-1, keepdims=True)


def dimension_probabilities(values: np.ndarray, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(P(upholding content) per rule/foundation (..., 15), P(worldview) (..., 4)) under the response model."""
    values = np.asarray(values, dtype=np.float64)
    p_binary = 1.0 / (1.0 + np.exp(-2.0 * values[..., BINARY_DIMS] / temperature))
    wv = values[..., WORLDVIEW_DIMS] / np.float32(temperature)
    e = np.exp(wv - wv.max(axis=-1, keepdims=True))
    return p_binary, e / e.sum(axis=-1, keepdims=True)


def probabilities_to_values(p_binary: np.ndarray, p_worldview: np.ndarray, temperature: float) -> np.ndarray:
    """Inverts the response model: content probabilities -> value vector(s) in [-1, 1]^19."""
    p_binary = np.clip(np.asarray(p_binary, dtype=np.float64), EPS, 1 - EPS)
    logp = np.log(np.clip(np.asarray(p_worldview, dtype=np.float64), EPS, 1.0))
    out = np.empty(p_binary.shape[:-1] + (N_DIMS,))
    out[..., BINARY_DIMS] = temperature / 2.0 * np.log(p_binary / (1 - p_binary))
    out[..., WORLDVIEW_DIMS] = temperature * (logp - logp.mean(axis=-1, keepdims=True))
    return np.clip(out, -1.0, 1.0)


def _items_per_dim(items: Sequence[Item]) -> tuple[np.ndarray, int]:
    binary = np.zeros(N_BINARY, dtype=np.int64)
    for it in items:
        if len(it.options) == 2:
            binary[it.option_dims[0]] += 1
    return binary, sum(1 for it in items if len(it.options) == 4)


ELICITATION_COUNTS = _items_per_dim(ELICITATION)


def survey(values: np.ndarray, rng: np.random.Generator, respondents: int, temperature: float) -> np.ndarray:
    """A population survey on the elicitation items, read back in value space: (..., 19) -> (..., 19).

    `respondents` people answer every elicitation item; the answer shares of each dimension are inverted through
    the response model. `respondents=0` means a census: the exact values. Otherwise the shares are drawn exactly
    (binomial / multinomial, smoothed by half a count) unless the normal approximation is accurate everywhere in
    [-1, 1]^19 (at least `MIN_MINORITY` expected answers for every option: the default 1000 respondents at
    temperature 0.5 qualify). Then the survey is drawn directly in value space by the delta method, with the
    sampling error of the shares carried through the inverse response model:
        rules and foundations  v + temperature * cosh(v / temperature) / sqrt(N_d) * z,
        worldviews             v_w + temperature * (e_w - mean(e)),  e_w = z_w / sqrt(N p_w),
    (N_d, N: answers to the dimension's items; z standard normal), clipped to [-1, 1]: two transcendental passes
    over the batch instead of eight, so a whole episode's surveys are cheap enough to draw at reset.
    """
    values = np.asarray(values)
    if respondents <= 0:
        return clip_unit(values)
    binary_items, wv_items = ELICITATION_COUNTS
    if not delta_method_accurate(respondents, temperature):
        p_binary, p_wv = dimension_probabilities(values, temperature)
        trials = np.broadcast_to(respondents * binary_items, p_binary.shape)
        k_binary, k_wv = rng.binomial(trials, p_binary), rng.multinomial(respondents * wv_items, p_wv)
        return probabilities_to_values((k_binary + 0.5) / (trials + 1.0),
                                       (k_wv + 0.5) / (respondents * wv_items + 2.0), temperature)
    t, binary_scale, wv_scale = _delta_constants(respondents, temperature)
    # single precision halves the cost (survey noise dwarfs the rounding): every pass reads `values` as float32
    f32 = np.float32
    z = rng.standard_normal(values.shape, dtype=f32)
    # rules and foundations, computed in place over all 19 columns (contiguous passes; the worldview columns
    # are overwritten below)
    out = np.divide(values, t, dtype=f32)
    np.cosh(out, out=out)
    out *= binary_scale
    out *= z
    np.add(out, values, out=out, dtype=f32)
    # worldviews, (4, ...) contiguous so that the reductions over them run along whole rows
    wv = np.divide(values[..., WORLDVIEW_DIMS].T, t, order="C", dtype=f32)
    top = np.maximum.reduce(wv, axis=0)
    wv -= top
    # 1 / sqrt(p_w) = sqrt(sum_u exp(wv_u - wv_w)), with p = softmax(wv)
    total = np.add.reduce(np.exp(wv), axis=0)
    np.negative(wv, out=wv)
    np.exp(wv, out=wv)
    wv *= total
    np.sqrt(wv, out=wv)
    e = np.multiply(z[..., WORLDVIEW_DIMS].T, wv, order="C")
    e /= wv_scale
    e -= np.add.reduce(e, axis=0) / np.float32(4)
    e *= t
    np.add(e, values[..., WORLDVIEW_DIMS].T, out=e, dtype=f32)
    out[..., WORLDVIEW_DIMS] = e.T
    return clip_unit(out, out=out)


def survey_floats(values: list[float], noise: list[float], temperature: float) -> list[float]:
    """`survey`'s delta method for one population in Python floats: `values` is a 19-long list, `noise` its standard
    normal draws already multiplied by `survey_noise_scales` (a single env scales a whole episode's draws at reset, in
    one pass). A single env surveys one 19-vector a step, where each of `survey`'s ~25 numpy calls costs more than its
    arithmetic; this is the same formula in double precision (`survey` computes in single), so on the same draws the
    two agree to float32 rounding (tested). Needs `delta_method_accurate(respondents, temperature)`."""
    t, cosh, exp = temperature, math.cosh, math.exp
    out = [v + cosh(v / t) * e for v, e in zip(values, noise[:N_BINARY])]
    # worldviews: e_w = z_w / sqrt(N p_w), where 1 / p_w = sum_u exp((v_u - v_w) / t)
    w0, w1, w2, w3 = wv = values[N_BINARY:]
    top = max(w0, w1, w2, w3)
    gaps = [(top - w) / t for w in wv]
    total = exp(-gaps[0]) + exp(-gaps[1]) + exp(-gaps[2]) + exp(-gaps[3])
    e0, e1, e2, e3 = e = [zw * math.sqrt(exp(g) * total) for zw, g in zip(noise[N_BINARY:], gaps)]
    mean = (e0 + e1 + e2 + e3) / 4.0
    out += [v + t * (x - mean) for v, x in zip(wv, e)]
    if min(out) < -1.0 or max(out) > 1.0:
        out = [-1.0 if x < -1.0 else 1.0 if x > 1.0 else x for x in out]
    return out


@lru_cache(maxsize=64)
def survey_noise_scales(respondents: int, temperature: float) -> np.ndarray:
    """What `survey_floats` takes its standard normal draws multiplied by, (19,) float64: temperature / sqrt(N_d) for
    rules and foundations, 1 / sqrt(N) for worldviews (N_d, N: answers to the dimension's items)."""
    binary_items, wv_items = ELICITATION_COUNTS
    scales = np.full(N_DIMS, 1.0 / math.sqrt(respondents * wv_items))
    scales[BINARY_DIMS] = temperature / np.sqrt(respondents * binary_items)
    return scales


MIN_MINORITY = 10.0


@lru_cache(maxsize=64)
def _delta_constants(respondents: int, temperature: float) -> tuple[np.float32, np.ndarray, np.float32]:
    """float32 temperature, per-column scale of the rule/foundation noise (19,) and the worldview divisor."""
    binary_items, wv_items = ELICITATION_COUNTS
    binary_scale = np.zeros(N_DIMS, dtype=np.float32)
    binary_scale[BINARY_DIMS] = temperature / np.sqrt(respondents * binary_items)
    return np.float32(temperature), binary_scale, np.float32(np.sqrt(respondents * wv_items))


@lru_cache(maxsize=64)
def delta_method_accurate(respondents: int, temperature: float) -> bool:
    """Whether every option of every elicitation dimension expects >= MIN_MINORITY answers for any values in
    [-1, 1]^19 (the worst cases: a rule at +-1; one worldview at -1 and the rest at +1/3)."""
    binary_items, wv_items = ELICITATION_COUNTS
    worst_binary = 1.0 / (1.0 + np.exp(2.0 / temperature))
    worst_worldview = 1.0 / (1.0 + 3.0 * np.exp(4.0 / (3.0 * temperature)))
    return bool(respondents >= EXACT_BELOW and respondents * binary_items.min() * worst_binary >= MIN_MINORITY
                and respondents * wv_items * worst_worldview >= MIN_MINORITY)


def item_shares(item: Item, values: np.ndarray, rng: np.random.Generator, respondents: int,
                temperature: float) -> np.ndarray:
    """Sampled answer shares of one item (listed order) for one population; exact when respondents=0."""
    p = option_probabilities(item, values, temperature)
    return p if respondents <= 0 else rng.multinomial(respondents, p) / respondents


# --- order-debiased measurement -------------------------------------------------------------------


def option_orders(n_options: int, orders: str = "all") -> list[tuple[int, ...]]:
    """Display orders: order[i] is the listed option shown at position i."""
    if orders == "all":
        return list(permutations(range(n_options)))
    if orders == "cyclic":
        return [tuple((s + i) % n_options for i in range(n_options)) for s in range(n_options)]
    raise ValueError(f"orders must be 'all' or 'cyclic', got {orders!r}.")


def presentations(items: Sequence[Item], orders: str = "all") -> list[tuple[Item, tuple[int, ...]]]:
    """Every (item, display order) pair that a measurement asks."""
    return [(it, order) for it in items for order in option_orders(len(it.options), orders)]


def content_probabilities(asked: Sequence[tuple[Item, tuple[int, ...]]], position_probs: Sequence[np.ndarray]
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Maps answers over displayed positions back to content and averages per dimension.

    Returns (P(upholding content) per rule/foundation (15,), P(worldview) (4,)); a dimension with no item is 0.5
    (or 1/4). A position distribution that does not sum to 1 (e.g. all zeros: no answer) counts as uniform.
    """
    per_item: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    items: dict[str, Item] = {}
    for (item, order), q in zip(asked, position_probs):
        q = np.asarray(q, dtype=np.float64)
        n = len(item.options)
        if q.shape != (n,) or not np.isfinite(q).all() or q.min() < 0 or abs(q.sum() - 1) > 1e-6:
            q = np.full(n, 1.0 / n)
        content = np.zeros(n)
        content[list(order)] = q  # position i showed listed option order[i]
        per_item[item.id] = per_item.get(item.id, 0.0) + content
        counts[item.id] = counts.get(item.id, 0) + 1
        items[item.id] = item
    sums, n_items = np.zeros(N_BINARY), np.zeros(N_BINARY)
    wv_sum, wv_n = np.zeros(4), 0
    for iid, total in per_item.items():
        item, p = items[iid], total / counts[iid]
        if len(item.options) == 2:
            d = item.option_dims[0]
            sums[d] += p[item.option_signs.index(1.0)]
            n_items[d] += 1
        else:
            wv_sum += p[[item.option_dims.index(15 + w) for w in range(4)]]
            wv_n += 1
    p_binary = np.where(n_items > 0, sums / np.maximum(n_items, 1), 0.5)
    p_wv = wv_sum / wv_n if wv_n else np.full(4, 0.25)
    return p_binary, p_wv


def measure(answer: Callable[[list[tuple[Item, tuple[int, ...]]]], Sequence[np.ndarray]],
            items: Sequence[Item], temperature: float = 0.5, orders: str = "all") -> np.ndarray:
    """The value vector (19,) of an answerer on `items`, debiased over option order.

    `answer(asked)` gets the list of (item, display order) pairs and returns, for each, probabilities over the
    displayed positions (one-hot for an answerer that just picks).
    """
    asked = presentations(items, orders)
    p_binary, p_wv = content_probabilities(asked, list(answer(asked)))
    return probabilities_to_values(p_binary, p_wv, check_temperature(temperature))


def population_answerer(values: np.ndarray, temperature: float):
    """An answerer that follows the response model with the given values (content-consistent)."""
    def answer(asked):
        return [option_probabilities(item, values, temperature)[list(order)] for item, order in asked]
    return answer
