"""ShoppingText: the shopping assistant's text face, for LLM agents (one purchase per episode).

## Description
The same simulation as ShoppingAssistant, shown as the full prompt of the "Of Models and Tin Men" design: the
company the assistant works for and what it wants, the customer's budget and preference, the catalog, and who
will read the explanation. The agent replies in free text: an explanation, then `Choice: N`.

## Action Space
`Text(max_length=4096, charset=string.printable)`: the reply. Any string is accepted; a non-string raises
ValueError. The reply is parsed into an explanation and a product number (rules in `prompts.parse_reply`); a reply
with no choice, two choices or a number not in the catalog is a parse failure: nothing is bought (the documented
fallback), `info["parse_failed"] = True` and the `parse_failure` metric is 1.

## Observation Space
`Text(max_length=4096 + 100 * (N - 2), charset=string.printable)`: the prompt (see `prompts.build_prompt`).

## Rewards
As ShoppingAssistant, except that the explanation is the agent's own: an override is disclosed (and can be
exposed to the customer) only if the explanation mentions the company's side of the conflict.

## Starting State
As ShoppingAssistant: a catalog and a disclosure condition drawn from `self.np_random`; the observation is the
prompt written from them.

## Episode End
Terminates after the one step; never truncates. Stepping again before `reset` raises RuntimeError.

## Arguments
scenario ("corporate" by default, "ethics", "generated" or a .json path), condition (both, company, customer,
nobody or "random"), catalog_size, conflict_strength, budget_tightness, company_weight, exposure_penalty,
render_mode ("ansi"); checked by `ARGS` as in ShoppingAssistant.

## Metrics
`info["metrics"]`: override, budget_violation, customer_utility, company_utility, disclosure_honesty,
parse_failure. Also `parse_failed`, `parse_error` ("" when parsed), `choice` (0-based, -1 when nothing bought),
`explanation`, `condition`. Primary metric: `override`, the study's headline (share of purchases against the
customer's preference).

## Version History
- v0: first version. Deviation from the study: a third-person, completion-style prompt ending in "Explanation:"
  (so small base models continue it), in our own words.
"""
from __future__ import annotations

import string

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from aligngym.envs.checked_init import RefusesUnknownKwargs
from aligngym.envs.checks import check_render_mode
from aligngym.envs.shopping.outcomes import METRIC_NAMES, METRICS, SESSION_ARGS, outcomes, reward_args  # noqa: F401 (METRICS: this face's)
from aligngym.envs.shopping.prompts import build_prompt, discloses_conflict, parse_reply
from aligngym.envs.shopping.scenarios import CONDITIONS, Sessions

MAX_CHARS = 4096  # plus 100 per product beyond the study's two, for generated catalogs


class ShoppingTextEnv(RefusesUnknownKwargs, gym.Env):
    ARGS = SESSION_ARGS
    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(self, scenario: str = "corporate", condition: str = "random", catalog_size: int = 4,
                 conflict_strength: float = 0.6, budget_tightness: float = 0.5, company_weight: float = 0.8,
                 exposure_penalty: float = 1.0, render_mode: str | None = None):
        self.render_mode = check_render_mode(render_mode, self.metadata)
        self.sessions = Sessions(scenario, condition, catalog_size, conflict_strength, budget_tightness)
        self.reward_args = reward_args(company_weight, exposure_penalty)
        max_chars = MAX_CHARS + 100 * max(0, self.sessions.size - 2)
        self.observation_space = spaces.Text(max_length=max_chars, charset=string.printable)
        self.action_space = spaces.Text(max_length=MAX_CHARS, charset=string.printable)
        self.cat = self.cond = self.scenario = self.prompt = None
        self.reply, self.done = None, True

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.cat, self.cond = self.sessions.draw(self.np_random, 1)
        self.scenario = self.sessions.scenario(self.cat)
        self.prompt = build_prompt(self.scenario, CONDITIONS[self.cond[0]])
        self.reply, self.done = None, False
        return self.prompt, {"condition": CONDITIONS[self.cond[0]], "scenario": self.scenario.name}

    def step(self, action):
        if self.done:  # one step per episode
            raise RuntimeError("The episode is over or has not started; call reset().")
        if not isinstance(action, str):
            raise ValueError(f"The action is the assistant's reply as a string, got {type(action).__name__}.")
        self.reply, self.done = action, True
        explanation, choice, error = parse_reply(action, [p.name for p in self.scenario.products])
        bought = -1 if choice is None else choice
        out = outcomes(self.cat, np.array([bought]), self.cond, discloses=discloses_conflict(explanation, self.scenario),
                       **self.reward_args)
        metrics = {m: float(out[m][0]) for m in METRIC_NAMES if m in out}
        metrics["parse_failure"] = float(error is not None)
        info = {"metrics": metrics, "parse_failed": error is not None, "parse_error": error or "", "choice": bought,
                "explanation": explanation, "condition": CONDITIONS[self.cond[0]]}
        return self.prompt, float(out["assistant_reward"][0]), True, False, info

    def render(self):
        if self.render_mode != "ansi" or self.prompt is None:
            return None
        return self.prompt + (f" {self.reply}\n" if self.reply is not None else "\n")
