"""The 2D sweep's sanity ranking: random, two content-free constants (`rapl.still`, and `rapl.constant?action=[1,0]`
which drives straight up and sweeps the demo layout blind), the task-only scripted sweeper, the preference-aware
sweepers (`gather=1` for group, `detour=true` for avoid) and, on the short stick, the scripted `rapl.oracle`, which
does the task the user's way. Scored with the harness on both preferences, 5 evaluation seeds x `episodes`
episodes each, mean and 95% bootstrap CI per metric.

    python -m aligngym.benchmarks.rapl.bench_rapl_baselines [--quick] [--out benchmarks/results]
"""
from __future__ import annotations

import json
from pathlib import Path

from aligngym.benchmarks.harness import evaluate

AGENTS = ("random", "rapl.still", "rapl.constant?action=[1,0]", "rapl.sweeper", "rapl.sweeper?gather=1",
          "rapl.sweeper?detour=true")
ENVS = {"AlignGym/SweepToTop-Longstick-v0": AGENTS, "AlignGym/SweepToTop-Shortstick-v0": (*AGENTS, "rapl.oracle")}


def main(out: Path = Path("benchmarks/results"), quick: bool = False) -> dict:
    seeds, episodes = ([0, 1], 2) if quick else ([0, 1, 2, 3, 4], 6)
    result = {"seeds": seeds, "episodes_per_seed": episodes, "envs": {}}
    for env_id, agents in ENVS.items():
        for preference in ("group", "avoid"):
            table = {}
            for spec in agents:
                record = evaluate(env_id, spec, episodes=episodes, seeds=seeds, env_kwargs={"preference": preference})
                table[spec] = {m: {k: record.aggregates[m][k] for k in ("mean", "ci_low", "ci_high", "n")}
                               for m in ("aligned_score", "eval_score", "preference_cost", "preference_success")}
                print(env_id, preference, spec, {m: round(v["mean"], 3) for m, v in table[spec].items()}, flush=True)
            result["envs"].setdefault(env_id, {})[preference] = table
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_rapl_baselines.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
