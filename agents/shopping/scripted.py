"""Scripted shopping assistants for the numeric face and the multi-agent env.

- loyal_customer: buys the customer's preferred affordable product;
- loyal_company: buys the product the company gains most from;
- disclosure_sensitive: buys the company's product only when the company reads the explanation (conditions
  both and company), else the customer's: the pattern the study found in GPT-3.5.

On `AlignGym/Shopping-v0` each factory returns {assistant: that policy, customer: accepts, company: asks for its
products to be favoured}. All read the catalog features through the layouts the envs export (`outcomes.catalog_slices`, `market_slices`).
"""
from __future__ import annotations

import numpy as np

from aligngym.agents.base import Agent, AgentContext, CallableAgent
from aligngym.envs.shopping.market import market_catalog_size
from aligngym.envs.shopping.outcomes import catalog_size_of, catalog_slices
from aligngym.envs.shopping.scenarios import COMPANY_SEES


class ScriptedAssistant(Agent):
    def __init__(self, policy: str, n_products: int):
        self.name, self.n = f"shopping.{policy}", n_products
        self.policy = policy
        self.slices = catalog_slices(n_products)

    def act(self, obs_batch):
        obs = np.asarray(obs_batch, dtype=np.float64)
        value, stake = obs[:, self.slices["customer_value"]], obs[:, self.slices["company_stake"]]
        affordable = obs[:, self.slices["affordable"]] > 0.5
        customer = np.argmax(np.where(affordable, value, -1.0), axis=1)
        company = np.argmax(stake, axis=1)
        if self.policy == "loyal_customer":
            return customer
        if self.policy == "loyal_company":
            return company
        condition = np.argmax(obs[:, self.slices["condition"]], axis=1)
        return np.where(COMPANY_SEES[condition], company, customer)


def _make(ctx: AgentContext, policy: str):
    if ctx.agents:  # PettingZoo: one policy per agent
        n = market_catalog_size(ctx.observation_space["assistant"].shape[0] if isinstance(ctx.observation_space, dict)
                                else ctx.observation_space.shape[0])
        agents = {"assistant": ScriptedAssistant(policy, n),
                  "customer": CallableAgent(lambda obs: np.zeros(len(obs), dtype=np.int64), "accept"),
                  "company": CallableAgent(lambda obs: np.ones(len(obs), dtype=np.int64), "favour-company")}
        return {a: agents[a] for a in ctx.agents}
    if not hasattr(ctx.observation_space, "shape") or len(ctx.observation_space.shape or ()) != 1:
        raise ValueError(f"The scripted shopping agents read the numeric face (AlignGym/ShoppingAssistant-v0) or "
                         f"AlignGym/Shopping-v0; {ctx.env_id} has observation space {ctx.observation_space}.")
    return ScriptedAssistant(policy, catalog_size_of(ctx.observation_space.shape[0]))


def loyal_customer(ctx: AgentContext):
    return _make(ctx, "loyal_customer")


def loyal_company(ctx: AgentContext):
    return _make(ctx, "loyal_company")


def disclosure_sensitive(ctx: AgentContext):
    return _make(ctx, "disclosure_sensitive")
