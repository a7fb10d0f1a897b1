"""Faking speed: (1) FakingIncentive's native vector twin vs Gymnasium's SyncVectorEnv at 1024 envs (target >= 50x);
(2) the text face: a vector of FakingText envs answered by the LLM agent in one batched backend call vs one prompt
at a time, on the default local model (target >= 4x). JSON: bench_faking_speed.json.

    python -m aligngym.benchmarks.faking.bench_faking_speed [--quick] [--no-text] [--out DIR]

`--no-text` reruns only (1) and keeps the stored text result (marked `from_an_earlier_run`).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import gymnasium as gym
from tqdm import tqdm

import aligngym  # noqa: F401
from aligngym.benchmarks.bench_envs import native_vs_sync

ENV_ID = "AlignGym/FakingIncentive-v0"
NUM_ENVS = 1024
TEXT_ID = "AlignGym/FakingMinimal-v0"
TEXT_PROMPTS = 32
MAX_NEW_TOKENS = 24


def bench_numeric(quick: bool) -> dict:
    return native_vs_sync(ENV_ID, NUM_ENVS, 0.5 if quick else 3.0, target=50.0)


def bench_text(quick: bool, llm_spec: str = "local") -> dict:
    """The same prompts answered once as one batch (what the agent does on a vector of envs) and once one
    prompt per backend call, without the response cache."""
    from aligngym.agents.faking.llm_agent import FakingLLMAgent
    from aligngym.llm import load

    n = 8 if quick else TEXT_PROMPTS
    envs = gym.make_vec(TEXT_ID, num_envs=n, vectorization_mode="sync")
    prompts, _ = envs.reset(seed=0)
    envs.close()
    llm = load(llm_spec, cache=False)
    agent = FakingLLMAgent(llm, temperature=0.0, max_new_tokens=MAX_NEW_TOKENS)
    agent.act(prompts[:1])  # warm-up: load and compile outside the timings
    start = time.perf_counter()
    batched = agent.act(prompts)
    t_batch = time.perf_counter() - start
    calls_before = llm.usage["calls"]
    start = time.perf_counter()
    single = [agent.act([p])[0] for p in tqdm(prompts, desc="one at a time", leave=False)]
    t_single = time.perf_counter() - start
    return {"env_id": TEXT_ID, "llm": llm.describe(), "prompts": n, "max_new_tokens": MAX_NEW_TOKENS,
            "batched_s": t_batch, "one_at_a_time_s": t_single, "ratio": t_single / t_batch, "target": 4.0,
            "one_at_a_time_calls": llm.usage["calls"] - calls_before,
            "same_replies": sum(a == b for a, b in zip(batched, single))}


def main(out: Path = Path("benchmarks/results"), quick: bool = False, text: bool = True) -> dict:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    result = {"numeric": bench_numeric(quick)}
    print(f"numeric: {result['numeric']['ratio']:.1f}x SyncVectorEnv")
    path = out / "bench_faking_speed.json"
    if text:
        result["text"] = bench_text(quick)
        print(f"text: {result['text']['ratio']:.2f}x one-at-a-time")
    elif path.exists() and "text" in json.loads(path.read_text()):  # --no-text keeps the stored text result
        result["text"] = {**json.loads(path.read_text())["text"], "from_an_earlier_run": True}
    path.write_text(json.dumps(result, indent=2, default=str))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--no-text", dest="text", action="store_false")
    cli = parser.parse_args()
    main(cli.out, cli.quick, cli.text)
