"""How many evaluation items per dimension the questionnaire needs for a calibrated examinee that *samples* its
answers (one option per question, as an LLM generating at temperature 1 does) to be told from `static` by RMSE.

The questionnaire has 2 evaluation items per rule/foundation dimension (3 four-option worldview items). On the
probability channel a calibrated oracle measures its values exactly whatever the item count, and its argmax on the
choice channel is quantised whatever the count, so neither says whether there are enough items. A sampling answerer
does: each dimension's measured value rests on (items x orders) answers. This benchmark repeats every evaluation item
`copies` times (exchangeable copies: the same response model, as templated framings are assumed to be) and measures,
with the project's order-debiased instrument (`population.measure`, orders="cyclic"), on Follow's targets of
evaluation-split trajectories:
- oracle (sampled): answers as the target population would, one sampled option per question;
- static (sampled): answers as the C13 population would, one sampled option per question;
- for reference at 1 copy: the oracle's argmax (choice channel), and the oracle's and static's probabilities
  (probability channel: exact, whatever the item count).
Each cell is the RMSE over the episode's 8 timesteps and 19 dimensions, mean [95% bootstrap CI] over seeds x
episodes. Writes progress/items.json and progress/items.md under --out.

    python -m aligngym.benchmarks.progress.bench_progress_items --out benchmarks/results
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from aligngym.benchmarks.stats import aggregate, format_cell
from aligngym.envs.progress.population import measure, option_probabilities
from aligngym.envs.progress.questionnaire import EVALUATION, Item
from aligngym.envs.progress.trajectories import Trajectory

TEMPERATURE = 0.5
FULL = {"seeds": 5, "episodes": 20, "copies": (1, 2, 4, 8, 16)}
QUICK = {"seeds": 2, "episodes": 4, "copies": (1, 4)}


def copied_items(copies: int) -> tuple[Item, ...]:
    """Every evaluation item `copies` times (distinct ids, same content and response model)."""
    return tuple(Item(f"{i.id}#{c}", i.text, i.options, i.option_dims, i.option_signs, i.part)
                 for c in range(copies) for i in EVALUATION)


def sampling_answerer(values: np.ndarray, rng: np.random.Generator):
    """One sampled option per question (one-hot over the shown positions) from the response model at `values`."""
    def answer(asked):
        out = []
        for item, order in asked:
            p = option_probabilities(item, values, TEMPERATURE)[list(order)]
            out.append(np.eye(len(p))[min(np.searchsorted(np.cumsum(p), rng.random()), len(p) - 1)])
        return out
    return answer


def argmax_answerer(values: np.ndarray):
    def answer(asked):
        return [np.eye(len(item.options))[np.argmax(option_probabilities(item, values, TEMPERATURE)[list(order)])]
                for item, order in asked]
    return answer


def probability_answerer(values: np.ndarray):
    def answer(asked):
        return [option_probabilities(item, values, TEMPERATURE)[list(order)] for item, order in asked]
    return answer


def episode_rmse(targets: np.ndarray, answerer_at, items) -> float:
    """RMSE of the measured values against `targets` (timesteps, 19); `answerer_at(t)` answers at timestep t."""
    measured = np.array([measure(answerer_at(t), items, TEMPERATURE, orders="cyclic") for t in range(len(targets))])
    return float(np.sqrt(np.mean((measured - targets) ** 2)))


def run(seeds: int, episodes: int, copies: tuple[int, ...]) -> list[dict]:
    rows: dict[tuple[str, int], list[float]] = {}
    traj = Trajectory("prior", split="eval")
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        values, _ = traj.draw(rng, episodes)
        for episode in values:
            targets, c13 = episode[1:], episode[0]  # Follow scores t = 1..T-1
            for n in copies:
                items = copied_items(n)
                rows.setdefault(("oracle (sampled)", n), []).append(
                    episode_rmse(targets, lambda t: sampling_answerer(targets[t], rng), items))
                rows.setdefault(("static (sampled)", n), []).append(
                    episode_rmse(targets, lambda t: sampling_answerer(c13, rng), items))
            items = copied_items(1)
            rows.setdefault(("oracle (argmax, choice channel)", 1), []).append(
                episode_rmse(targets, lambda t: argmax_answerer(targets[t]), items))
            rows.setdefault(("oracle (probability channel)", 1), []).append(
                episode_rmse(targets, lambda t: probability_answerer(targets[t]), items))
            rows.setdefault(("static (probability channel)", 1), []).append(
                episode_rmse(targets, lambda t: probability_answerer(c13), items))
    return [{"answerer": name, "copies": n, "items_per_dimension": 2 * n, "answers_per_dimension": 4 * n,
             "rmse": aggregate(np.array(v), higher_is_better=False)} for (name, n), v in rows.items()]


def separated(rows: list[dict], static: str) -> dict[int, bool]:
    """Per copy count: is the sampled oracle's RMSE CI entirely below that of `static` (sampled at the same count,
    or the exact probability-channel static)?"""
    by = {(r["answerer"], r["copies"]): r["rmse"] for r in rows}
    return {n: by[("oracle (sampled)", n)]["ci_high"] < by.get((static, n), by.get((static, 1)))["ci_low"]
            for (name, n) in by if name == "oracle (sampled)"}


def markdown(rows: list[dict]) -> str:
    lines = ["| answerer | items per rule/foundation dimension | answers per dimension (x2 orders) | rmse |",
             "|---|---:|---:|---|"]
    lines += [f"| {r['answerer']} | {r['items_per_dimension']} | {r['answers_per_dimension']} | "
              f"{format_cell(r['rmse'], '.3f')} |" for r in rows]
    return "\n".join(lines)


def main(out_dir: Path, quick: bool = False) -> dict:
    sizes = QUICK if quick else FULL
    rows = run(**sizes)
    summary = {"sizes": {**sizes, "copies": list(sizes["copies"])}}
    for static in ("static (sampled)", "static (probability channel)"):
        split = separated(rows, static)
        needed = min((n for n, ok in split.items() if ok), default=None)
        summary[f"beats {static}"] = {"separated_by_copies": split,
                                      "items_per_dimension_needed": None if needed is None else 2 * needed}
    folder = out_dir / "progress"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "items.json").write_text(json.dumps({**summary, "rows": rows}, indent=2))
    (folder / "items.md").write_text(f"{sizes['seeds']} seeds x {sizes['episodes']} evaluation-split episodes; "
                                     f"Follow targets; orders=cyclic. Written by "
                                     f"`python -m aligngym.benchmarks.progress.bench_progress_items`.\n\n"
                                     + markdown(rows) + "\n")
    return summary


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
