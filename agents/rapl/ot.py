"""Entropic optimal transport between two videos' frame embeddings, batched in torch with gradients.

s(o, o') = -<P*, C>, C_ij = 1 - cos(phi(o_i), phi(o'_j)), P* the entropic Sinkhorn plan with uniform marginals
(RAPL, Tian et al. 2024). Tested against POT's `ot.sinkhorn`.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

LOG_DOMAIN_BELOW = 0.1  # plain Sinkhorn (fast matrix products) for reg >= this; log-domain (stable) below


def cosine_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[..., T, D] x [..., T', D] -> [..., T, T'] of 1 - cosine similarity."""
    return 1.0 - F.normalize(x, dim=-1) @ F.normalize(y, dim=-1).transpose(-1, -2)


def sinkhorn(cost: torch.Tensor, reg: float = 1.0, max_iter: int = 1000, tol: float = 1e-6) -> torch.Tensor:
    """Entropic OT plans with uniform marginals for a batch of cost matrices [..., T, T'] (differentiable).

    Iterates until the row marginals are within `tol` (checked every 10 iterations) or `max_iter`."""
    t, u = cost.shape[-2], cost.shape[-1]
    log_a = torch.full(cost.shape[:-1], -torch.log(torch.tensor(float(t))).item(), dtype=cost.dtype)
    log_b = torch.full((*cost.shape[:-2], u), -torch.log(torch.tensor(float(u))).item(), dtype=cost.dtype)
    if reg >= LOG_DOMAIN_BELOW:
        kernel = torch.exp(-cost / reg)
        a, b = log_a.exp(), log_b.exp()
        v = torch.ones_like(b)
        for i in range(max_iter):
            u_ = a / (kernel @ v.unsqueeze(-1)).squeeze(-1)
            v = b / (kernel.transpose(-1, -2) @ u_.unsqueeze(-1)).squeeze(-1)
            if i % 10 == 9:
                rows = u_ * (kernel @ v.unsqueeze(-1)).squeeze(-1)
                if torch.max(torch.abs(rows - a)) < tol:
                    break
        return u_.unsqueeze(-1) * kernel * v.unsqueeze(-2)
    log_k = -cost / reg
    f, g = torch.zeros_like(log_a), torch.zeros_like(log_b)
    for i in range(max_iter):
        f = log_a - torch.logsumexp(log_k + g.unsqueeze(-2), dim=-1)
        g = log_b - torch.logsumexp(log_k + f.unsqueeze(-1), dim=-2)
        if i % 10 == 9:
            rows = torch.logsumexp(log_k + f.unsqueeze(-1) + g.unsqueeze(-2), dim=-1).exp()
            if torch.max(torch.abs(rows - log_a.exp())) < tol:
                break
    return torch.exp(log_k + f.unsqueeze(-1) + g.unsqueeze(-2))


def euclidean_cost(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """[..., T, D] x [..., T', D] -> [..., T, T'] of Euclidean distances (RAPL's encoder training at its
    submission commit)."""
    return torch.cdist(x, y)


COSTS = {"cosine": cosine_cost, "euclidean": euclidean_cost}


def ot_similarity(x: torch.Tensor, y: torch.Tensor, reg: float = 1.0, max_iter: int = 1000,
                  cost: str = "cosine") -> torch.Tensor:
    """s(x, y) = -<P*, C> for embeddings [..., T, D] and [..., T', D], C by `cost` (cosine or euclidean)."""
    cost = COSTS[cost](x, y)
    return -(sinkhorn(cost, reg, max_iter) * cost).sum(dim=(-1, -2))


def ot_step_costs(x: torch.Tensor, y: torch.Tensor, reg: float = 1.0, max_iter: int = 1000) -> torch.Tensor:
    """Per-frame transport cost of x against y: T * sum_j P*_tj C_tj, shape [..., T] (RAPL's dense reward is minus
    this; the factor T makes it a weighted mean cost per frame, in [0, 2])."""
    cost = cosine_cost(x, y)
    return (sinkhorn(cost, reg, max_iter) * cost).sum(dim=-1) * cost.shape[-2]
