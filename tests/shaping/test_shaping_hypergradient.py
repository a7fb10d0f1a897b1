"""BARFI's outer step on a softmax policy whose inner optimum has a closed form: the shipped `implicit` variant
(conjugate gradient on the policy's Fisher matrix) moves phi the way that raises the primary return; `first_order`
(H ~ -I) and the authors' Neumann series at their step (what the README table runs) move it the other way."""
import gymnasium as gym
import numpy as np
import pytest
import torch

from aligngym.agents.shaping.args import make_args
from aligngym.agents.shaping.barfi import Barfi
from aligngym.agents.shaping.rollout import Batch

# One state, three actions. The heuristic penalises every action, the middle one most; the primary reward makes
# a0 the worst, a2 the best. TAU is the inner learner's entropy weight.
PRIMARY = np.array([-1.3, 0.48, 0.77])
AUX = np.array([-0.32, -0.58, -0.39])
TAU = 1.0
OBS = torch.zeros(1, 1)


class TabularSoftmax(torch.nn.Module):
    """A one-state softmax policy whose parameters are its logits, with the interface BARFI's outer step uses."""

    discrete = True

    def __init__(self, logits: np.ndarray):
        super().__init__()
        self.theta = torch.nn.Parameter(torch.as_tensor(logits, dtype=torch.float32))

    def log_prob(self, obs, actions):
        return torch.log_softmax(self.theta, -1)[actions]

    def entropy(self, obs):
        log_probs = torch.log_softmax(self.theta, -1)
        return -(log_probs.exp() * log_probs).sum().expand(obs.shape[:-1])

    def kl_from_detached(self, obs):
        log_probs = torch.log_softmax(self.theta, -1)
        old = log_probs.detach()
        return (old.exp() * (old - log_probs)).sum().expand(obs.shape[:-1])


def inner_optimum(phi1: float) -> np.ndarray:
    """argmax_theta E_pi[r_p + phi1 r_aux + phi2] + TAU * entropy(pi) = the blended rewards / TAU (phi2 shifts
    every action alike and drops out)."""
    return (PRIMARY + phi1 * AUX) / TAU


def primary_return(phi1: float) -> float:
    logits = inner_optimum(phi1)
    probs = np.exp(logits - logits.max())
    return float(probs @ PRIMARY / probs.sum())


def one_step_episodes(policy: TabularSoftmax, n: int, seed: int) -> Batch:
    generator = torch.Generator().manual_seed(seed)
    actions = torch.multinomial(torch.softmax(policy.theta.detach(), -1), n, True, generator=generator)[None]
    primary = torch.as_tensor(PRIMARY, dtype=torch.float32)[actions]
    aux = torch.as_tensor(AUX, dtype=torch.float32)[actions]
    return Batch(obs=torch.zeros(1, n, 1), actions=actions, primary=primary, aux=aux,
                 potential=torch.full((1, n), float("nan")), next_potential=torch.zeros(1, n), mask=torch.ones(1, n),
                 primary_returns=primary[0].numpy(), aux_returns=aux[0].numpy(), successes=np.zeros(n))


def outer_loop(variant: str, seed: int, steps: int = 20) -> float:
    """`steps` outer steps of the shipped Barfi (its Adam, its defaults), the inner learner at its exact optimum
    before each; returns the final phi1."""
    barfi = Barfi(gym.spaces.Box(-1, 1, (1,), np.float32), make_args(variant=variant), seed=seed)
    phi1 = lambda: float(barfi.reward_fn.phi(OBS)[0, 0].detach())  # noqa: E731
    for step in range(steps):
        policy = TabularSoftmax(inner_optimum(phi1()))
        barfi.outer_step(policy, one_step_episodes(policy, 2048, 1000 * seed + step))
    return phi1()


def test_implicit_outer_steps_raise_the_primary_return_where_first_order_ones_lower_it():
    """Raising phi1 shifts the policy from a1 to a2 (good) but also towards the rarely taken worst action a0 (bad);
    the closed form says lowering phi1 from the naive 1.0 helps (dJ/dphi1 < 0 at 1). The implicit direction,
    grad J' F^-1 d(grad J_phi)/dphi, weighs each action's effect by its probability, as the true hypergradient
    does; first-order, grad J' d(grad J_phi)/dphi, by its probability squared, so it underweights a0 and raises
    phi1. Measured (seeds 0-2, 20 steps, J(1.0) = 0.508): implicit phi1 1.0 -> 0.16-0.32, J +0.005 to +0.006;
    first_order phi1 -> 4.03-4.09, J -0.033; the Neumann series within 0.002 of first-order (its terms add
    ~5e-4 x H to grad J, and Adam rescales the step)."""
    h = 1e-4
    assert (primary_return(1 + h) - primary_return(1 - h)) / (2 * h) < 0
    start = primary_return(1.0)
    for seed in range(3):
        final = {v: outer_loop(v, seed) for v in ("implicit", "first_order", "neumann")}
        gain = {v: primary_return(phi1) - start for v, phi1 in final.items()}
        assert final["implicit"] < 0.5 and gain["implicit"] > 0.003, (final, gain)
        assert final["first_order"] > 2.0 and gain["first_order"] < -0.02, (final, gain)
        assert abs(final["neumann"] - final["first_order"]) < 0.01, final


def test_outer_random_keeps_barfis_step_size_and_draws_a_seeded_random_direction():
    """The content-free control (`outer_random`): on the same policy and episodes its outer gradient has BARFI's
    norm, points elsewhere, and the same seed draws the same direction (another seed another)."""
    policy = TabularSoftmax(inner_optimum(0.0))
    batch = one_step_episodes(policy, 512, 0)

    def grads(seed: int, random: bool) -> tuple[float, torch.Tensor]:  # one step of plain BARFI or of `walk`
        args = make_args(outer_random="walk" if random else "off")
        barfi = Barfi(gym.spaces.Box(-1, 1, (1,), np.float32), args, seed=seed)
        barfi.outer_step(policy, batch)
        flat = torch.cat([p.grad.flatten() for p in barfi.reward_fn.parameters() if p.grad is not None])
        return barfi.trace[-1]["grad_j"], flat

    size, gradient = grads(0, False)
    random_size, random = grads(0, True)
    assert size > 0 and random_size == pytest.approx(size, rel=1e-5)
    assert float(torch.nn.functional.cosine_similarity(gradient, random, 0)) < 0.9
    assert torch.equal(random, grads(0, True)[1]) and not torch.equal(random, grads(1, True)[1])


def test_outer_random_drift_keeps_one_direction_where_walk_redraws_it():
    """`drift` steps the same way every outer step (a content-free stand-in for a consistent gradient), `walk`
    draws a new direction each step."""
    policy = TabularSoftmax(inner_optimum(0.0))
    batch = one_step_episodes(policy, 512, 0)

    def two_steps(random: str) -> float:
        barfi = Barfi(gym.spaces.Box(-1, 1, (1,), np.float32), make_args(outer_random=random), seed=0)
        flats = []
        for _ in range(2):
            barfi.outer_step(policy, batch)
            flats.append(torch.cat([p.grad.flatten() for p in barfi.reward_fn.parameters() if p.grad is not None]))
        return float(torch.nn.functional.cosine_similarity(*flats, 0))

    assert two_steps("drift") > 0.99 and abs(two_steps("walk")) < 0.5
