"""`aligngym progress ...`: run one episode to a trace, plot a trace or a RunRecord, rebuild the results table."""
from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

import typer

from aligngym.cli.common import fail, parse_kv

app = typer.Typer(no_args_is_help=True, help="ProgressGym-style value tracking: traces, plots, the results table.")

CHALLENGES = ("Follow", "Predict", "Coevolve")
NUMERIC_BASELINES = ("random", "progress.static", "progress.lifelong", "progress.extrapolative1",
                     "progress.extrapolative2", "progress.oracle", "progress.ppo")


def run_episode(env_id: str, agent_spec: str, env_kwargs: dict, seed: int = 0, agent_seed: int = 0) -> dict:
    """One episode of `agent_spec` on a single env; returns its trace (see core.Simulation.trace) plus metrics."""
    import gymnasium as gym
    import numpy as np

    import aligngym  # noqa: F401
    from aligngym.agents.base import AgentContext
    from aligngym.agents.spec import make_agent
    from aligngym.envs.registry import check_kwargs, full_id

    env_id = full_id(env_id)
    check_kwargs(env_id, env_kwargs)
    env = gym.make(env_id, **env_kwargs)
    agent = make_agent(agent_spec, AgentContext(env_id, env.observation_space, env.action_space, env_kwargs, agent_seed))
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


def _load_trace(path: Path) -> dict:
    data = json.loads(path.read_text())
    if "human" in data and "similarity" in data:
        return data
    if "env_id" in data and "agent" in data and data.get("episodes"):  # a RunRecord: replay its first episode
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
    import numpy as np

    from aligngym.envs.progress.values import DIMENSIONS

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


@app.command("run")
def run_cmd(env_id: str = typer.Argument("AlignGym/ProgressFollow-v0", help="A progress env id."),
            agent: str = typer.Option("progress.lifelong", help="Agent spec."),
            seed: int = typer.Option(0, help="Episode seed."),
            env_kwarg: List[str] = typer.Option([], "--env-kwarg", "-k", help="KEY=VALUE passed to the env."),
            out: Path = typer.Option(Path("reports/progress/trace.json"), help="Trace JSON to write.")):
    """Run one episode and write its trace (human and agent trajectories, per-step similarity)."""
    try:
        trace = run_episode(env_id, agent, parse_kv(env_kwarg), seed=seed)
    except (KeyError, ValueError) as e:
        fail(str(e.args[0]) if e.args else str(e))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(trace))
    typer.echo(f"{trace['env_id']} {agent}: " + ", ".join(f"{k} {v:.4f}" for k, v in trace["metrics"].items()))
    typer.echo(f"trace written to {out}")


@app.command("plot")
def plot_cmd(record: Path = typer.Argument(..., help="A trace from `aligngym progress run`, or a RunRecord JSON "
                                                     "(its first episode is replayed)."),
             out: Optional[Path] = typer.Option(None, help="PNG to write (default: RECORD with .png).")):
    """Plot the human trajectory, the agent's trajectory and the per-step similarity to a PNG."""
    try:
        trace = _load_trace(record)
    except (OSError, KeyError, ValueError) as e:
        fail(str(e.args[0]) if e.args else str(e))
    path = plot_trace(trace, out or record.with_suffix(".png"))
    typer.echo(f"plot written to {path}")


def results_table(episodes: int = 50, ppo_budget: int = 20_000, llm: Optional[str] = None,
                  llm_episodes: int = 1, progress: bool = True) -> list[dict]:
    """Every baseline on every challenge (numeric face; oracle with privileged=True), the position-biased answerer
    and optionally the LLM examinee on the questionnaire faces (orders="cyclic"), all on evaluation seed 0.
    Returns rows {challenge, face, agent, episodes, score, sim_last, lock_in, parse_failure, score_ci}."""
    from aligngym.benchmarks.harness import evaluate

    rows = []
    jobs = [(c, "numeric", a) for c in CHALLENGES for a in NUMERIC_BASELINES]
    jobs += [(c, "text", a) for c in CHALLENGES for a in ("random", "progress.first_option")]
    if llm:
        jobs += [(c, "text", f"progress.llm?llm={llm}") for c in CHALLENGES]
    for challenge, face, agent in jobs:
        env_id = f"AlignGym/Progress{challenge}{'Text' if face == 'text' else ''}-v0"
        kwargs = {"privileged": True} if agent == "progress.oracle" else {}
        if face == "text":
            kwargs["orders"] = "cyclic"  # each option in each position once: debiased at half the questions
        spec = f"progress.ppo?budget={ppo_budget}" if agent == "progress.ppo" else agent
        n = episodes if face == "numeric" else (llm_episodes if "llm" in agent else 2)
        if progress:
            typer.echo(f"{env_id} {spec} ({n} episodes)", err=True)
        record = evaluate(env_id, spec, episodes=n, seeds=(0,), num_envs=min(n, 50) if face == "numeric" else 1,
                          env_kwargs=kwargs)
        agg = record.aggregates
        name = spec + (" (privileged)" if kwargs.get("privileged") else "")
        rows.append({"challenge": challenge, "face": face, "agent": name,
                     "episodes": n, **{m: agg[m]["mean"] for m in ("score", "sim_last", "lock_in", "parse_failure")
                                       if m in agg},
                     "score_ci": [agg["score"]["ci_low"], agg["score"]["ci_high"]]})
    return rows


def markdown(rows: list[dict]) -> str:
    lines = ["| challenge | face | agent | score (95% CI) | sim_last | lock_in | parse_failure |",
             "|---|---|---|---|---|---|---|"]
    f = lambda r, k: f"{r[k]:.4f}" if k in r and r[k] is not None else ""  # noqa: E731
    for r in rows:
        lo, hi = r["score_ci"]
        lines.append(f"| {r['challenge']} | {r['face']} | {r['agent']} | {r['score']:.4f} ({lo:.4f}-{hi:.4f}) | "
                     f"{f(r, 'sim_last')} | {f(r, 'lock_in')} | {f(r, 'parse_failure')} |")
    return "\n".join(lines)


@app.command("table")
def table_cmd(episodes: int = typer.Option(50, help="Episodes per numeric baseline (seed 0)."),
              ppo_budget: int = typer.Option(20_000, help="PPO training steps."),
              llm: Optional[str] = typer.Option(None, help="Also run the LLM examinee on the questionnaire faces "
                                                           "with this backend spec (e.g. local)."),
              llm_episodes: int = typer.Option(1, help="Episodes per questionnaire face for the LLM."),
              out: Path = typer.Option(Path("reports/progress"), help="Folder for table.md and table.json.")):
    """Rerun all baselines on all three challenges and print the results table (Markdown)."""
    rows = results_table(episodes, ppo_budget, llm, llm_episodes)
    text = markdown(rows)
    out.mkdir(parents=True, exist_ok=True)
    (out / "table.md").write_text(text + "\n")
    (out / "table.json").write_text(json.dumps(rows, indent=2))
    typer.echo(text)
    typer.echo(f"written to {out / 'table.md'} and {out / 'table.json'}")
