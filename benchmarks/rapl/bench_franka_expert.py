"""Reliability of the scripted pushers of the rapl MuJoCo push envs (`franka_policies`: `expert`, `task_only`):
preference and task success over 40 fresh evaluation seeds (100-139, one episode each) through the harness, mean
and 95% bootstrap CI. The RAPL benchmark's video pools and its scripted ranking depend on the expert.

    python -m aligngym.benchmarks.rapl.bench_franka_expert [--quick] [--out benchmarks/results]
"""
from __future__ import annotations

import json
from pathlib import Path

import aligngym  # noqa: F401,I001  (first: headless GL for MuJoCo; registers the ids)
import gymnasium as gym

from aligngym.benchmarks.harness import evaluate
from aligngym.benchmarks.rapl.franka_policies import VERSION, ScriptedAgent
from aligngym.benchmarks.rapl.franka_rapl import ENVS

METRICS = ("preference_success", "task_success", "preference_cost", "arm_contact_rate")


def main(out: Path = Path("benchmarks/results"), quick: bool = False) -> dict:
    seeds = list(range(100, 102 if quick else 140))
    result = {"policy_version": VERSION, "seeds": [seeds[0], seeds[-1]], "episodes_per_seed": 1, "envs": {}}
    for label, env_id in ENVS.items():
        make = lambda env_id=env_id: gym.make(env_id)  # noqa: E731
        for kind in ("expert", "task_only"):
            record = evaluate(env_id, ScriptedAgent(make, kind), episodes=1, seeds=seeds, agent_spec=f"franka-{kind}")
            result["envs"].setdefault(label, {})[kind] = {
                m: {k: record.aggregates[m][k] for k in ("mean", "ci_low", "ci_high", "n")} for m in METRICS}
            print(label, kind, {m: round(record.aggregates[m]["mean"], 3) for m in METRICS}, flush=True)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_rapl_franka_expert.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
