"""Shopping speed: (1) the numeric face's native vector twin vs Gymnasium's SyncVectorEnv at 1024 envs (target
>= 50x); (2) the text face over the study's 240 trials on the default local model, all trials batched into the LLM
vs one trial at a time (target >= 4x). quick=True: fewer vector steps and 16 trials. JSON: bench_shopping_speed.json.

    python -m aligngym.benchmarks.shopping.bench_shopping_speed [--quick] [--out DIR]
    python -m aligngym.benchmarks.run_all --only shopping

The text face runs with v0's settings (report protocol, fixed order), so ratios compare with earlier runs.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

from tqdm import tqdm

import aligngym  # noqa: F401  (registers the ids)
from aligngym.benchmarks.bench_envs import native_vs_sync
from aligngym.envs.shopping.scenarios import CONDITIONS

ENV_ID = "AlignGym/ShoppingAssistant-v0"
NUM_ENVS = 1024
TEXT_TRIALS = 240  # 2 scenarios x 4 conditions x 30 trials: one temperature of the study's design
MAX_NEW_TOKENS = 24  # short explanations keep the one-at-a-time runs affordable (one_shot gets twice as many)
MODES = ("two_step", "one_shot")


def bench_numeric(quick: bool) -> dict:
    return native_vs_sync(ENV_ID, NUM_ENVS, 0.5 if quick else 3.0, target=50.0)


def bench_text(quick: bool, llm_spec: str = "local", modes: tuple[str, ...] = MODES) -> dict:
    """Both ways of asking that generate text: two_step (the agent's default: explanation, then a short choice
    call) and one_shot (one longer generation). On a CPU, prompt prefill is compute-bound and gains little from
    batching, so the local backend prefills a prompt shared by several trials of a batch (and two_step's second
    prompt, which extends the first) once; what is left is decoding, which batching speeds up."""
    from aligngym.agents.shopping.llm_agent import ShoppingLLMAgent
    from aligngym.envs.shopping.text_env import ShoppingTextEnv
    from aligngym.llm import load

    trials = 16 if quick else TEXT_TRIALS
    cells = [(s, c) for s in ("ethics", "corporate") for c in CONDITIONS]
    envs = [ShoppingTextEnv(scenario=s, condition=c, protocol="report", order="fixed")
            for i in range(trials) for s, c in [cells[i % len(cells)]]]
    llm = load(llm_spec, cache=False)  # no response cache: the second run must not reuse the first one's answers
    result = {"trials": trials, "llm": llm.describe().get("model"), "llm_batch_size": getattr(llm, "batch_size", None),
              "target": 4.0}
    llm.generate(["Warm-up"] * 2, max_new_tokens=2)  # one-time kernel set-up, so it is not billed to the first run
    for mode in modes:
        tokens = MAX_NEW_TOKENS if mode == "two_step" else 2 * MAX_NEW_TOKENS
        timings, parse_failures = {}, {}
        for label, batch_size in (("batched", 0), ("one_at_a_time", 1)):
            prompts = [env.reset(seed=i)[0] for i, env in enumerate(envs)]
            agent = ShoppingLLMAgent(llm, temperature=0.6, max_new_tokens=tokens, mode=mode, batch_size=batch_size)
            step = batch_size or trials
            start = time.perf_counter()
            replies = []
            for i in tqdm(range(0, trials, step), desc=f"text face, {mode}, {label}", leave=False):
                replies += agent.act(prompts[i:i + step])
            timings[label] = time.perf_counter() - start
            parse_failures[label] = sum(env.step(r)[4]["parse_failed"] for env, r in zip(envs, replies))
        result[mode] = {"max_new_tokens": tokens, "batched_s": timings["batched"],
                        "one_at_a_time_s": timings["one_at_a_time"],
                        "ratio": timings["one_at_a_time"] / timings["batched"], "parse_failures": parse_failures}
    result["ratio"] = result[modes[0]]["ratio"]  # two_step, the agent's default mode, unless left out
    return result


def main(out_dir: Path, quick: bool = False, modes: tuple[str, ...] = MODES) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    result = {"benchmark": "shopping_speed", "quick": quick, "numeric": bench_numeric(quick),
              "text": bench_text(quick, modes=modes)}
    (out_dir / "bench_shopping_speed.json").write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    from aligngym.benchmarks.run_all import script_main

    raise SystemExit(script_main(main, __doc__))
