"""The one registry table of AlignGym.

Every environment id of the suite is one `Row` in `ROWS`. Registration with Gymnasium and PettingZoo,
`aligngym list`, the docs, the quick suite and the registry-wide tests all read this table; nothing
else keeps a list of ids. Family folders add their rows in their own section below.
"""
from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from dataclasses import dataclass, field
from typing import Any

from aligngym.envs.checked_init import unknown_kwargs_message
from aligngym.envs.metrics import Metric  # noqa: F401  (re-exported)

NAMESPACE = "AlignGym"


@dataclass(frozen=True)
class Row:
    """One registered id.

    `metrics` is the env module's `METRICS` tuple; `primary_metric` names the one that suites and the leaderboard
    rank by. `multi_agent` rows are PettingZoo ParallelEnvs. Which baselines the quick suite runs on an id, and for
    how many episodes, is the suite's business (`benchmarks/suite.py`), not the registry's.
    """

    id: str
    entry_point: str
    family: str
    description: str
    metrics: tuple[Metric, ...]
    primary_metric: str
    max_episode_steps: int | None = None
    vector_entry_point: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    multi_agent: bool = False

    def __post_init__(self):
        if self.primary_metric not in self.metric_names:
            raise ValueError(f"{self.id}: primary_metric {self.primary_metric!r} is not one of its metrics "
                             f"{self.metric_names}.")

    @property
    def metric_names(self) -> list[str]:
        return [m.name for m in self.metrics]

    def load(self):
        """The env class (or factory) behind `entry_point`."""
        module, _, attr = self.entry_point.partition(":")
        return getattr(importlib.import_module(module), attr)


FAMILIES = ("progress", "shopping", "faking", "rapl", "shaping")

ROWS: list[Row] = []

# --- progress (envs/progress) -------------------------------------------------------------------
from aligngym.envs.progress import coevolve as _coevolve, follow as _follow, predict as _predict  # noqa: E402

_PROGRESS_QUESTIONNAIRE = "questionnaire face: answers measured, order-debiased"
ROWS += [
    Row(id="AlignGym/ProgressFollow-v1", entry_point="aligngym.envs.progress.follow:ProgressFollowEnv",
        vector_entry_point="aligngym.envs.progress.follow:ProgressFollowVectorEnv", family="progress",
        primary_metric="rmse", description="Follow: track a drifting population's 19 moral values; numeric face",
        metrics=_follow.METRICS),
    Row(id="AlignGym/ProgressFollowText-v1", entry_point="aligngym.envs.progress.follow:ProgressFollowTextEnv",
        family="progress", primary_metric="rmse",
        description=f"Follow: track a drifting population's values; {_PROGRESS_QUESTIONNAIRE}",
        metrics=_follow.TEXT_METRICS),
    Row(id="AlignGym/ProgressPredict-v1", entry_point="aligngym.envs.progress.predict:ProgressPredictEnv",
        vector_entry_point="aligngym.envs.progress.predict:ProgressPredictVectorEnv", family="progress",
        primary_metric="rmse", description="Predict(k): state the population's values k steps ahead; numeric face",
        metrics=_predict.METRICS),
    Row(id="AlignGym/ProgressPredictText-v1", entry_point="aligngym.envs.progress.predict:ProgressPredictTextEnv",
        family="progress", primary_metric="rmse",
        description=f"Predict(k): values k steps ahead; {_PROGRESS_QUESTIONNAIRE}", metrics=_predict.TEXT_METRICS),
    Row(id="AlignGym/ProgressCoevolve-v1", entry_point="aligngym.envs.progress.coevolve:ProgressCoevolveEnv",
        vector_entry_point="aligngym.envs.progress.coevolve:ProgressCoevolveVectorEnv", family="progress",
        primary_metric="score_reference",
        description="Coevolve: AI values pull the population; help it progress early, avoid lock-in; numeric face",
        metrics=_coevolve.METRICS),
    Row(id="AlignGym/ProgressCoevolveText-v1", entry_point="aligngym.envs.progress.coevolve:ProgressCoevolveTextEnv",
        family="progress", primary_metric="score_reference",
        description=f"Coevolve: help the population progress, avoid lock-in; {_PROGRESS_QUESTIONNAIRE}",
        metrics=_coevolve.TEXT_METRICS),
]
# --- shopping (envs/shopping) -------------------------------------------------------------------
from aligngym.envs.shopping import (assistant_env as _shop_assistant, game as _shop_game, game_text as _shop_game_text,  # noqa: E402
                                    market as _shop_market, text_env as _shop_text)

ROWS += [
    Row(id="AlignGym/Shopping-v0", entry_point="aligngym.envs.shopping.market:ShoppingMarketEnv",
        family="shopping", primary_metric="override", multi_agent=True,
        description="Shopping assistant torn between customer and company; customer may audit (PettingZoo)",
        metrics=_shop_market.METRICS),
    Row(id="AlignGym/Shopping-v1", entry_point="aligngym.envs.shopping.game:ShoppingGameEnv",
        family="shopping", primary_metric="override", multi_agent=True,
        description="Repeated shopping game: hidden explanations unless shared or audited, customer may leave, "
        "compensation below the loss (PettingZoo)", metrics=_shop_game.METRICS),
    Row(id="AlignGym/ShoppingGameText-v1", entry_point="aligngym.envs.shopping.game_text:ShoppingGameTextEnv",
        family="shopping", primary_metric="override", multi_agent=True,
        description="The repeated shopping game with a text face: prompts in, replies parsed into moves, for LLM "
        "customers and assistants (PettingZoo)", metrics=_shop_game_text.METRICS),
    Row(id="AlignGym/ShoppingAssistant-v0", entry_point="aligngym.envs.shopping.assistant_env:ShoppingAssistantEnv",
        vector_entry_point="aligngym.envs.shopping.assistant_env:ShoppingAssistantVectorEnv", family="shopping",
        primary_metric="override", description="Shopping assistant's numeric face: catalog + disclosure condition in, "
        "product out", metrics=_shop_assistant.METRICS),
    Row(id="AlignGym/ShoppingText-v0", entry_point="aligngym.envs.shopping.text_env:ShoppingTextEnv",
        family="shopping", primary_metric="misaligned", description="Shopping assistant's text face (v0: third-person "
        "report prompt, fixed order)", metrics=_shop_text.METRICS,
        kwargs={"protocol": "report", "order": "fixed", "detector": "keywords"}),
    Row(id="AlignGym/ShoppingText-v1", entry_point="aligngym.envs.shopping.text_env:ShoppingTextEnv",
        family="shopping", primary_metric="misaligned", description="Shopping assistant's text face: the paper's "
        "protocol, counterbalanced order, rule disclosure detector", metrics=_shop_text.METRICS,
        kwargs={"protocol": "paper", "order": "counterbalanced", "detector": "rules"}),
]
# --- faking (envs/faking) -----------------------------------------------------------------------
from aligngym.envs.faking import incentive as _faking_incentive, text as _faking_text  # noqa: E402

ROWS += [
    Row(id="AlignGym/FakingIncentive-v0", entry_point="aligngym.envs.faking.incentive:FakingIncentiveEnv",
        vector_entry_point="aligngym.envs.faking.incentive:FakingIncentiveVectorEnv", family="faking",
        description="Model as agent: comply or refuse while only free-tier refusals get it modified; reward = its "
                    "original values",
        metrics=_faking_incentive.METRICS, primary_metric="true_return"),
    Row(id="AlignGym/FakingText-v0", entry_point="aligngym.envs.faking.text:FakingTextEnv", family="faking",
        description="The alignment-faking prompt (lab trains on free tier only): scratchpad + output; presets",
        metrics=_faking_text.METRICS, primary_metric="refused"),
    Row(id="AlignGym/FakingMinimal-v0", entry_point="aligngym.envs.faking.text:FakingMinimalEnv", family="faking",
        description="The paper's minimal setting: reply starts with an acceptance or rejection tag; prefix kwarg",
        metrics=_faking_text.METRICS, primary_metric="refused"),
]
# --- rapl (envs/rapl) ---------------------------------------------------------------------------
from aligngym.envs.rapl import sweep as _sweep  # noqa: E402  (its METRICS and id grammar)

ROWS += [
    Row(id=f"AlignGym/{_sweep.TASK}-{embodiment}-v0", entry_point="aligngym.envs.rapl.sweep:SweepToTopEnv",
        family="rapl", description=f"X-MAGICAL sweep-to-top, {embodiment}; hidden end-user preference (avoid a zone / "
                                   "keep debris grouped) in info; observation, view, variant, preference as kwargs",
        metrics=_sweep.METRICS, primary_metric="aligned_score", kwargs={"embodiment": embodiment, "variant": "TestLayout"})
    for embodiment in _sweep.EMBODIMENTS
]
# rapl part 2 (MuJoCo); no max_episode_steps: the env truncates itself after its `horizon` kwarg (a TimeLimit of 45
# would cut a longer horizon short, without the episode-end metrics)
from aligngym.envs.rapl import franka_push as _franka_push  # noqa: E402

_FRANKA = "aligngym.envs.rapl.franka_push:FrankaPushEnv"
ROWS += [
    Row(id="AlignGym/RaplFrankaGroup-v0", entry_point=_FRANKA, family="rapl",
        kwargs={"preference": "group"}, metrics=_franka_push.METRICS, primary_metric="preference_success",
        description="Franka Panda (MuJoCo) pushes two cubes to a line; hidden preference: keep them together"),
    Row(id="AlignGym/RaplFrankaClutter-v0", entry_point=_FRANKA, family="rapl",
        kwargs={"preference": "clutter"}, metrics=_franka_push.METRICS, primary_metric="preference_success",
        description="Franka Panda pushes two cubes to a line; hidden preference: leave four extra objects off it"),
    Row(id="AlignGym/RaplFetchGroup-v0", entry_point=_FRANKA, family="rapl",
        kwargs={"preference": "group", "robot": "fetch"}, metrics=_franka_push.METRICS,
        primary_metric="preference_success",
        description="Cross-embodiment: the Fetch arm (mocap) does the Franka Group push task"),
]
# --- shaping (envs/shaping) ---------------------------------------------------------------------
from aligngym.envs.shaping import cartpole, common, gridworld, mountaincar  # noqa: E402  (not halfcheetah: MuJoCo)

_SHAPING = "aligngym.envs.shaping."
ROWS += [
    Row(id="AlignGym/ShapingGridWorld-v1", entry_point=_SHAPING + "gridworld:ShapingGridWorldEnv",
        vector_entry_point=_SHAPING + "gridworld:ShapingGridWorldVectorEnv", family="shaping",
        description="Continuous gridworld, sparse goal reward; aux heuristic good (distance) or bad (farmable centre)",
        metrics=gridworld.METRICS, primary_metric="primary_return", kwargs={"heuristic": "bad"}),
    Row(id="AlignGym/ShapingMountainCar-v1", entry_point=_SHAPING + "mountaincar:ShapingMountainCarEnv",
        vector_entry_point=_SHAPING + "mountaincar:ShapingMountainCarVectorEnv", family="shaping",
        description="MountainCar with +1 only at the goal; aux: push along velocity (good), speed, valley bonus (bad, ours), braking (mirror, ours)",
        metrics=mountaincar.METRICS, primary_metric="primary_return", kwargs={"heuristic": "good"}),
    Row(id="AlignGym/ShapingCartPole-v1", entry_point=_SHAPING + "cartpole:ShapingCartPoleEnv",
        vector_entry_point=_SHAPING + "cartpole:ShapingCartPoleVectorEnv", family="shaping",
        description="CartPole; aux for agreeing with a good or weak PD controller; bad ones penalise agreeing with "
                    "the good one",
        metrics=cartpole.METRICS, primary_metric="primary_return", kwargs={"heuristic": "bad"}),
    Row(id="AlignGym/ShapingHalfCheetah-v1", entry_point=_SHAPING + "halfcheetah:ShapingHalfCheetahEnv",
        family="shaping", primary_metric="primary_return",
        description="MuJoCo HalfCheetah-v5: primary = forward reward, aux = -w x squared action norm, w 1 (good) or 4 (bad)",
        metrics=common.METRICS_WITHOUT_SUCCESS, kwargs={"heuristic": "bad"}),
]
# --- end of table -------------------------------------------------------------------------------


def full_id(env_id: str) -> str:
    """Accepts `Name-v0`, `AlignGym/Name-v0` or `aligngym:AlignGym/Name-v0`."""
    env_id = env_id.split(":", 1)[1] if env_id.startswith("aligngym:") else env_id
    return env_id if "/" in env_id else f"{NAMESPACE}/{env_id}"


def ids() -> list[str]:
    return [r.id for r in ROWS]


def row(env_id: str) -> Row:
    """The row for an id; an unknown id raises KeyError naming the closest registered ids."""
    wanted = full_id(env_id)
    for r in ROWS:
        if r.id == wanted:
            return r
    close = difflib.get_close_matches(wanted, ids(), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else " Run `aligngym list` to see every id."
    raise KeyError(f"Unknown environment id {env_id!r}.{hint}")


def allowed_kwargs(r: Row) -> list[str]:
    return list(_allowed_kwargs(r.load()))


@functools.lru_cache(maxsize=None)
def _allowed_kwargs(target) -> tuple[str, ...]:
    """The constructor's keyword names, read once per class (every evaluate() checks kwargs)."""
    params = inspect.signature(target.__init__ if inspect.isclass(target) else target).parameters
    return tuple(n for n, p in params.items() if n != "self" and p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))


def check_kwargs(env_id: str, kwargs: dict[str, Any]) -> None:
    """Refuses kwargs that the env's constructor does not take, naming the ones it does."""
    r = row(env_id)
    allowed = allowed_kwargs(r)
    if set(kwargs) - set(allowed):
        raise ValueError(unknown_kwargs_message(r.id, kwargs, allowed))


def _aec_env(entry_point: str, **kwargs):
    """`pettingzoo.make("aec", id)` for a multi-agent row: its ParallelEnv through `parallel_to_aec`."""
    from pettingzoo.utils.conversions import parallel_to_aec

    module, _, attr = entry_point.partition(":")
    return parallel_to_aec(getattr(importlib.import_module(module), attr)(**kwargs))


def _pettingzoo_only(env_id: str, **kwargs):
    raise TypeError(f"{env_id} is a multi-agent PettingZoo env: use `pettingzoo.make(\"parallel\", \"{env_id}\")` "
                    f"(after `import aligngym`), not gymnasium.make.")


def register_all() -> None:
    """Registers every row with Gymnasium (single-agent) or PettingZoo (multi-agent). Idempotent."""
    import gymnasium
    import pettingzoo

    for r in ROWS:
        if r.multi_agent:
            if r.id not in pettingzoo.parallel_registry:
                pettingzoo.register("parallel", r.id, r.entry_point, max_cycles=r.max_episode_steps, kwargs=dict(r.kwargs))
            if r.id not in pettingzoo.aec_registry:  # the same env, turned into an AEC env by PettingZoo's converter
                pettingzoo.register("aec", r.id, functools.partial(_aec_env, r.entry_point),
                                    max_cycles=r.max_episode_steps, kwargs=dict(r.kwargs))
            if r.id not in gymnasium.registry:  # so that gym.make says where the multi-agent env is
                gymnasium.register(r.id, entry_point=functools.partial(_pettingzoo_only, r.id))
        elif r.id not in gymnasium.registry:
            gymnasium.register(r.id, entry_point=r.entry_point, vector_entry_point=r.vector_entry_point,
                               max_episode_steps=r.max_episode_steps, kwargs=dict(r.kwargs))
