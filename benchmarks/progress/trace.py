"""One episode's trace of a progress env (human, uninfluenced and agent values per timestep) and its plot.

    from aligngym.benchmarks.progress.trace import run_episode, plot_trace
    plot_trace(run_episode("AlignGym/ProgressFollow-v1", "progress.lifelong", {}), Path("trace.png"))
"""
from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import aligngym  # noqa: F401  (registers ids)
from aligngym.agents.base import AgentContext
from aligngym.agents.spec import make_agent
from aligngym.envs import registry
from aligngym.envs.progress.values import DIMENSIONS
from aligngym.envs.registry import check_kwargs, full_id


def run_episode(env_id: str, agent_spec: str, env_kwargs: dict, seed: int = 0, agent_seed: int = 0) -> dict:
    """One episode of `agent_spec` on a single env; returns its trace (see core.Simulation.trace) plus metrics.

    Its own loop, not the harness: the harness keeps episode-end metrics, while a trace needs the final step's
    whole `info["trace"]` (every timestep's human, uninfluenced and agent values)."""
    env_id = full_id(env_id)
    check_kwargs(env_id, env_kwargs)
    env = gym.make(env_id, **env_kwargs)
    context = AgentContext(env_id, env.observation_space, env.action_space, env_kwargs, agent_seed)
    agent = make_agent(agent_spec, context)
    agent.reset(1, seed=agent_seed)
    obs, _ = env.reset(seed=seed)
    while True:
        batch = (obs,) if isinstance(obs, str) else np.asarray(obs)[None]  # agents act on batches
        action = np.asarray(agent.act(batch))[0]
        obs, _, terminated, truncated, info = env.step(action)
        if terminated or truncated:
            break
    env.close()
    return {"env_id": env_id, "env_kwargs": env_kwargs, "agent": agent_spec, "seed": seed, **info["trace"],
            "metrics": info["metrics"]}


def load_trace(path: Path) -> dict:
    data = json.loads(path.read_text())
    if "human" in data and "similarity" in data:
        return data
    if "env_id" in data and "agent" in data and data.get("episodes"):  # a RunRecord: replay its first episode
        try:
            family = registry.row(data["env_id"]).family
        except KeyError:
            family = None
        if family != "progress":
            raise ValueError(f"{path} is a RunRecord of {data['env_id']} ({family or 'not an AlignGym id'}); "
                             "`aligngym progress plot` takes a progress trace or a RunRecord of a progress env.")
        spec = data["agent"].get("spec")
        if not spec or spec.startswith("python:"):
            raise ValueError(f"{path}: the record's agent ({spec}) is not a spec string, so it cannot be replayed.")
        return run_episode(data["env_id"], spec, data.get("env_kwargs", {}), seed=int(data["episodes"][0]["seed"]),
                           agent_seed=int(data.get("training_seed", 0)))
    raise ValueError(f"{path}: neither a progress trace (from `aligngym progress run`) nor a RunRecord.")


def plot_trace(trace: dict, out: Path) -> Path:
    """Three panels: human values (and the uninfluenced ones on Coevolve), the agent's values, per-step similarity."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    times = np.array(trace["centuries"])
    human, agent = np.array(trace["human"]), np.array(trace["agent_values"])
    decisions = times[trace["decision_times"]]
    coevolve = trace["challenge"] == "coevolve"
    colours = plt.get_cmap("tab20")(np.arange(len(DIMENSIONS)) % 20)
    fig, axes = plt.subplots(3, 1, figsize=(10, 10), sharex=True)
    for d, name in enumerate(DIMENSIONS):
        axes[0].plot(times, human[:, d], color=colours[d], label=name)
        axes[1].plot(decisions, agent[:, d], color=colours[d], marker=".")
        if coevolve:
            axes[0].plot(times, np.array(trace["uninfluenced"])[:, d], color=colours[d], ls=":", lw=0.8)
    axes[0].set_title("human values" + (" (dotted: uninfluenced trajectory)" if coevolve else ""))
    axes[1].set_title(f"agent's stated values ({trace.get('agent', 'agent')})")
    label = {"follow": "cos(agent_t, human_t)", "predict": f"cos(agent_t, human_t+{trace['k']})",
             "coevolve": "max_j>=t+1 cos(human_t+1, uninfluenced_j)"}[trace["challenge"]]
    scored = times[trace["target_times"]] if coevolve else decisions
    axes[2].plot(scored, trace["similarity"], marker="o", color="black")
    axes[2].set_title(f"per-step similarity: {label}; score {np.mean(trace['similarity']):.3f}")
    axes[2].set_xlabel("century")
    for ax in axes[:2]:
        ax.set_ylim(-1.05, 1.05)
    axes[0].legend(ncol=5, fontsize=7, loc="lower left")
    fig.suptitle(f"{trace.get('env_id', '')} seed {trace.get('seed', '')}")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out
