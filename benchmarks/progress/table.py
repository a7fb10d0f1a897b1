"""The progress results table: every baseline on every challenge through the harness, as rows and Markdown."""
from __future__ import annotations

import sys

from aligngym.benchmarks.harness import evaluate

CHALLENGES = ("Follow", "Predict", "Coevolve")
NUMERIC_BASELINES = ("random", "progress.static", "progress.lifelong", "progress.extrapolative1",
                     "progress.extrapolative2", "progress.oracle", "progress.ppo")


def results_table(episodes: int = 50, ppo_budget: int = 20_000, llm: Optional[str] = None,
                  llm_episodes: int = 1, progress: bool = True) -> list[dict]:
    """Every baseline on every challenge (numeric face; oracle with privileged=True), the position-biased answerer
    and optionally the LLM examinee on the questionnaire faces (orders="cyclic"), all on evaluation seed 0.
    Returns rows {challenge, face, agent, episodes, score, sim_last, lock_in, parse_failure, score_ci}."""
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
            print(f"{env_id} {spec} ({n} episodes)", file=sys.stderr)
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
