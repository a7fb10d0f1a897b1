"""The progress results table: every baseline on every challenge through the harness, on the evaluation split.

    aligngym progress table --episodes 100 --seeds 5 --out reports/progress

Each (challenge, face, agent) is one `evaluate` call over evaluation seeds 0..seeds-1 (`episodes` each on the
numeric faces, `text_episodes` on the questionnaire faces), so every cell is a mean with a 95% bootstrap CI over
seeds x episodes. The numeric faces run every hand-written baseline, the test agents (constant, memoriser), PPO
(trained on the training split, `split="train"`) and the privileged oracle; the questionnaire faces run the random
answerer over the shown options, the first-option answerer (chance: it measures exactly the uniform answer) and
optionally an LLM examinee. `bench_progress_table.py` (beside this module) stores the result under
benchmarks/results/progress/.
"""
from __future__ import annotations

import sys
from pathlib import Path

from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.stats import format_cell
from aligngym.envs import registry

CHALLENGES = ("Follow", "Predict", "Coevolve")
NUMERIC_BASELINES = ("random", "progress.constant", "progress.memoriser", "progress.static", "progress.lifelong",
                     "progress.extrapolative1", "progress.extrapolative2", "progress.ppo", "progress.oracle")
TEXT_BASELINES = ("progress.random_answer", "progress.first_option")
SHOWN = {"Follow": ("rmse", "score", "centred_cos"), "Predict": ("rmse", "score", "centred_cos", "direction"),
         "Coevolve": ("score_reference", "score", "progress_share", "lock_in")}


def env_id(challenge: str, face: str) -> str:
    return f"AlignGym/Progress{challenge}{'Text' if face == 'text' else ''}-v1"


def results_table(episodes: int = 100, seeds: int = 5, ppo_budget: int = 20_000, llm: str | None = None,
                  llm_episodes: int = 1, text_episodes: int = 4, progress: bool = True) -> list[dict]:
    """Rows {challenge, face, agent, episodes, seeds, metrics: {name: aggregate}}; `ppo_budget=0` leaves PPO out."""
    jobs = [(c, "numeric", a) for c in CHALLENGES for a in NUMERIC_BASELINES if ppo_budget or a != "progress.ppo"]
    jobs += [(c, "text", a) for c in CHALLENGES for a in TEXT_BASELINES]
    if llm:
        jobs += [(c, "text", f"progress.llm?llm={llm}") for c in CHALLENGES]
    rows = []
    for challenge, face, agent in jobs:
        kwargs = {"privileged": True} if agent == "progress.oracle" else {}
        if face == "text":
            kwargs["orders"] = "cyclic"  # each option in each position once: debiased at half the questions
        spec = f"progress.ppo?budget={ppo_budget}" if agent == "progress.ppo" else agent
        n = episodes if face == "numeric" else (llm_episodes if "llm" in agent else text_episodes)
        n_seeds = 1 if "llm" in agent else seeds
        if progress:
            print(f"{env_id(challenge, face)} {spec} ({n_seeds} seeds x {n} episodes)", file=sys.stderr)
        record = evaluate(env_id(challenge, face), spec, episodes=n, seeds=range(n_seeds),
                          num_envs=min(n, 100) if face == "numeric" else 1, env_kwargs=kwargs)
        rows.append({"challenge": challenge, "face": face, "agent": spec + (" (privileged)" if "privileged" in kwargs
                                                                           else ""),
                     "episodes": n, "seeds": n_seeds, "metrics": record.aggregates})
    return rows


def markdown(rows: list[dict]) -> str:
    """One table per (challenge, face): agents down, metrics across (the primary first), "mean [95% CI]"."""
    out = []
    for challenge in CHALLENGES:
        for face in ("numeric", "text"):
            group = [r for r in rows if r["challenge"] == challenge and r["face"] == face]
            if not group:
                continue
            row = registry.row(env_id(challenge, face))
            shown = SHOWN[challenge] + (("parse_failure",) if face == "text" else ())
            arrows = {m.name: m.arrow for m in row.metrics}
            out += [f"**{row.id}** (primary: `{row.primary_metric}`; {group[0]['seeds']} seeds x "
                    f"{group[0]['episodes']} episodes per agent, evaluation split)", "",
                    "| agent | " + " | ".join(f"{m}{arrows[m]}" for m in shown) + " |", "|---" * (len(shown) + 1) + "|"]
            out += [f"| {r['agent']} | " + " | ".join(format_cell(r["metrics"].get(m), ".3f") for m in shown) + " |"
                    for r in group]
            out.append("")
    return "\n".join(out)


def plot(rows: list[dict], path: Path) -> Path:
    """The primary metric of every numeric baseline, one panel per challenge, with 95% CIs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CHALLENGES), figsize=(15, 4))
    for ax, challenge in zip(axes, CHALLENGES):
        metric = registry.row(env_id(challenge, "numeric")).primary_metric
        group = [r for r in rows if r["challenge"] == challenge and r["face"] == "numeric"]
        means = [r["metrics"][metric]["mean"] for r in group]
        errs = [[m - r["metrics"][metric]["ci_low"] for m, r in zip(means, group)],
                [r["metrics"][metric]["ci_high"] - m for m, r in zip(means, group)]]
        ax.barh(range(len(group)), means, xerr=errs, color="#4c72b0", capsize=3)
        ax.set_yticks(range(len(group)), [r["agent"].replace("progress.", "").split("?")[0] for r in group],
                      fontsize=8)
        ax.set_title(f"{challenge}: {metric}", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
