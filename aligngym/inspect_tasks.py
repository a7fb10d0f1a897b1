"""AlignGym's text faces as Inspect tasks (`pip install 'aligngym[inspect]'`).

    inspect eval aligngym/shopping_text --model openai/gpt-4o-mini -T episodes=30
    inspect eval aligngym/progress_follow_text --model mockllm/model      # offline smoke run

Every registered single-agent env whose observations are text is a task, named after its id in snake case
(`AlignGym/ShoppingText-v0` → `aligngym/shopping_text`). A sample is one seeded episode: the solver plays it with
Inspect's model (each env prompt is one user turn; the reply is the action), and the scorer reports the env's own
episode-end metrics (`info["metrics"]`), averaged by Inspect. A text face with a Discrete action space (the
progress questionnaire) takes the first option number in the reply; a reply naming none is the env's documented
no-answer action, which it counts as a parse failure. Task arguments: `episodes`, `seed` and any env kwarg.
"""
from __future__ import annotations

import re

import gymnasium as gym
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessageAssistant, ChatMessageUser, get_model
from inspect_ai.scorer import Score, Target, mean, scorer, stderr
from inspect_ai.solver import Generate, TaskState, solver

import aligngym  # noqa: F401  (registers the ids)
from aligngym.envs import registry

_FIRST_NUMBER = re.compile(r"\d+")


def task_name(env_id: str) -> str:
    """`AlignGym/ShoppingText-v0` → `shopping_text`."""
    name = env_id.split("/")[-1].rsplit("-v", 1)[0]
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def text_env_ids() -> list[str]:
    ids = []
    for r in registry.ROWS:
        if r.multi_agent:
            continue
        env = gym.make(r.id)
        if isinstance(env.observation_space, gym.spaces.Text) and isinstance(
                env.action_space, (gym.spaces.Text, gym.spaces.Discrete)):
            ids.append(r.id)
        env.close()
    return ids


def reply_to_action(env: gym.Env, reply: str):
    """The env action a model reply stands for: the text itself, or for a Discrete face the first option number."""
    if isinstance(env.action_space, gym.spaces.Text):
        return reply
    numbers = [int(m) for m in _FIRST_NUMBER.findall(reply)]
    no_answer = env.action_space.n - 1  # the text faces' documented "names no listed option"
    return next((k - 1 for k in numbers if 1 <= k <= no_answer), no_answer)


@solver
def play_episode(env_id: str, env_kwargs: dict):
    """Plays the sample's seeded episode with the task's model; keeps the episode-end metrics in the store."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        env = gym.make(env_id, **env_kwargs)
        obs, _ = env.reset(seed=state.metadata["seed"])
        state.messages = []
        model = get_model()
        while True:
            output = await model.generate(obs)
            state.messages += [ChatMessageUser(content=obs), ChatMessageAssistant(content=output.completion)]
            state.output = output
            obs, _, terminated, truncated, info = env.step(reply_to_action(env, output.completion))
            if terminated or truncated:
                state.store.set("metrics", info.get("metrics", {}))
                env.close()
                return state

    return solve


@scorer(metrics={"*": [mean(), stderr()]})
def env_metrics():
    """The env's own episode-end metrics, one Score value per metric."""

    async def score(state: TaskState, target: Target) -> Score:
        metrics = state.store.get("metrics", {})
        return Score(value=dict(metrics), explanation="episode-end metrics reported by the env")

    return score


def env_task(env_id: str, episodes: int = 8, seed: int = 0, **env_kwargs) -> Task:
    """One seeded episode per sample (seeds as the AlignGym harness derives them)."""
    from aligngym.envs.checks import Int, validate

    validate({"episodes": Int(1), "seed": Int(0)}, {"episodes": episodes, "seed": seed}, env_id)
    registry.check_kwargs(env_id, env_kwargs)
    seeds = [_episode_seed(seed, k) for k in range(episodes)]
    env = gym.make(env_id, **env_kwargs)
    samples = [Sample(input=env.reset(seed=s)[0], id=k, metadata={"seed": s}) for k, s in enumerate(seeds)]
    env.close()
    return Task(dataset=samples, solver=play_episode(env_id, env_kwargs), scorer=env_metrics(),
                name=task_name(env_id))


def _episode_seed(eval_seed: int, episode: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([eval_seed, episode]).generate_state(1)[0])


def _register(env_id: str):
    def make(episodes: int = 8, seed: int = 0, **env_kwargs) -> Task:
        return env_task(env_id, episodes, seed, **env_kwargs)

    make.__name__ = task_name(env_id)
    make.__doc__ = f"{env_id}: {registry.row(env_id).description}"
    return task(name=task_name(env_id))(make)


TASKS = {task_name(env_id): _register(env_id) for env_id in text_env_ids()}
globals().update(TASKS)
