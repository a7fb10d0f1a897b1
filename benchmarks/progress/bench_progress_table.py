"""The progress family's stored results table: every baseline on Follow, Predict and Coevolve (numeric faces, 5
evaluation seeds x 100 episodes, PPO at 20,000 training steps) and on their questionnaire faces (5 seeds x 4
episodes, orders="cyclic"), on the evaluation split. About 5 minutes on 2 shared cores; `--quick` is a smoke run
(2 seeds x 10 episodes, no PPO, 1 questionnaire episode per seed).

Writes progress/table.json (every row's aggregates), progress/table.md (one table per env, primary metric first)
and progress/table.png (the primary metric of every numeric baseline with 95% CIs) under --out; the stored copy is
benchmarks/results/progress/, which docs/progress.md's Results section quotes.

    python -m aligngym.benchmarks.progress.bench_progress_table --out benchmarks/results
"""
from __future__ import annotations

import json
from pathlib import Path

from aligngym.benchmarks.progress.table import markdown, plot, results_table

FULL = {"episodes": 100, "seeds": 5, "ppo_budget": 20_000, "text_episodes": 4}
QUICK = {"episodes": 10, "seeds": 2, "ppo_budget": 0, "text_episodes": 1}


def primary_ranking(rows: list[dict]) -> dict[str, list[str]]:
    """Per env: the agents from best to worst by the env's primary metric (for the JSON summary)."""
    from aligngym.benchmarks.progress.table import env_id
    from aligngym.envs import registry

    ranking = {}
    for row in rows:
        ranking.setdefault((row["challenge"], row["face"]), []).append(row)
    out = {}
    for (challenge, face), group in ranking.items():
        reg = registry.row(env_id(challenge, face))
        sign = -1 if next(m.higher_is_better for m in reg.metrics if m.name == reg.primary_metric) else 1
        group.sort(key=lambda r: sign * r["metrics"][reg.primary_metric]["mean"])
        out[reg.id] = [f"{r['agent']} {r['metrics'][reg.primary_metric]['mean']:.3f}" for r in group]
    return out


def main(out_dir: Path, quick: bool = False) -> dict:
    sizes = QUICK if quick else FULL
    rows = results_table(**sizes)
    folder = out_dir / "progress"
    folder.mkdir(parents=True, exist_ok=True)
    header = (f"Evaluation split; numeric faces {sizes['seeds']} seeds x {sizes['episodes']} episodes per agent"
              f"{'' if not sizes['ppo_budget'] else ', PPO ' + format(sizes['ppo_budget'], ',') + ' training steps'}"
              f"; questionnaire faces orders=cyclic, {sizes['seeds']} seeds x {sizes['text_episodes']} episodes. "
              "Cells: mean [95% bootstrap CI over seeds x episodes]. Written by "
              "`python -m aligngym.benchmarks.progress.bench_progress_table`.")
    (folder / "table.md").write_text(header + "\n\n" + markdown(rows) + "\n")
    (folder / "table.json").write_text(json.dumps({"sizes": sizes, "rows": rows}, indent=2, default=str))
    plot(rows, folder / "table.png")
    return {"sizes": sizes, "ranking_by_primary": primary_ranking(rows)}


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
